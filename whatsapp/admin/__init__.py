from whatsapp.admin import sessions  # noqa: F401  (registers the models)
