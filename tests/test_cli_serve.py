"""``msa serve --workers N``: several server processes share live events only through Redis,
so without REDIS_URL the command refuses, saying why, before it binds anything."""

from __future__ import annotations

import pytest
from django.test import override_settings

from msa.cli import build_parser, main


@override_settings(CHANNEL_LAYERS={"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}})
def test_several_workers_need_the_redis_channel_layer(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["serve", "--workers", "2", "--port", "8765"]) == 2
    assert "REDIS_URL" in capsys.readouterr().err


def test_the_serve_options_parse() -> None:
    args = build_parser().parse_args(
        ["serve", "--workers", "4", "--forwarded-allow-ips", "10.0.0.5,10.0.0.6"]
    )
    assert (args.workers, args.forwarded_allow_ips) == (4, "10.0.0.5,10.0.0.6")
    with pytest.raises(SystemExit):
        build_parser().parse_args(["serve", "--workers", "0"])
