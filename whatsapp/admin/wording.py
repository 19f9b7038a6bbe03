"""Admin confirmations that agree with the model's gender in Portuguese.

Django's own "The {name} “{obj}” was added successfully." is translated once for every model
("O {name} … foi adicionado"), which reads wrong for the feminine "instância" and "chave". Each
admin here names its own sentences, with the model as the translation context, and they replace
Django's after an add, a change or a delete.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.contrib import admin, messages
from django.http import HttpRequest, HttpResponse
from django.utils.functional import Promise

if TYPE_CHECKING:
    from django.utils.functional import _StrPromise as StrPromise

SAVED = "_whatsapp_saved"


class ModelWording(admin.ModelAdmin):
    # {"added": ..., "changed": ..., "deleted": ...}, each with {obj}.
    saved_messages: dict[str, Promise] = {}

    def response_add(
        self, request: HttpRequest, obj: Any, post_url_continue: str | None = None
    ) -> HttpResponse:
        setattr(request, SAVED, ("added", str(obj)))
        return super().response_add(request, obj, post_url_continue)

    def response_change(self, request: HttpRequest, obj: Any) -> HttpResponse:
        setattr(request, SAVED, ("changed", str(obj)))
        return super().response_change(request, obj)

    def response_delete(self, request: HttpRequest, obj_display: str, obj_id: Any) -> HttpResponse:
        setattr(request, SAVED, ("deleted", obj_display))
        return super().response_delete(request, obj_display, obj_id)

    def message_user(
        self,
        request: HttpRequest,
        message: str | StrPromise,
        level: int | str = messages.INFO,
        extra_tags: str = "",
        fail_silently: bool = False,
    ) -> None:
        saved = getattr(request, SAVED, None)
        if saved and level == messages.SUCCESS and saved[0] in self.saved_messages:
            setattr(request, SAVED, None)
            message = str(self.saved_messages[saved[0]]).format(obj=saved[1])
        super().message_user(request, message, level, extra_tags, fail_silently)
