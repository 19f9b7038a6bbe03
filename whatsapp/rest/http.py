"""What every API request goes through: the JSON parser, the language, the query-string guard."""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import wraps
from typing import Any, cast

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import translation
from django.utils.cache import patch_cache_control, patch_vary_headers
from django.utils.translation import gettext as _
from django.utils.translation.trans_real import parse_accept_lang_header
from ninja.parser import Parser

from whatsapp.csp import set_api_policy

from .errors import error_response

# The API speaks English unless the client asks for another language it has.
API_LANGUAGE = "en"
View = Callable[..., HttpResponse]


class BadBody(ValueError):
    """The body is not JSON the API can read; the message says why, for the client."""


def _reject_constant(name: str) -> Any:
    # NaN and Infinity are not JSON, and PostgreSQL's jsonb refuses them.
    raise BadBody(_("The request body is not valid JSON."))


FORM_TYPES = ("multipart/form-data", "application/x-www-form-urlencoded")


class JsonParser(Parser):
    def parse_body(self, request: HttpRequest) -> dict[str, Any]:
        if request.content_type in FORM_TYPES and not request.POST and not request.FILES:
            return {}  # an empty form, as clients send for a POST without a body
        try:
            return cast(dict[str, Any], json.loads(request.body, parse_constant=_reject_constant))
        except RecursionError:
            raise BadBody(_("The request body is nested too deeply.")) from None
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise BadBody(_("The request body is not valid JSON.")) from None


def client_language(request: HttpRequest) -> str:
    """The first language in Accept-Language that the app has; English otherwise.

    Cookies and sessions are the dashboard's: an API client says what it wants per request.
    """
    supported = {code.lower() for code, _name in settings.LANGUAGES}
    for code, _quality in parse_accept_lang_header(request.headers.get("Accept-Language", "")):
        if code == "*":
            break
        try:
            variant = translation.get_supported_language_variant(code)
        except LookupError:
            continue
        if variant.lower() in supported:
            return variant
    return API_LANGUAGE


# Query parameters each route takes, by URL name and method; anything else is refused.
QUERY_PARAMETERS: dict[tuple[str, str], frozenset[str]] = {}


def takes_query(url_name: str, method: str, names: tuple[str, ...]) -> None:
    QUERY_PARAMETERS[(url_name, method)] = frozenset(names)


def _query_errors(request: HttpRequest) -> dict[str, list[str]]:
    match = request.resolver_match
    key = (match.url_name if match else "") or "", request.method or ""
    allowed = QUERY_PARAMETERS.get(key, frozenset())
    errors: dict[str, list[str]] = {}
    for name, values in request.GET.lists():
        if name not in allowed:
            errors[name[:100]] = [_("This query parameter is not known.")]
        elif any("\x00" in value for value in values):
            errors[name] = [_("Query parameters cannot contain NUL characters.")]
    return errors


def api_view(view: View) -> View:
    """Wraps every route: its language, no caching, its own CSP, and the query-string guard."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        language = client_language(request)
        with translation.override(language):
            errors = _query_errors(request)
            response: HttpResponse
            if errors:
                first = next(iter(errors.values()))[0]
                response = error_response(first, "invalid", 400, errors)
            else:
                response = view(request, *args, **kwargs)
        response["Content-Language"] = language
        patch_vary_headers(response, ["Accept-Language"])
        patch_cache_control(response, no_cache=True, no_store=True, private=True, max_age=0)
        set_api_policy(response)
        return response

    return wrapped
