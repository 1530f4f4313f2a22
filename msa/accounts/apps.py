from typing import Any

from django.apps import AppConfig
from django.contrib.auth.signals import user_logged_in

from msa.core import clock


def _start_idle_clock(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    """A fresh sign-in starts the idle timer (msa.core.middleware.IdleTimeoutMiddleware)."""
    # the middleware module imports django.contrib.auth.views, which needs the app registry
    from msa.core.middleware import IDLE_SESSION_KEY  # noqa: PLC0415 - apps not loaded yet

    if request is not None and hasattr(request, "session"):
        request.session[IDLE_SESSION_KEY] = clock.now().timestamp()


class AccountsConfig(AppConfig):
    name = "msa.accounts"
    label = "accounts"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        user_logged_in.connect(_start_idle_clock, dispatch_uid="msa-idle-clock")
