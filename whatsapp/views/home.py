from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from whatsapp.views.jsonapi import VIEW


@login_required
def home(request: HttpRequest) -> HttpResponse:
    # Staff who may see the dashboard land on it; anyone else gets the plain home page.
    if request.user.is_staff and request.user.has_perm(VIEW):
        return redirect("dashboard")
    return render(request, "whatsapp/home.html")
