"""A host that mounts the app under a prefix (`/ops/`), for the tests that prove nothing in the
dashboard assumes where it lives."""

from __future__ import annotations

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from whatsapp.views import webhooks
from whatsapp.views.health import healthz
from whatsapp.views.home import home

# The host's own pages stay at its root.
host_pages = [
    path("", home, name="home"),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("healthz", healthz, name="healthz"),
    path("admin/", admin.site.urls),
]

urlpatterns = [
    *host_pages,
    # The app, one level down.
    path("ops/", include("whatsapp.urls")),
    # The worker processes run the reference host's URLs, so the webhook they register with the
    # gateway has no prefix: receive it there too.
    path("whatsapp/webhooks/<slug:slug>/<str:secret>/", webhooks.receive),
]
