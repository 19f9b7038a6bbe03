from whatsapp.admin import (
    messages,  # noqa: F401
    sessions,  # noqa: F401  (registers the models)
    webhooks,  # noqa: F401
)
