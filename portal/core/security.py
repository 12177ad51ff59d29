"""Request size limit, login throttling and the per-establishment build rate limit."""

from __future__ import annotations

import hashlib
from collections.abc import Callable

from django.conf import settings
from django.contrib.auth import views as auth_views
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _

from portal.core.models import Build, Establishment


class RequestSizeLimit:
    """Refuse a request whose Content-Length is above PORTAL_MAX_REQUEST_BYTES with 413,
    before anything reads its body (Django's own limits then bound what is read)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        length = request.META.get("CONTENT_LENGTH") or "0"
        try:
            size = int(length)
        except ValueError:
            return HttpResponse(status=400)
        if size > settings.PORTAL_MAX_REQUEST_BYTES:
            limit = settings.PORTAL_MAX_REQUEST_BYTES // 1_000_000
            return HttpResponse(_("This request is larger than %(size)s MB and was refused.")
                                % {"size": limit}, status=413, content_type="text/plain")
        return self.get_response(request)


def _login_key(request: HttpRequest) -> str:
    name = str(request.POST.get("username", "")).strip().lower()
    address = request.META.get("REMOTE_ADDR", "")
    return "portal-login:" + hashlib.sha256(f"{name}\0{address}".encode()).hexdigest()


class ThrottledLoginView(auth_views.LoginView):
    """Django's login, refused (429) after PORTAL_LOGIN_FAILURES failures for the same
    user name from the same address within PORTAL_LOGIN_WINDOW_SECONDS."""

    template_name = "portal/login.html"
    redirect_authenticated_user = True

    def post(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        key = _login_key(request)
        if cache.get(key, 0) >= settings.PORTAL_LOGIN_FAILURES:
            form = self.get_form()
            form.errors.clear()
            form.add_error(None, _("Too many failed attempts. Wait 15 minutes and try again."))
            return self.render_to_response(self.get_context_data(form=form), status=429)
        response = super().post(request, *args, **kwargs)
        if request.user.is_authenticated:
            cache.delete(key)
        else:
            cache.add(key, 0, settings.PORTAL_LOGIN_WINDOW_SECONDS)
            cache.incr(key)
        return response


def builds_left(establishment: Establishment) -> int:
    """How many more builds the establishment may ask for now (counted in the database,
    so every server process sees the same count)."""
    since = timezone.now() - timezone.timedelta(seconds=settings.PORTAL_BUILD_WINDOW_SECONDS)
    recent = Build.objects.filter(establishment=establishment, created_at__gte=since).count()
    return max(0, settings.PORTAL_BUILDS_PER_WINDOW - recent)
