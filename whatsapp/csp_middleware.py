"""django-csp's middleware, passing over the API's answers, which carry their own policy
(whatsapp/csp.py). Only for hosts that use django-csp: this module imports it."""

from __future__ import annotations

from csp.middleware import CSPMiddleware as BaseCSPMiddleware
from django.http import HttpRequest, HttpResponseBase

from whatsapp.csp import carries_own_policy


class CSPMiddleware(BaseCSPMiddleware):
    """django-csp's, without building the pages' policy for a response that has the API's."""

    def process_response(
        self, request: HttpRequest, response: HttpResponseBase
    ) -> HttpResponseBase:
        if carries_own_policy(response):
            return response
        return super().process_response(request, response)
