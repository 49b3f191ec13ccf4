"""E-mail digests: subscriptions with double opt-in, composing and sending each period's digest
exactly once, signed links, and per-user recommendations."""
