"""The lock-out check of django-axes as an authentication backend.

``AxesStandaloneBackend`` refuses a call without the request; Django's test client and the
``createsuperuser`` path authenticate without one, and nothing can be locked out there, so
this backend steps aside for them. Every sign-in through the login page carries the request.
"""

from __future__ import annotations

from typing import Any

from axes.backends import AxesStandaloneBackend
from django.http import HttpRequest


class LockoutBackend(AxesStandaloneBackend):  # type: ignore[misc]
    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> None:
        if request is None:
            return
        super().authenticate(request, username=username, password=password, **kwargs)
        return
