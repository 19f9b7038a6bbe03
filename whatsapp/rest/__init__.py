"""The REST API under api/v1/, on django-ninja: one NinjaAPI (`rest.api`), one router per resource.

A new resource is a module with its own `router`, added in `rest/api.py`; authentication
(`rest/auth.py`), errors (`rest/errors.py`), the language and the request guards (`rest/http.py`)
are shared. The OpenAPI document is generated from the code (`rest/docs.py` serves it).
"""
