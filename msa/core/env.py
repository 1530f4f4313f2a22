"""Every setting MSA reads from the environment, through one helper.

Each setting is declared once, with its default and what it is for; ``docs/settings.md``
is the reader's copy of this list. Secrets have no default outside the demo: a missing
secret stops the process at start-up instead of running with a guessable value.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import dj_database_url

from msa.core.errors import ConfigurationError

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


@dataclass(frozen=True, slots=True)
class Setting:
    name: str
    default: str | None
    help: str


# The documented list. Order is the order of docs/settings.md.
SETTINGS: tuple[Setting, ...] = (
    Setting(
        "MSA_DEMO",
        "0",
        "1 runs the demo: demo logins, and keys generated once and kept in MSA_DATA_DIR "
        "(demo-secrets.json: commands run beside the demo, with no secret set, use them too).",
    ),
    Setting("MSA_SECRET_KEY", None, "Django's secret key; required unless MSA_DEMO=1."),
    Setting(
        "MSA_ENCRYPTION_KEYS",
        None,
        "Keys for data at rest: <id>:<base64url 32 bytes>[,...]; the first encrypts. "
        "Required unless MSA_DEMO=1.",
    ),
    Setting(
        "MSA_LOOKUP_KEY",
        None,
        "base64url key (32+ bytes) for look-up hashes of encrypted values; never rotated "
        "with the encryption keys. Required unless MSA_DEMO=1.",
    ),
    Setting(
        "MSA_AUDIT_KEY",
        None,
        "base64url key (32+ bytes) of the audit trail's keyed hash chain; kept outside the "
        "database (and its backups). Required unless MSA_DEMO=1.",
    ),
    Setting("MSA_DEBUG", "0", "1 turns on Django's debug pages. Never in production."),
    Setting(
        "DATABASE_URL", "", "postgres://user@host:5432/db; unset: SQLite file in MSA_DATA_DIR."
    ),
    Setting(
        "MSA_DB_POOL_MAX",
        "20",
        "PostgreSQL: connections in each server process's pool (ASGI runs every request in "
        "its own thread, so connections are pooled, never kept per thread; the machine "
        "endpoints' two threads each keep one of them).",
    ),
    Setting(
        "MSA_DB_POOL_TIMEOUT_S",
        "0.5",
        "PostgreSQL: longest wait (seconds) for a pooled connection; after it the device API "
        "answers 503 and the phone falls back to SMS at once: a database outage is answered "
        "within 1 s.",
    ),
    Setting("REDIS_URL", "", "redis://host:6379/0 for the channel layer; unset: in-memory layer."),
    Setting("MSA_DATA_DIR", "var", "Folder for the SQLite file and other local state."),
    Setting("MSA_ALLOWED_HOSTS", "127.0.0.1,localhost", "Comma-separated host names served."),
    Setting("MSA_CSRF_TRUSTED_ORIGINS", "", "Comma-separated origins for CSRF behind a proxy."),
    Setting(
        "MSA_FORWARDED_ALLOW_IPS",
        "127.0.0.1",
        "Proxies (comma-separated addresses, or *) whose X-Forwarded-For/-Proto msa serve "
        "believes: the client's real address (sign-in lock-out) and HTTPS. "
        "--forwarded-allow-ips overrides it.",
    ),
    Setting("MSA_SECURE_COOKIES", "0", "1 marks session and CSRF cookies Secure (behind HTTPS)."),
    Setting("MSA_MAP_TILE_URL", "", "Leaflet tile URL template; empty: the map draws no tiles."),
    Setting("MSA_MAP_ATTRIBUTION", "", "Attribution shown for the map tiles."),
    Setting("MSA_TIME_ZONE", "Europe/Brussels", "Time zone for centres that set none."),
    Setting(
        "MSA_COUNTRY", "BE", "Country (ISO 3166) of phone numbers without +, beside the zone's."
    ),
    Setting("MSA_LOG_LEVEL", "INFO", "Log level of the msa loggers."),
    # Operations (issue 12; docs/operations.md)
    Setting(
        "MSA_LOG_FORMAT", "json", "json: one JSON object a log line; plain: text for a terminal."
    ),
    Setting(
        "MSA_METRICS_TOKEN", "", "/metrics: bearer token that may scrape (secret); empty: none."
    ),
    Setting(
        "MSA_METRICS_ALLOW",
        "127.0.0.1,::1",
        "/metrics: comma-separated client addresses or networks that may scrape without token.",
    ),
    Setting(
        "MSA_READY_WORKER_MAX_AGE_S",
        "15",
        "/readyz fails when the worker's timer loop has not beaten for this many seconds.",
    ),
    Setting(
        "MSA_PROBE_INTERVAL_S",
        "300",
        "Path monitoring: seconds between two rounds of the centre's probe (msa probe enrol).",
    ),
    Setting(
        "MSA_PROBE_LATE_S",
        "30",
        "Path monitoring: a probe alarm not acknowledged this many seconds after it was sent "
        "is late; the supervisor is alerted, consoles show a banner and /readyz fails.",
    ),
    Setting(
        "MSA_PROBE_URL",
        "",
        "Path monitoring: where the probe posts its signed alarm; empty: MSA_PUBLIC_URL when "
        "it is set in the environment, else the server's own ASGI app in the worker process.",
    ),
    Setting(
        "MSA_PROBE_SMS_LOOPBACK",
        "",
        "Path monitoring of the SMS path: a number the SMS gateway loops back to the centre's "
        "inbound webhook; empty: the SMS path is not probed.",
    ),
    Setting("MSA_RETAIN_UNIT_POSITIONS_DAYS", "90", "Days a unit's positions are kept."),
    Setting(
        "MSA_RETAIN_EVENT_LOG_DAYS",
        "400",
        "Days the live event log keeps the events of a closed incident (after it closed).",
    ),
    Setting("MSA_RETAIN_MESSAGES_DAYS", "180", "Days a sent or dead outbound message is kept."),
    Setting("MSA_RETAIN_REJECTED_SMS_DAYS", "30", "Days a rejected inbound SMS is kept."),
    Setting("MSA_DEVICE_CLOCK_SKEW_S", "300", "Accepted device timestamp skew, seconds."),
    Setting("MSA_REPORT_INTERVAL_S", "10", "Seconds between position reports a phone is told."),
    Setting("MSA_TRACKING_AFTER_CALL_S", "7200", "Tracking continues this long after the call."),
    Setting("MSA_HEARTBEAT_INTERVAL_S", "300", "Seconds between heartbeats a phone is told."),
    Setting(
        "MSA_DEVICE_RATE_LIMIT",
        "120",
        "Device API: requests one device may make per window before 429 (new alarms exempt).",
    ),
    Setting("MSA_DEVICE_RATE_WINDOW_S", "60", "Device API: the rate limit's window, seconds."),
    Setting(
        "MSA_HEARTBEAT_RATE_LIMIT",
        "10",
        "Device API: heartbeats one device may send per window (their own bucket) before 429.",
    ),
    Setting(
        "MSA_REPEAT_PRESS_ALERT_PER_MIN",
        "5",
        "Presses of one device within a minute above which the supervisor is alerted.",
    ),
    Setting(
        "MSA_MACHINE_DB_TIMEOUT_MS",
        "1500",
        "Device API and SMS webhook: longest wait for a locked database before 503 (ms).",
    ),
    Setting(
        "MSA_MACHINE_ON_LOOP",
        "1",
        "SQLite: answer device API requests on the server's event loop when the database is "
        "free (a request that finds another writer is handed to a machine thread, which waits); "
        "0 sends every one to the thread.",
    ),
    Setting("MSA_SMS_NUMBER", "+32470099112", "The centre's SMS number for fallback SMS (E.164)."),
    Setting(
        "MSA_PUBLIC_URL",
        "http://127.0.0.1:8000",
        "The centre's address as phones reach it (put in the enrolment QR code).",
    ),
    Setting("MSA_SESSION_IDLE_S", "1800", "Staff are signed out after this many idle seconds."),
    Setting("MSA_HSTS_SECONDS", "31536000", "HSTS max-age, sent when MSA_SECURE_COOKIES=1."),
    Setting("MSA_LOGIN_FAILURE_LIMIT", "5", "Failed sign-ins before an account is locked."),
    Setting("MSA_LOGIN_LOCKOUT_S", "900", "Seconds a locked account stays locked."),
    Setting("MSA_RETENTION_DAYS", "365", "Days after a case ends before it is anonymised."),
    Setting(
        "MSA_CONSOLE_HEARTBEAT_S",
        "3",
        "Seconds between a console socket's heartbeats (each re-checks the sign-in); a page "
        "without one for 10 s, or 3 beats if longer, shows the connection alarm.",
    ),
    Setting("MSA_ACK_TARGET_S", "30", "Unacknowledged this long: the supervisor is alerted."),
    Setting("MSA_BACKUP_OFFER_S", "60", "Unacknowledged this long: offered to the backup centre."),
    Setting("MSA_DISPATCH_TARGET_S", "120", "Acknowledged, no unit sent this long: alert."),
    Setting("MSA_ON_SCENE_TARGET_S", "600", "No unit on scene this long after the alarm: breach."),
    Setting("MSA_SUPERVISOR_ALERT_TO", "", "Where supervisor alerts go (an SMS number or e-mail)."),
    Setting("MSA_ROUTER", "msa.dispatch.routing.StraightLineRouter", "ETA router (dotted path)."),
    Setting("MSA_ROUTE_DETOUR_FACTOR", "1.4", "Road distance / straight-line distance."),
    Setting("MSA_BOMBSHELL_DEADLINE_S", "3600", "A bombshell's 'contact the prosecutor' deadline."),
    Setting("MSA_REVIEW_EXTREME_H", "72", "Hours to the next case review at extreme risk."),
    Setting("MSA_REVIEW_HIGH_H", "168", "Hours to the next case review at high risk."),
    Setting("MSA_REVIEW_MEDIUM_H", "720", "Hours to the next case review at medium risk."),
    Setting("MSA_REVIEW_LOW_H", "1440", "Hours to the next case review at low risk."),
    Setting("MSA_CASE_MAX_DAYS", "183", "Longest a decision keeps an alarm; renewable."),
    Setting("MSA_NATIONAL_DB_RECIPIENT", "national-police-db", "Address of suspect notices."),
    Setting("MSA_CASE_ALERT_TO", "", "Where overdue case tasks go; empty: the supervisor's."),
    # Evaluation: the incident reviews, the victim survey and the evidence bundle
    Setting("MSA_INCIDENT_REVIEW_DAYS", "14", "Days the working group has to review an incident."),
    Setting(
        "MSA_REVIEW_ALERT_TO",
        "",
        "Where overdue incident reviews and actions go; empty: supervisor@<centre code>.",
    ),
    Setting(
        "MSA_EVIDENCE_SIGNING_KEY",
        "",
        "The centre's Ed25519 key that signs evidence bundles: base64url of its 32-byte seed "
        "(secret; kept outside the database). Empty: no bundle can be exported (the demo "
        "generates one in demo-secrets.json).",
    ),
    # The statistics part: msa/stats, docs/indicators.md
    Setting(
        "MSA_RESEARCH_KEY",
        "",
        "Key of the research export's case pseudonyms (HMAC-SHA256; secret, 32+ bytes "
        "base64url); empty: derived from MSA_LOOKUP_KEY. A new key gives unlinkable pseudonyms.",
    ),
    Setting("MSA_RESEARCH_GRID_M", "500", "Research export: positions coarsened to this grid (m)."),
    # Outbound delivery (msa/messaging, docs/messaging.md). A provider is "fake", a built-in
    # name, or the dotted path of a provider class; empty: the fake in the demo, else no start.
    Setting(
        "MSA_SMS_PROVIDER",
        "",
        "SMS out: http (the generic HTTP gateway), fake, or a provider class's dotted path; "
        "empty: fake when MSA_DEMO=1, otherwise MSA refuses to start.",
    ),
    Setting("MSA_SMS_GATEWAY_URL", "", "SMS gateway: send URL (https://; http only to loopback)."),
    Setting("MSA_SMS_GATEWAY_TOKEN", "", "SMS gateway: bearer token (secret; required with http)."),
    Setting("MSA_SMS_SENDER", "MSA", "SMS gateway: the sender name or number shown."),
    Setting(
        "MSA_EMAIL_PROVIDER",
        "",
        "E-mail out: smtp (Django's SMTP backend), fake, or a provider class's dotted path; "
        "empty: fake when MSA_DEMO=1, otherwise MSA refuses to start.",
    ),
    Setting("MSA_SMTP_HOST", "", "SMTP: server host name (required with smtp)."),
    Setting("MSA_SMTP_PORT", "587", "SMTP: server port."),
    Setting("MSA_SMTP_TLS", "starttls", "SMTP: starttls, ssl (implicit TLS), or none (loopback)."),
    Setting("MSA_SMTP_USER", "", "SMTP: user name; empty: no authentication."),
    Setting("MSA_SMTP_PASSWORD", "", "SMTP: password (secret)."),
    Setting("MSA_EMAIL_FROM", "msa@localhost", "SMTP: the From address of MSA's e-mail."),
    Setting(
        "MSA_NATIONAL_DB_PROVIDER",
        "",
        "National-database notices: https (signed POST), fake, or a provider class's dotted "
        "path; empty: fake when MSA_DEMO=1, otherwise MSA refuses to start.",
    ),
    Setting("MSA_NATIONAL_DB_URL", "", "National database: notice endpoint (https://)."),
    Setting(
        "MSA_NATIONAL_DB_HMAC_KEY", "", "National database: HMAC-SHA256 key (secret, 32+ chars)."
    ),
    Setting("MSA_PROVIDER_TIMEOUT_S", "10", "Seconds one send may take before it has failed."),
    Setting(
        "MSA_OUTBOX_MAX_ATTEMPTS",
        "8",
        "Attempts before a message becomes a dead letter (shown to supervisors).",
    ),
    # Device health (issue 12; msa/devices/health.py)
    Setting(
        "MSA_HEALTH_SILENT_BEATS",
        "3",
        "Heartbeat intervals (MSA_HEARTBEAT_INTERVAL_S) without one before a device is silent.",
    ),
    Setting("MSA_HEALTH_UNLINKED_S", "600", "Seconds the button may be unlinked from the phone."),
    Setting("MSA_HEALTH_BATTERY_PCT", "20", "A phone or button battery under this % is low."),
    Setting("MSA_HEALTH_TEST_DAYS", "30", "Days without a test alarm before the officer is told."),
    Setting(
        "MSA_HEALTH_REPORT_HOUR",
        "7",
        "Local hour (the zone's time zone) from which each police zone's daily device report "
        "is sent.",
    ),
    Setting(
        "MSA_HEALTH_NOTICE_TO",
        "",
        "Where device-health notices and reports go when a zone's reference officers have no "
        "e-mail address; empty: reference-officers@<zone code>.",
    ),
    # Interoperability: AML and OsmAnd, as docs/interop.md describes them
    Setting(
        "MSA_OSMAND_ENABLED",
        "0",
        "1 accepts the unsigned OsmAnd protocol (Traccar Client) at /api/osmand/v1/; "
        "0: every request there is answered 404.",
    ),
    Setting(
        "MSA_AML_HTTPS_KEYS",
        "",
        "AML over HTTPS: comma-separated NAME=KEY pairs, the HMAC-SHA1 key of each sender "
        "(secret); a gateway's bearer token is accepted too.",
    ),
    # Read by the test harness only (dev.py, msa/settings_test.py, conftest.py):
    Setting("MSA_TEST_DATABASE_URL", "", "Tests: PostgreSQL for the second pass of the suite."),
    Setting("MSA_TEST_REDIS_URL", "", "Tests: Redis for the channel layer in that pass."),
    Setting("MSA_REQUIRE_SERVICES", "0", "Tests: 1 turns every skip into a failure (CI)."),
)

_BY_NAME = {s.name: s for s in SETTINGS}


def _raw(name: str) -> str | None:
    if name not in _BY_NAME:
        raise ConfigurationError(f"{name} is not a declared setting (msa/core/env.py)")
    value = os.environ.get(name)
    if value is None:
        return _BY_NAME[name].default
    return value


def env_str(name: str) -> str:
    value = _raw(name)
    if value is None:
        raise ConfigurationError(f"{name} must be set: {_BY_NAME[name].help}")
    return value


def env_given(name: str) -> bool:
    """Whether ``name`` is in the environment at all, even empty or equal to its default."""
    _raw(name)  # a declared setting
    return name in os.environ


def env_optional(name: str) -> str | None:
    value = _raw(name)
    return value or None


def env_bool(name: str) -> bool:
    value = env_str(name).strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ConfigurationError(f"{name} must be 0 or 1, not {value!r}")


def env_int(name: str) -> int:
    value = env_str(name).strip()
    try:
        return int(value)
    except ValueError:
        raise ConfigurationError(f"{name} must be a whole number, not {value!r}") from None


def env_list(name: str) -> list[str]:
    return [part.strip() for part in env_str(name).split(",") if part.strip()]


PREPARE_THRESHOLD = 5  # psycopg's own default


def database_config(
    url: str | None, sqlite_path: str, *, pool_max: int = 20, pool_timeout_s: float = 0.5
) -> dict[str, Any]:
    """The DATABASES['default'] entry: PostgreSQL through psycopg 3, or SQLite in WAL mode."""
    if not url:
        return {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": sqlite_path,
            "OPTIONS": {
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
                "init_command": (
                    "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;"
                ),
            },
        }
    if not url.startswith(("postgres://", "postgresql://")):
        raise ConfigurationError("DATABASE_URL must be a postgres:// URL (or unset for SQLite)")
    config: dict[str, Any] = dict(dj_database_url.parse(url))
    config["ENGINE"] = "django.db.backends.postgresql"
    # Under ASGI each request runs in a thread of its own: a connection kept per thread is
    # stranded when the thread ends. Connections come from psycopg's pool instead; a request
    # that waits more than ``pool_timeout_s`` for one fails fast (the device API answers 503:
    # the phone falls back to SMS at once; with the database down, no connection ever comes).
    config["CONN_MAX_AGE"] = 0
    options = config.setdefault("OPTIONS", {})
    options["pool"] = {"min_size": 1, "max_size": pool_max, "timeout": pool_timeout_s}
    # The hot path's statements (msa.core.sql: bound on the server) are prepared on their
    # connection once they ran this often: parsed and planned once, not at every request.
    # Django turns preparing off (for transaction-mode poolers, which MSA must not sit behind:
    # docs/deployment.md); its own queries bind on the client and are never prepared.
    options["prepare_threshold"] = PREPARE_THRESHOLD
    return config


def channel_layer_config(redis_url: str, database: dict[str, Any]) -> dict[str, Any]:
    """The CHANNEL_LAYERS['default'] entry for ``redis_url``: channels_redis's pub/sub layer
    (``msa.realtime.layer``) with a prefix of this deployment's own.

    Redis pub/sub channels belong to the whole server, not to one of its numbered databases:
    two deployments on one Redis server heard each other's pushes (a console showed another
    centre's incidents) when only their database numbers differed. The prefix names the Redis
    database number and the deployment's database (every node of one deployment shares both),
    so deployments apart in either are apart in Redis too."""
    parts = urlsplit(redis_url)
    path_db = "" if parts.scheme == "unix" else parts.path.strip("/")  # unix: the socket's path
    redis_db = parse_qs(parts.query).get("db", [""])[0] or path_db or "0"
    name = str(database.get("NAME", ""))
    digest = hashlib.sha256(name.encode()).hexdigest()[:12]
    return {
        "BACKEND": "msa.realtime.layer.PubSubChannelLayer",
        "CONFIG": {"hosts": [redis_url], "prefix": f"msa.{redis_db}.{digest}."},
    }


def settings_table() -> str:
    """The Markdown table of docs/settings.md (``python -m msa.core.env``)."""
    rows = ["| variable | default | what it is for |", "|---|---|---|"]
    for s in SETTINGS:
        if s.default is None:
            default = "*(required)*"
        else:
            default = f"`{s.default}`" if s.default else "*(empty)*"
        rows.append(f"| `{s.name}` | {default} | {s.help} |")
    return "\n".join(rows)


if __name__ == "__main__":
    print(settings_table())
