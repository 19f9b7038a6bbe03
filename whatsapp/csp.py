"""The API's own Content-Security-Policy.

An API answer loads nothing and is never framed, so it carries `default-src 'none';
frame-ancestors 'none'`, stricter than the pages' policy; a file download keeps its own, stricter
still (sandboxed), so a file a contact sent cannot run a script even when opened straight in a
browser. django-csp keeps a header a response already has, so this holds under its own middleware
(a host's settings), and without django-csp at all. Its middleware builds both of its policies
for every response before looking, though: about 80 µs, a few percent of a REST enqueue's time
in the web process. `whatsapp.csp_middleware.CSPMiddleware` skips that for answers that carry
their own.

Nothing here imports django-csp: the app does not require it.
"""

from __future__ import annotations

from django.http import HttpResponseBase

HEADER = "Content-Security-Policy"
API_POLICY = "default-src 'none'; frame-ancestors 'none'"
# A stored file, served as it is: nothing of it may run as a page of this site.
FILE_POLICY = "default-src 'none'; sandbox"
MARK = "_whatsapp_own_csp"


def set_api_policy(response: HttpResponseBase) -> None:
    """The API's policy, unless the view set a stricter one of its own (a file download is
    sandboxed, `FILE_POLICY`: `rest/media.file_response`)."""
    if HEADER not in response:
        response[HEADER] = API_POLICY
    setattr(response, MARK, True)


def carries_own_policy(response: HttpResponseBase) -> bool:
    return bool(getattr(response, MARK, False))
