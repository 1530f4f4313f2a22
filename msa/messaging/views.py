"""The undelivered-messages page: the outbox's dead letters, and "send again"."""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from msa.accounts.models import User
from msa.core.actors import Actor
from msa.core.errors import NotFoundError
from msa.core.params import param_int
from msa.core.permissions import requires
from msa.messaging.permissions import OUTBOX
from msa.messaging.selectors import dead_letters_visible_to
from msa.messaging.services import message_retry

PAGE_SIZE = 50


def _user(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)
    return user


@require_GET
@requires(OUTBOX)
def undelivered(request: HttpRequest) -> HttpResponse:
    raw_page = request.GET.get("page", "1")
    page = Paginator(dead_letters_visible_to(_user(request)), PAGE_SIZE).get_page(
        param_int(raw_page, 1) or 1
    )
    return render(request, "messaging/undelivered.html", {"page": page})


@require_POST
@requires(OUTBOX)
def retry(request: HttpRequest) -> HttpResponse:
    message_id = param_int(request.POST.get("message"))
    if (
        message_id is None
        or not dead_letters_visible_to(_user(request)).filter(pk=message_id).exists()
    ):
        messages.error(request, _("That message is not undeliverable (any more)."))
        return redirect("messaging:undelivered")
    try:
        message_retry(message_id=message_id, actor=Actor.for_user(_user(request)))
    except NotFoundError:
        messages.error(request, _("That message is not undeliverable (any more)."))
    else:
        messages.success(request, _("Message %(id)s is queued again.") % {"id": message_id})
    return redirect("messaging:undelivered")
