"""The HTML pages: server-rendered with Jinja2, progressively enhanced with htmx."""
