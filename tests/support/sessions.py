"""A real signed-in session for a consumer's scope, as ``AuthMiddlewareStack`` gives one.

The console socket re-reads its session from the store on every heartbeat, so a test that
signs the user out (or deactivates them) acts on the same session the socket holds.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

from django.conf import settings
from django.test import Client


def signed_in_client(user: Any) -> Client:
    """A test client signed in as ``user``, second factor passed (conftest's force_login)."""
    client = Client()
    client.force_login(user)
    return client


def session_of(client: Client) -> Any:
    """A fresh store object on the client's session, for a consumer's ``scope["session"]``."""
    return import_module(settings.SESSION_ENGINE).SessionStore(client.session.session_key)


def signed_in_session(user: Any) -> Any:
    return session_of(signed_in_client(user))
