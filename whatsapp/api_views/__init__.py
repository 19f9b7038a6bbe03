"""The REST API under /api/v1/: API-key authenticated, JSON in and out (docs/messages.md)."""
