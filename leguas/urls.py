from __future__ import annotations

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from whatsapp.views.health import healthz
from whatsapp.views.home import home

urlpatterns = [
    path("", home, name="home"),
    path(
        "accounts/login/",
        auth_views.LoginView.as_view(redirect_authenticated_user=True),
        name="login",
    ),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("healthz", healthz, name="healthz"),
    path("admin/", admin.site.urls),
    # The reference host mounts the app at the root: the previous system's /system/whatsapp/…,
    # /api/v1/… and the webhook URLs gateways already have registered keep working.
    path("", include("whatsapp.urls")),
]
