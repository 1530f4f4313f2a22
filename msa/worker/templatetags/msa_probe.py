"""``{% probe_banner centre %}``: the path-monitoring banner of every console
(console/_probe_banner.html), shown while a probe path of the centre is not in order."""

from __future__ import annotations

from typing import Any

from django import template

from msa.worker.probe import probe_health

register = template.Library()


@register.inclusion_tag("console/_probe_banner_body.html")
def probe_banner(centre: Any) -> dict[str, Any]:
    failing = [h for h in probe_health(centre_id=centre.pk) if not h.ok] if centre else []
    return {"failing": failing}
