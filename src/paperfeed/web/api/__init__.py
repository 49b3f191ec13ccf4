"""The JSON API, mounted under /api; its OpenAPI schema is at /api/openapi.json."""
