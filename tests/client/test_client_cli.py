"""msa-client: enrol, press, and clear errors without tracebacks."""

import json
import stat
from typing import Any

import httpx
import pytest

import msa_protocol as p
from msa_client import cli
from msa_client.client import DeviceClient
from msa_client.testing import FakeClock

KEY_TEXT = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8"
QR = f"msa1:https://msa.gent.example|dev-7KQ2|{KEY_TEXT}|+3292000112"


@pytest.fixture
def config(tmp_path):
    return tmp_path / "conf" / "msa-client.json"


def enroll(config, *extra):
    return cli.main(["--config", str(config), "enroll", QR, *extra])


def test_enroll_stores_the_configuration_readable_by_the_owner_only(config, capsys):
    assert enroll(config) == 0
    assert stat.S_IMODE(config.stat().st_mode) == 0o600
    data = json.loads(config.read_text())
    assert data == {
        "base_url": "https://msa.gent.example",
        "device_id": "dev-7KQ2",
        "key": KEY_TEXT,
        "sms_number": "+3292000112",
        "sms": {"kind": "print"},
    }
    assert "enrolled dev-7KQ2" in capsys.readouterr().out


def test_enroll_with_the_loopback_sms_transport(config):
    code = enroll(config, "--sms-loopback-token", "tok", "--phone-number", "+32470123456")
    assert code == 0
    assert json.loads(config.read_text())["sms"] == {
        "kind": "loopback",
        "token": "tok",
        "phone_number": "+32470123456",
    }


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["enroll", "hello"], "invalid enrolment code: not an MSA enrolment code"),
        (["enroll", QR.replace(KEY_TEXT, "abc")], "invalid enrolment code"),
        (["enroll", QR, "--modem", "/dev/x", "--sms-gateway-url", "https://g"], "choose one"),
        (["enroll", QR, "--sms-loopback-token", "t"], "--phone-number"),
        (["press"], "msa-client enroll"),
    ],
)
def test_errors_are_explained_without_traceback(config, capsys, argv, message):
    assert cli.main(["--config", str(config), *argv]) == 2
    err = capsys.readouterr().err
    assert message in err
    assert "Traceback" not in err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["press", "--lat", "51"], "--lat and --lon together"),
        (["press", "--lat", "91", "--lon", "3"], "invalid position"),
        (["press", "--give-up-after", "0"], "must be positive"),
    ],
)
def test_press_input_errors(config, capsys, argv, message):
    enroll(config)
    assert cli.main(["--config", str(config), *argv]) == 2
    assert message in capsys.readouterr().err


def test_argparse_errors_return_2(config, capsys):
    assert cli.main(["--config", str(config), "press", "--trigger", "panic"]) == 2
    assert cli.main(["--config", str(config), "press", "--lat", "north"]) == 2
    assert cli.main([]) == 2
    assert "Traceback" not in capsys.readouterr().err


def test_a_corrupt_configuration_is_reported(config, capsys):
    config.parent.mkdir(parents=True)
    config.write_text('{"base_url": "https://x.example"}')
    assert cli.main(["--config", str(config), "press"]) == 2
    assert "not a valid msa-client configuration" in capsys.readouterr().err


@pytest.fixture
def centre(monkeypatch):
    """Route the CLI's client to a mock centre on a fake clock."""
    clock = FakeClock()
    state: dict[str, Any] = {"status": 201, "requests": []}

    def handler(request):
        state["requests"].append(json.loads(request.read()))
        if state["status"] >= 300:
            return httpx.Response(state["status"])
        return httpx.Response(
            state["status"],
            json={
                "alarm_id": state["requests"][-1]["alarm_id"],
                "incident": "GNT-2026-00042",
                "report_interval_s": 10,
                "track_until": None,
            },
        )

    original = DeviceClient.from_enrolment  # bound to DeviceClient

    def from_enrolment(qr: p.EnrolmentQr, **kwargs: Any) -> DeviceClient:
        kwargs |= {
            "http": httpx.Client(transport=httpx.MockTransport(handler)),
            "clock": clock,
            "sleep": clock.sleep,
        }
        return original(qr, **kwargs)

    monkeypatch.setattr(DeviceClient, "from_enrolment", from_enrolment)
    return state


def test_press_raises_the_alarm(config, capsys, centre):
    enroll(config)
    argv = ["--config", str(config), "press", "--trigger", "test", "--lat", "51.05434"]
    assert cli.main([*argv, "--lon", "3.71742", "--accuracy", "12"]) == 0
    assert "incident GNT-2026-00042" in capsys.readouterr().out
    body = centre["requests"][0]
    assert body["trigger"] == "test"
    assert (body["location"]["lat"], body["location"]["accuracy_m"]) == (51.05434, 12)


def test_press_reports_an_sms_only_delivery(config, capsys, centre):
    enroll(config)
    centre["status"] = 503
    assert cli.main(["--config", str(config), "press", "--give-up-after", "30"]) == 3
    err = capsys.readouterr().err
    assert "the fallback SMS was sent" in err
    text = err.split("+3292000112: ")[1].splitlines()[0]
    assert p.verify_sms_mac(p.decode_key(KEY_TEXT), text)
    assert "Traceback" not in err
