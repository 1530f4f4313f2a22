"""``msa simulate``: act as a demo victim's phone, through the reference client."""

from __future__ import annotations

import sys
from datetime import UTC, datetime

from msa.demo_data import demo_device_id, demo_device_key, victim
from msa_client.client import DeviceClient
from msa_client.models import ApiError, Battery, Location, MsaClientError


def press(
    *, base_url: str, victim_number: int, trigger: str, call: str, give_up_after_s: float = 30.0
) -> int:
    """Press the button of demo victim ``victim_number``'s phone once; print the answer."""
    try:
        person = victim(victim_number)
    except KeyError:
        print(f"msa simulate: there is no demo victim {victim_number} (1-5)", file=sys.stderr)
        return 2
    client = DeviceClient(
        base_url,
        demo_device_id(person.number),
        demo_device_key(person.number),
        give_up_after_s=give_up_after_s,
    )
    now = datetime.now(UTC)
    location = Location(lat=person.lat, lon=person.lon, accuracy_m=12, fix_at=now, source="gps")
    try:
        answer = client.raise_alarm(
            trigger,
            location,
            battery=Battery(phone_pct=81, button_pct=64),
            call_state=call,
        )
    except ApiError as exc:
        print(f"msa simulate: the centre refused the alarm: {exc}", file=sys.stderr)
        return 1
    except MsaClientError as exc:
        print(f"msa simulate: could not reach the centre at {base_url}: {exc}", file=sys.stderr)
        return 1
    finally:
        client.close()
    print(f"alarm {answer.alarm_id} -> incident {answer.incident}")
    return 0
