"""The API's URLs, without a namespace so the names `api-…` reverse as they always have."""

from __future__ import annotations

from django.urls import path

from . import docs
from .api import api

urlpatterns = [
    path("openapi.json", docs.openapi_json, name="api-openapi"),
    path("docs", docs.docs, name="api-docs"),
    *api.urls[0],
]
