"""Encryption at rest: no plaintext in the columns, key rotation, keyed-hash look-ups."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

import pytest
from django.db import connection
from django.test import override_settings

from msa.cases.models import Suspect, Victim
from msa.cases.phones import phone_lookup
from msa.core import crypto
from msa.demo_data import VICTIMS

pytestmark = pytest.mark.django_db

KEY_A = "A" * 43
KEY_B = "C" * 43


def raw_rows(table: str, columns: list[str]) -> list[tuple[Any, ...]]:
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {', '.join(quote(c) for c in columns)} FROM {quote(table)}")
        return list(cursor.fetchall())


def test_the_raw_columns_hold_no_plaintext(demo: None) -> None:
    secrets = []
    for v in VICTIMS:
        secrets += [v.address, v.phone, v.health, v.children, v.suspect_address, v.weapons, v.order]
    for model, fields in crypto.encrypted_models():
        columns = [f.column for f in fields]
        for row in raw_rows(model._meta.db_table, columns):
            for value in row:
                if value:
                    assert str(value).startswith("enc1:"), (model, value[:12])
                    assert not any(s and s in value for s in secrets)
    # and through the ORM they read back in clear
    assert {v.address for v in Victim.objects.all()} == {v.address for v in VICTIMS}


def test_exact_match_look_ups_use_the_keyed_hash(demo: None) -> None:
    number = VICTIMS[0].phone
    (found,) = Victim.objects.filter(phone_lookup=phone_lookup(number))
    assert found.last_name == VICTIMS[0].last_name
    assert phone_lookup(number) != number
    assert number not in str(raw_rows("cases_victim", ["phone_lookup"]))


def test_rotate_from_key_a_to_key_b_then_drop_a(demo: None) -> None:
    with override_settings(MSA_ENCRYPTION_KEYS=f"a:{KEY_A},test1:{'A' * 43}"):
        Victim.objects.update(address="")  # start from a clean slate under key a
        for victim, v in zip(Victim.objects.order_by("pk"), VICTIMS, strict=True):
            victim.address = v.address
            victim.save(update_fields=["address"])
        Suspect.objects.filter(pk=Suspect.objects.first().pk).update(risk_notes="written under a")  # type: ignore[union-attr]
        notes = {s.pk: s.risk_notes for s in Suspect.objects.all()}
    with override_settings(MSA_ENCRYPTION_KEYS=f"b:{KEY_B},a:{KEY_A},test1:{'A' * 43}"):
        counts = {c.model: c for c in crypto.rotate_all(batch=2)}
        assert counts["cases.Victim"].values >= len(VICTIMS)
        assert counts["cases.Victim"].rows == len(VICTIMS)
        again = {c.model: c.values for c in crypto.rotate_all(batch=2)}
        assert set(again.values()) == {0}, "a second run finds nothing left: resumable"
    with override_settings(MSA_ENCRYPTION_KEYS=f"b:{KEY_B}"):
        assert sorted(v.address for v in Victim.objects.all()) == sorted(v.address for v in VICTIMS)
        # every suspect's notes survive the rotation as they were, empty ones included
        assert {s.pk: s.risk_notes for s in Suspect.objects.all()} == notes
        texts = [s.risk_notes for s in Suspect.objects.all()]
        assert "written under a" in texts
        for model, fields in crypto.encrypted_models():
            for row in raw_rows(model._meta.db_table, [f.column for f in fields]):
                for value in row:
                    if value:
                        assert crypto.key_id_of(value) == "b"


def test_a_missing_old_key_is_a_clear_error(demo: None) -> None:
    with (
        override_settings(MSA_ENCRYPTION_KEYS=f"b:{KEY_B}"),
        pytest.raises(crypto.DecryptionError, match="no key with id"),
    ):
        crypto.rotate_all()


@pytest.mark.django_db(transaction=True)
def test_msa_crypto_rotate_command(tmp_path: Any) -> None:
    """The CLI: counts per model, then a clear error when an old key is missing."""
    env = {**os.environ, "MSA_DATA_DIR": str(tmp_path), "DJANGO_SETTINGS_MODULE": "msa.settings"}
    env.pop("DATABASE_URL", None)  # its own SQLite file, in either test pass
    env.pop("REDIS_URL", None)
    env.pop("MSA_DEMO", None)
    env["MSA_SECRET_KEY"] = "x" * 50
    env["MSA_LOOKUP_KEY"] = "B" * 43
    run = [sys.executable, "-m", "msa.cli"]
    env["MSA_ENCRYPTION_KEYS"] = f"a:{KEY_A}"
    subprocess.run([*run, "manage", "migrate", "-v", "0"], env=env, check=True)
    seed = (
        "from msa.cli import setup_django; setup_django()\n"
        "from msa.cases.models import Victim\n"
        "Victim.objects.create(first_name='A', last_name='B', address='Kouter 1, Gent')\n"
    )
    subprocess.run([sys.executable, "-c", seed], env=env, check=True)
    env["MSA_ENCRYPTION_KEYS"] = f"b:{KEY_B},a:{KEY_A}"
    ok = subprocess.run(
        [*run, "crypto", "rotate"], env=env, capture_output=True, text=True, check=False
    )
    assert ok.returncode == 0, ok.stderr
    assert "cases.Victim: 1 rows, 1 values re-encrypted" in ok.stdout
    env["MSA_ENCRYPTION_KEYS"] = f"c:{'D' * 43},b:{KEY_B}"
    with_missing = dict(env, MSA_ENCRYPTION_KEYS=f"c:{'D' * 43}")
    bad = subprocess.run(
        [*run, "crypto", "rotate"], env=with_missing, capture_output=True, text=True, check=False
    )
    assert bad.returncode == 2
    assert "keep every old key" in bad.stderr
    assert "Traceback" not in bad.stderr


def test_a_cached_field_reads_as_its_token_under_the_keyring_of_the_moment(demo: None) -> None:
    """The device's key is kept decrypted per token (read on every device request): a new
    token reads as its own value, and a token whose key has left the ring does not read."""
    from msa.devices.models import Device  # noqa: PLC0415 - only here

    assert Device._meta.get_field("key").cached
    with override_settings(MSA_ENCRYPTION_KEYS=f"a:{KEY_A},test1:{'A' * 43}"):
        device = Device.objects.order_by("pk").first()
        assert device is not None
        first = device.key
        Device.objects.filter(pk=device.pk).update(key="K" * 43)  # re-encrypted under a
        assert Device.objects.get(pk=device.pk).key == "K" * 43  # read twice: the same
        assert Device.objects.get(pk=device.pk).key == "K" * 43
        assert first != "K" * 43
    with (
        override_settings(MSA_ENCRYPTION_KEYS=f"b:{KEY_B}"),
        pytest.raises(crypto.DecryptionError, match="no key with id"),
    ):
        Device.objects.get(pk=device.pk)
