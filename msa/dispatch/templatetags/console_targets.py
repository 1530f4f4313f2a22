"""The response targets, from settings, as the ``data-*`` attributes that live.js reads.

``<body {% console_targets %}>`` renders ``data-ack-target``, ``data-dispatch-target`` and
``data-on-scene-target`` (seconds) from MSA_ACK_TARGET_S, MSA_DISPATCH_TARGET_S and
MSA_ON_SCENE_TARGET_S, so that the timers of every console page turn late where the worker
escalates, and no view has to pass them.
"""

from __future__ import annotations

from django import template
from django.conf import settings
from django.utils.html import format_html
from django.utils.safestring import SafeString

register = template.Library()


@register.simple_tag
def console_targets() -> SafeString:
    return format_html(
        'data-ack-target="{}" data-dispatch-target="{}" data-on-scene-target="{}"',
        int(settings.MSA_ACK_TARGET_S),
        int(settings.MSA_DISPATCH_TARGET_S),
        int(settings.MSA_ON_SCENE_TARGET_S),
    )
