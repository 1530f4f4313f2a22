"""Settings for the test suite: the real settings, with the test harness's choices.

``MSA_TEST_DB=postgres`` runs the suite on ``MSA_TEST_DATABASE_URL`` with the Redis
channel layer of ``MSA_TEST_REDIS_URL`` (dev.py's second pass); otherwise SQLite in
memory and the in-memory channel layer.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

os.environ.setdefault("MSA_SECRET_KEY", "insecure-key-for-tests-only-" + "x" * 32)
# Fixed test keys (32 bytes each, base64url); never used outside the test suite.
os.environ.setdefault("MSA_ENCRYPTION_KEYS", "test1:" + "A" * 43)
os.environ.setdefault("MSA_LOOKUP_KEY", "B" * 43)
# The fake providers, chosen explicitly (outside the demo an unset provider stops start-up);
# processes the tests start inherit them.
os.environ.setdefault("MSA_SMS_PROVIDER", "fake")
os.environ.setdefault("MSA_EMAIL_PROVIDER", "fake")
os.environ.setdefault("MSA_NATIONAL_DB_PROVIDER", "fake")
os.environ.setdefault("MSA_AUDIT_KEY", "C" * 43)
os.environ.setdefault("MSA_EVIDENCE_SIGNING_KEY", "D" * 43)
os.environ.setdefault("MSA_DATA_DIR", str(Path(tempfile.gettempdir()) / "msa-tests"))
os.environ.pop("DATABASE_URL", None)
os.environ.pop("REDIS_URL", None)
if os.environ.get("MSA_TEST_DB") == "postgres":
    url = os.environ.get("MSA_TEST_DATABASE_URL", "")
    if not url:
        raise RuntimeError("MSA_TEST_DB=postgres needs MSA_TEST_DATABASE_URL")
    os.environ["DATABASE_URL"] = url
    if os.environ.get("MSA_TEST_REDIS_URL"):
        os.environ["REDIS_URL"] = os.environ["MSA_TEST_REDIS_URL"]

from msa.settings import *  # noqa: F403
from msa.settings import DATABASES

DATABASES["default"]["TEST"] = {}
if os.environ.get("MSA_TEST_DB_NAME"):
    DATABASES["default"]["TEST"]["NAME"] = os.environ["MSA_TEST_DB_NAME"]
# Fast hashing in tests; argon2 is what production uses (settings.PASSWORD_HASHERS).
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
