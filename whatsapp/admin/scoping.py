"""Per-number permissions in the admin: a user limited to some instances sees only their rows."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import ForeignKey, ManyToManyField, QuerySet
from django.forms import ModelChoiceField, ModelMultipleChoiceField
from django.http import HttpRequest

from whatsapp import access
from whatsapp.models import Instance


class InstanceScopedAdmin(admin.ModelAdmin):
    # The path from the model to its instance ("pk" for the Instance admin itself).
    instance_field = "instance"

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        return access.restrict(super().get_queryset(request), request.user, self.instance_field)

    def formfield_for_foreignkey(
        self, db_field: ForeignKey[Any, Any], request: HttpRequest, **kwargs: Any
    ) -> ModelChoiceField[Any] | None:
        if db_field.related_model is Instance:
            kwargs["queryset"] = access.instances_for(request.user)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def formfield_for_manytomany(
        self, db_field: ManyToManyField[Any, Any], request: HttpRequest, **kwargs: Any
    ) -> ModelMultipleChoiceField[Any] | None:
        if db_field.related_model is Instance:
            kwargs["queryset"] = access.instances_for(request.user)
        return super().formfield_for_manytomany(db_field, request, **kwargs)
