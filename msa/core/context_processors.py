from typing import Any

from django.conf import settings
from django.http import HttpRequest


def msa(request: HttpRequest) -> dict[str, Any]:
    return {
        "MSA_DEMO": settings.MSA_DEMO,
        "MSA_MAP_TILE_URL": settings.MSA_MAP_TILE_URL,
        "MSA_MAP_ATTRIBUTION": settings.MSA_MAP_ATTRIBUTION,
    }
