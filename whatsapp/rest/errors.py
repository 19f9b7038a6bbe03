"""One error body for the whole API: `{"success": false, "message", "code", "errors"}`.

`errors` maps each field to its reasons, in the reader's language. Only the errors the API knows
are handled here; anything else propagates to Django (and its middleware) as it is.
"""

from __future__ import annotations

from typing import Any

from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, Throttled, ValidationError

from whatsapp.services.outbox import IdempotencyConflict, MessageValidationError

# Pydantic reports types and shapes; these say it in the reader's language.
SHAPE_MESSAGES = {
    "missing": gettext_lazy("This field is required."),
    "extra_forbidden": gettext_lazy("This field is not known."),
    "string_type": gettext_lazy("Give this as text."),
    "int_type": gettext_lazy("Enter a whole number."),
    "int_parsing": gettext_lazy("Enter a whole number."),
    "int_from_float": gettext_lazy("Enter a whole number."),
    "int_parsing_size": gettext_lazy("Enter a whole number."),
    "bool_type": gettext_lazy("Use true or false."),
    "bool_parsing": gettext_lazy("Use true or false."),
    "list_type": gettext_lazy("Give a list."),
    "dict_type": gettext_lazy("Give a JSON object."),
    "model_type": gettext_lazy("Give a JSON object."),
    "model_attributes_type": gettext_lazy("Give a JSON object."),
    "literal_error": gettext_lazy("Use one of: %(expected)s."),
    "string_too_short": gettext_lazy("Enter at least %(min_length)s characters."),
    "too_short": gettext_lazy("Give at least %(min_length)s items."),
    "too_long": gettext_lazy("Give at most %(max_length)s items."),
    "greater_than_equal": gettext_lazy("Use a number of at least %(ge)s."),
    "less_than_equal": gettext_lazy("Use a number of at most %(le)s."),
}


class ApiError(Exception):
    """Raised by a route to answer with the error body."""

    def __init__(
        self, message: str, code: str, status: int, errors: dict[str, list[str]] | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.status = status
        self.errors = errors or {}


def error_response(
    message: str, code: str, status: int, errors: dict[str, list[str]] | None = None
) -> JsonResponse:
    body: dict[str, Any] = {"success": False, "message": message, "code": code}
    body["errors"] = errors or {}
    return JsonResponse(body, status=status)


def invalid(errors: dict[str, list[str]], code: str = "invalid", status: int = 400) -> ApiError:
    first = next((reasons[0] for reasons in errors.values() if reasons), "")
    return ApiError(first, code, status, errors)


def from_validation(exc: MessageValidationError) -> ApiError:
    if isinstance(exc, IdempotencyConflict):
        return invalid(exc.errors, "idempotency_conflict", 422)
    return invalid(exc.errors)


def _reason(error: dict[str, Any]) -> str:
    template = SHAPE_MESSAGES.get(str(error.get("type")))
    if template is None:
        return _("This value is not valid.")
    try:
        return str(template) % dict(error.get("ctx") or {})
    except (KeyError, TypeError, ValueError):
        return str(template)


def _field(loc: tuple[Any, ...]) -> str:
    # ("body", "payload", "to") → "to"; ("query", "limit") → "limit"; ("header", "X") → "X".
    source, rest = loc[0], list(loc[1:])
    if source == "body" and rest:
        rest = rest[1:]
    return ".".join(str(part) for part in rest)


def _shape_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    errors: dict[str, list[str]] = {}
    for error in exc.errors:
        field = _field(tuple(error.get("loc") or ("body",)))
        if not field:  # the body as a whole is not what the route takes
            if error.get("type") == "missing":
                return error_response(_("Send a JSON object in the body."), "bad_request", 400)
            return error_response(_("The request body must be a JSON object."), "bad_request", 400)
        errors.setdefault(field, []).append(_reason(error))
    first = next(iter(errors.values()))[0]
    return error_response(first, "invalid", 400, errors)


def _http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    if isinstance(exc, AuthenticationError):
        response = error_response(
            _("Send a valid API key: “Authorization: Bearer <key>”."), "not_authenticated", 401
        )
        response["WWW-Authenticate"] = 'Bearer realm="leguas-whatsapp"'
        return response
    if isinstance(exc, Throttled):
        # django-ninja adds Retry-After (whole seconds) to this answer.
        return error_response(
            _("Too many requests with this API key: wait a moment and try again."),
            "rate_limited",
            429,
        )
    cause = exc.__cause__
    if exc.status_code == 400 and cause is not None:  # the body could not be parsed
        message = str(cause) if isinstance(cause, ValueError) else ""
        return error_response(
            message or _("The request body is not valid JSON."), "bad_request", 400
        )
    return error_response(str(exc), "error", exc.status_code)


def _api_error(request: HttpRequest, exc: ApiError) -> HttpResponse:
    return error_response(exc.message, exc.code, exc.status, exc.errors)


def _not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    return error_response(_("There is nothing at this address."), "not_found", 404)


def install(api: NinjaAPI) -> None:
    """The API's handlers. No catch-all: an unexpected error stays a server error, visible."""
    handlers: dict[type[Exception], Any] = {
        ValidationError: _shape_error,
        HttpError: _http_error,
        ApiError: _api_error,
        Http404: _not_found,
    }
    for exc_class, handler in handlers.items():
        api.add_exception_handler(exc_class, handler)
