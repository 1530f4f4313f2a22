"""Django settings. Every value that differs between deployments comes from the
environment through ``msa.core.env`` (documented in docs/settings.md)."""

from __future__ import annotations

import base64
import hashlib
import ipaddress
from pathlib import Path
from typing import Any

import django_stubs_ext
from django.utils.translation import gettext_lazy as _

from msa.audit.chain import AuditKeyError
from msa.audit.chain import decode_key as decode_audit_key
from msa.core.demo_state import data_dir, demo_marker_applies, demo_secret
from msa.core.env import (
    channel_layer_config,
    database_config,
    env_bool,
    env_given,
    env_int,
    env_list,
    env_optional,
    env_str,
)
from msa.core.errors import ConfigurationError

django_stubs_ext.monkeypatch()

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = data_dir()

# The demo (MSA_DEMO=1), or a command run beside it: no secret set, and the data folder holds the
# demo's marker (msa/core/demo_state.py). Production sets its secrets: never the demo.
MSA_DEMO = env_bool("MSA_DEMO") or demo_marker_applies(DATA_DIR)
DEBUG = env_bool("MSA_DEBUG")


def _demo_secret(name: str, label: bytes | None = None) -> str:
    """A secret from the environment; in the demo only, the one the demo generated once and
    keeps in its data folder, so that a restart keeps browsers signed in and the commands run
    beside it find it (``label``: the fixed key of earlier versions, for an older folder)."""
    value = env_optional(name)
    if value is not None:
        return value
    if not MSA_DEMO:
        raise ConfigurationError(
            f"{name} must be set (only the demo runs without: MSA_DEMO=1, or a command run "
            f"beside it with MSA_DATA_DIR naming its data folder; {DATA_DIR} holds no demo)"
        )
    legacy = (
        base64.urlsafe_b64encode(hashlib.sha256(b"msa-demo-" + label).digest()).decode()
        if label is not None
        else None
    )
    return demo_secret(DATA_DIR, name, legacy=legacy)


SECRET_KEY = _demo_secret("MSA_SECRET_KEY")
MSA_ENCRYPTION_KEYS = _demo_secret("MSA_ENCRYPTION_KEYS", b"encryption")
if ":" not in MSA_ENCRYPTION_KEYS:
    MSA_ENCRYPTION_KEYS = "demo:" + MSA_ENCRYPTION_KEYS.rstrip("=")
MSA_LOOKUP_KEY = _demo_secret("MSA_LOOKUP_KEY", b"lookup").rstrip("=")
# The audit trail's chain key (msa/audit/chain.py): from the environment, never the database.
MSA_AUDIT_KEY = _demo_secret("MSA_AUDIT_KEY", b"audit").rstrip("=")
# The centre's Ed25519 seed that signs evidence bundles (msa/evaluation/evidence.py): read when a
# bundle is made, so a deployment without one runs and refuses only the export.
MSA_EVIDENCE_SIGNING_KEY = (env_optional("MSA_EVIDENCE_SIGNING_KEY") or "").rstrip("=") or (
    demo_secret(DATA_DIR, "MSA_EVIDENCE_SIGNING_KEY").rstrip("=") if MSA_DEMO else ""
)
MSA_INCIDENT_REVIEW_DAYS = env_int("MSA_INCIDENT_REVIEW_DAYS")
MSA_RESEARCH_KEY = env_str("MSA_RESEARCH_KEY")
MSA_RESEARCH_GRID_M = env_int("MSA_RESEARCH_GRID_M")
MSA_REVIEW_ALERT_TO = env_str("MSA_REVIEW_ALERT_TO")
try:
    decode_audit_key(MSA_AUDIT_KEY)
except AuditKeyError as _exc:
    raise ConfigurationError(str(_exc)) from None

ALLOWED_HOSTS = env_list("MSA_ALLOWED_HOSTS")
CSRF_TRUSTED_ORIGINS = env_list("MSA_CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "channels",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "axes",
    "msa.core",
    "msa.accounts",
    "msa.audit",
    "msa.cases",
    "msa.devices",
    "msa.alarms",
    "msa.ingest",
    "msa.dispatch",
    "msa.realtime",
    "msa.messaging",
    "msa.worker",
    "msa.evaluation",
    "msa.stats",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "msa.core.middleware.NoStoreMiddleware",  # outside all that answers a staff request
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "msa.accounts.language.LanguageMiddleware",  # the profile, the browser, the organisation
    "django.contrib.messages.middleware.MessageMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "msa.core.middleware.IdleTimeoutMiddleware",
    "msa.core.middleware.OtpRequiredMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "msa.core.middleware.ContentSecurityPolicyMiddleware",
    "axes.middleware.AxesMiddleware",
    "msa.accounts.middleware.CentreTimeZoneMiddleware",
]

ROOT_URLCONF = "msa.urls"
ASGI_APPLICATION = "msa.asgi.application"
AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "landing"
LOGOUT_REDIRECT_URL = "login"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "msa" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
                "django.template.context_processors.tz",
                "msa.core.context_processors.msa",
                "msa.accounts.context_processors.nav",
                "msa.accounts.context_processors.js_strings",
            ],
        },
    },
]

DATA_DIR.mkdir(parents=True, exist_ok=True)
DATABASES = {
    "default": database_config(
        env_optional("DATABASE_URL"),
        str(DATA_DIR / "msa.sqlite3"),
        pool_max=env_int("MSA_DB_POOL_MAX"),
        pool_timeout_s=float(env_str("MSA_DB_POOL_TIMEOUT_S")),
    ),
}

_redis = env_optional("REDIS_URL")
CHANNEL_LAYERS: dict[str, Any] = {
    "default": (
        channel_layer_config(_redis, DATABASES["default"])
        if _redis
        else {"BACKEND": "channels.layers.InMemoryChannelLayer"}
    )
}

PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("nl", _("Dutch")), ("fr", _("French")), ("de", _("German"))]
LOCALE_PATHS = [BASE_DIR / "msa" / "locale"]
USE_I18N = True
USE_TZ = True
TIME_ZONE = "UTC"  # stored in UTC; shown in the centre's zone (CentreTimeZoneMiddleware)
MSA_TIME_ZONE = env_str("MSA_TIME_ZONE")
MSA_COUNTRY = env_str("MSA_COUNTRY").upper()  # phone numbers of the SMS gateway (msa.cases.phones)

STATIC_URL = "/static/"
STATIC_ROOT = DATA_DIR / "static"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
STATICFILES_DIRS = [BASE_DIR / "msa" / "static"]
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

# --- Security (issue 6; docs/security.md) -------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = env_bool("MSA_SECURE_COOKIES")
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
CSRF_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
# HSTS is sent on HTTPS responses once the deployment is behind HTTPS (MSA_SECURE_COOKIES=1).
SECURE_HSTS_SECONDS = env_int("MSA_HSTS_SECONDS") if SESSION_COOKIE_SECURE else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = SESSION_COOKIE_SECURE
# Behind a TLS-terminating proxy (docs/deployment.md): msa serve believes X-Forwarded-For and
# -Proto from MSA_FORWARDED_ALLOW_IPS only (uvicorn), and with HTTPS declared Django reads the
# scheme from X-Forwarded-Proto, which that proxy must set (overwrite) on every request.
MSA_FORWARDED_ALLOW_IPS = env_str("MSA_FORWARDED_ALLOW_IPS")
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if SESSION_COOKIE_SECURE else None
# Signed out after this many seconds without a request (msa.core.middleware.IdleTimeoutMiddleware).
MSA_SESSION_IDLE_S = env_int("MSA_SESSION_IDLE_S")
SESSION_COOKIE_AGE = 12 * 3600  # a control-room shift; the idle timeout is the tighter bound

# Sign-in: argon2 passwords (PASSWORD_HASHERS), django-axes lock-out, django-otp TOTP for every
# staff user (msa.core.middleware.OtpRequiredMiddleware and msa.core.permissions.requires).
AUTHENTICATION_BACKENDS = [
    "msa.accounts.backends.LockoutBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env_int("MSA_LOGIN_FAILURE_LIMIT")
MSA_LOGIN_LOCKOUT_S = env_int("MSA_LOGIN_LOCKOUT_S")
# MSA_LOGIN_LOCKOUT_S for most accounts; a growing delay (15 s doubling, at most 5 min) for
# console accounts, counted in axes' failure log (msa/accounts/lockout.py).
AXES_COOLOFF_TIME = "msa.accounts.lockout.cool_off"
AXES_ENABLE_ACCESS_FAILURE_LOG = True
# An attempt refused by the lock does not restart it: hammering keeps nobody out for longer.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_LOCKOUT_CALLABLE = "msa.accounts.views.locked_out"  # the page, and the supervisor's notice
# Locked per (account, client address): a guesser is stopped, but cannot lock an operator out
# of the console from elsewhere; the second factor stands behind the password anyway.
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_VERBOSE = False
OTP_TOTP_ISSUER = "MSA"
OTP_TOTP_SYNC = False  # no drift learning: a code is valid for its step and one either side
OTP_ADMIN_HIDE_SENSITIVE_DATA = True  # the admin never shows a TOTP key or a recovery code

# Content-Security-Policy (django-csp 4): no inline script or style anywhere.
_tile_host = ""
if env_str("MSA_MAP_TILE_URL"):
    from urllib.parse import urlsplit as _urlsplit

    _tile_parts = _urlsplit(env_str("MSA_MAP_TILE_URL").replace("{s}", "*"))
    _tile_host = f"{_tile_parts.scheme}://{_tile_parts.netloc}"
CONTENT_SECURITY_POLICY: dict[str, Any] = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:", *([_tile_host] if _tile_host else [])],
        "font-src": ["'self'"],
        # ws:// and wss:// of the requesting host are added per request by the middleware.
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    },
}

MSA_MAP_TILE_URL = env_str("MSA_MAP_TILE_URL")
MSA_MAP_ATTRIBUTION = env_str("MSA_MAP_ATTRIBUTION")
MSA_DEVICE_CLOCK_SKEW_S = env_int("MSA_DEVICE_CLOCK_SKEW_S")
MSA_OSMAND_ENABLED = env_bool("MSA_OSMAND_ENABLED")
MSA_AML_HTTPS_KEYS = env_str("MSA_AML_HTTPS_KEYS")
MSA_REPORT_INTERVAL_S = env_int("MSA_REPORT_INTERVAL_S")
MSA_TRACKING_AFTER_CALL_S = env_int("MSA_TRACKING_AFTER_CALL_S")
MSA_HEARTBEAT_INTERVAL_S = env_int("MSA_HEARTBEAT_INTERVAL_S")
# Device protocol (issue 3; docs/protocol.md)
MSA_DEVICE_RATE_LIMIT = env_int("MSA_DEVICE_RATE_LIMIT")
MSA_DEVICE_RATE_WINDOW_S = env_int("MSA_DEVICE_RATE_WINDOW_S")
MSA_HEARTBEAT_RATE_LIMIT = env_int("MSA_HEARTBEAT_RATE_LIMIT")
MSA_REPEAT_PRESS_ALERT_PER_MIN = env_int("MSA_REPEAT_PRESS_ALERT_PER_MIN")
MSA_MACHINE_DB_TIMEOUT_MS = env_int("MSA_MACHINE_DB_TIMEOUT_MS")
MSA_MACHINE_ON_LOOP = env_bool("MSA_MACHINE_ON_LOOP")
MSA_SMS_NUMBER = env_str("MSA_SMS_NUMBER")
MSA_PUBLIC_URL = env_str("MSA_PUBLIC_URL")
# Case management (issue 5)
MSA_BOMBSHELL_DEADLINE_S = env_int("MSA_BOMBSHELL_DEADLINE_S")
MSA_REVIEW_HOURS = {
    "extreme": env_int("MSA_REVIEW_EXTREME_H"),
    "high": env_int("MSA_REVIEW_HIGH_H"),
    "medium": env_int("MSA_REVIEW_MEDIUM_H"),
    "low": env_int("MSA_REVIEW_LOW_H"),
}
MSA_CASE_MAX_DAYS = env_int("MSA_CASE_MAX_DAYS")
MSA_NATIONAL_DB_RECIPIENT = env_str("MSA_NATIONAL_DB_RECIPIENT")
MSA_CASE_ALERT_TO = env_str("MSA_CASE_ALERT_TO")
# Device health (issue 12; msa/devices/health.py)
MSA_HEALTH_SILENT_BEATS = env_int("MSA_HEALTH_SILENT_BEATS")
MSA_HEALTH_UNLINKED_S = env_int("MSA_HEALTH_UNLINKED_S")
MSA_HEALTH_BATTERY_PCT = env_int("MSA_HEALTH_BATTERY_PCT")
MSA_HEALTH_TEST_DAYS = env_int("MSA_HEALTH_TEST_DAYS")
MSA_HEALTH_REPORT_HOUR = env_int("MSA_HEALTH_REPORT_HOUR")
MSA_HEALTH_NOTICE_TO = env_str("MSA_HEALTH_NOTICE_TO")
MSA_RETENTION_DAYS = env_int("MSA_RETENTION_DAYS")
MSA_ACK_TARGET_S = env_int("MSA_ACK_TARGET_S")
MSA_CONSOLE_HEARTBEAT_S = env_int("MSA_CONSOLE_HEARTBEAT_S")
MSA_BACKUP_OFFER_S = env_int("MSA_BACKUP_OFFER_S")
MSA_DISPATCH_TARGET_S = env_int("MSA_DISPATCH_TARGET_S")
MSA_ON_SCENE_TARGET_S = env_int("MSA_ON_SCENE_TARGET_S")
MSA_SUPERVISOR_ALERT_TO = env_str("MSA_SUPERVISOR_ALERT_TO")
MSA_ROUTER = env_str("MSA_ROUTER")
MSA_ROUTE_DETOUR_FACTOR = float(env_str("MSA_ROUTE_DETOUR_FACTOR"))

# Outbound providers (msa/messaging/providers.py, docs/messaging.md), checked at start-up.
MSA_SMS_PROVIDER = env_str("MSA_SMS_PROVIDER")
MSA_SMS_GATEWAY_URL = env_str("MSA_SMS_GATEWAY_URL")
MSA_SMS_GATEWAY_TOKEN = env_str("MSA_SMS_GATEWAY_TOKEN")
MSA_SMS_SENDER = env_str("MSA_SMS_SENDER")
MSA_EMAIL_PROVIDER = env_str("MSA_EMAIL_PROVIDER")
MSA_NATIONAL_DB_PROVIDER = env_str("MSA_NATIONAL_DB_PROVIDER")
MSA_NATIONAL_DB_URL = env_str("MSA_NATIONAL_DB_URL")
MSA_NATIONAL_DB_HMAC_KEY = env_str("MSA_NATIONAL_DB_HMAC_KEY")
MSA_PROVIDER_TIMEOUT_S = env_int("MSA_PROVIDER_TIMEOUT_S")
MSA_OUTBOX_MAX_ATTEMPTS = env_int("MSA_OUTBOX_MAX_ATTEMPTS")
MSA_SMTP_TLS = env_str("MSA_SMTP_TLS")
# Django's SMTP backend, which the smtp provider uses
EMAIL_HOST = env_str("MSA_SMTP_HOST")
EMAIL_PORT = env_int("MSA_SMTP_PORT")
EMAIL_HOST_USER = env_str("MSA_SMTP_USER")
EMAIL_HOST_PASSWORD = env_str("MSA_SMTP_PASSWORD")
EMAIL_USE_TLS = MSA_SMTP_TLS == "starttls"
EMAIL_USE_SSL = MSA_SMTP_TLS == "ssl"
EMAIL_TIMEOUT = MSA_PROVIDER_TIMEOUT_S
DEFAULT_FROM_EMAIL = env_str("MSA_EMAIL_FROM")

# Operations (issue 12; docs/operations.md)
MSA_METRICS_TOKEN = env_str("MSA_METRICS_TOKEN")
try:
    MSA_METRICS_ALLOW = [
        ipaddress.ip_network(n, strict=False) for n in env_list("MSA_METRICS_ALLOW")
    ]
except ValueError as _exc:
    raise ConfigurationError(f"MSA_METRICS_ALLOW: {_exc}") from None
MSA_READY_WORKER_MAX_AGE_S = env_int("MSA_READY_WORKER_MAX_AGE_S")
MSA_PROBE_INTERVAL_S = env_int("MSA_PROBE_INTERVAL_S")
MSA_PROBE_LATE_S = env_int("MSA_PROBE_LATE_S")
MSA_PROBE_URL = (
    env_str("MSA_PROBE_URL") or (env_str("MSA_PUBLIC_URL") if env_given("MSA_PUBLIC_URL") else "")
).rstrip("/")
MSA_PROBE_SMS_LOOPBACK = env_str("MSA_PROBE_SMS_LOOPBACK")
MSA_RETAIN_DAYS = {
    "unit_positions": env_int("MSA_RETAIN_UNIT_POSITIONS_DAYS"),
    "event_log": env_int("MSA_RETAIN_EVENT_LOG_DAYS"),
    "messages": env_int("MSA_RETAIN_MESSAGES_DAYS"),
    "rejected_sms": env_int("MSA_RETAIN_REJECTED_SMS_DAYS"),
}

# One line per event on stderr: JSON (msa.core.logging_json) unless MSA_LOG_FORMAT=plain. The
# server's own loggers (uvicorn) go through the same handler (msa.cli passes no log config).
_log_format = env_str("MSA_LOG_FORMAT")
if _log_format not in {"json", "plain"}:
    raise ConfigurationError(f"MSA_LOG_FORMAT must be json or plain, not {_log_format!r}")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "json": {"()": "msa.core.logging_json.EventJsonFormatter"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": _log_format}},
    "loggers": {
        "msa": {"handlers": ["console"], "level": env_str("MSA_LOG_LEVEL"), "propagate": False},
        "django": {"handlers": ["console"], "level": "WARNING", "propagate": False},
        "uvicorn": {"handlers": ["console"], "level": "WARNING", "propagate": False},
    },
}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
