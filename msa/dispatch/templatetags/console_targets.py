"""The response targets and the live settings, from settings, as the ``data-*`` attributes
that live.js reads.

``<body {% console_targets %}>`` renders ``data-ack-target``, ``data-dispatch-target`` and
``data-on-scene-target`` (seconds) from MSA_ACK_TARGET_S, MSA_DISPATCH_TARGET_S and
MSA_ON_SCENE_TARGET_S, so that the timers of every console page turn late where the worker
escalates, and no view has to pass them; ``data-heartbeat`` (MSA_CONSOLE_HEARTBEAT_S: the
page turns to its connection alarm after 10 s, or three beats, without one),
``data-report-interval`` (MSA_REPORT_INTERVAL_S: a position older than this counts missed
fixes) and ``data-login-url`` (where "sign in again" leads, back to the same page).
"""

from __future__ import annotations

from django import template
from django.conf import settings
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString

register = template.Library()


@register.simple_tag
def console_targets() -> SafeString:
    return format_html(
        'data-ack-target="{}" data-dispatch-target="{}" data-on-scene-target="{}" '
        'data-heartbeat="{}" data-report-interval="{}" data-login-url="{}"',
        int(settings.MSA_ACK_TARGET_S),
        int(settings.MSA_DISPATCH_TARGET_S),
        int(settings.MSA_ON_SCENE_TARGET_S),
        int(settings.MSA_CONSOLE_HEARTBEAT_S),
        int(settings.MSA_REPORT_INTERVAL_S),
        reverse("login"),
    )
