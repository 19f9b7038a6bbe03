from __future__ import annotations

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.http import HttpRequest, HttpResponseRedirect
from django.templatetags.static import static
from django.urls import include, path

from whatsapp.views.health import healthz, readyz
from whatsapp.views.home import home


def favicon(request: HttpRequest) -> HttpResponseRedirect:
    # Browsers ask for /favicon.ico whatever the pages link to: send them to the app's logo.
    return HttpResponseRedirect(static("whatsapp/img/logo.svg"))


urlpatterns = [
    # The reference host mounts the app at the root: the previous system's /system/whatsapp/…,
    # /api/v1/… and the webhook URLs gateways already have registered keep working. First,
    # because Django tries patterns in order and API requests are the most frequent; none of the
    # app's paths is one of the host's below.
    path("", include("whatsapp.urls")),
    path("", home, name="home"),
    path("favicon.ico", favicon),
    path(
        "accounts/login/",
        auth_views.LoginView.as_view(redirect_authenticated_user=True),
        name="login",
    ),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("healthz", healthz, name="healthz"),
    path("readyz", readyz, name="readyz"),
    path("admin/", admin.site.urls),
]
