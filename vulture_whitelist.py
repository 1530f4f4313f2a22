"""Names the dead-code check (``python3 dev.py check``) must not report: each is called by name
by something vulture cannot read (a settings string, a template, a test-only harness, getattr).
Every entry says what calls it; an entry whose caller is gone is dead code to delete."""

# ruff: noqa: B018
from msa.accounts.backends import LockoutBackend
from msa.accounts.context_processors import js_strings, nav
from msa.accounts.language import LanguageMiddleware
from msa.accounts.lockout import cool_off
from msa.accounts.middleware import CentreTimeZoneMiddleware
from msa.accounts.pseudonyms import case_row_for_analyst, incident_row_for_analyst
from msa.accounts.views import locked_out
from msa.asgi import application
from msa.core import context_processors
from msa.core.clock import Clock
from msa.core.logging_json import EventJsonFormatter
from msa.core.middleware import (
    ContentSecurityPolicyMiddleware,
    IdleTimeoutMiddleware,
    NoStoreMiddleware,
    OtpRequiredMiddleware,
)
from msa.core.transitions import all_pairs
from msa.devices.inventory import item_status_change
from msa.dispatch.routing import StraightLineRouter
from msa.dispatch.selectors import rank_units
from msa.ingest.selectors import incident_sms, rejected_sms_log
from msa.messaging.mail import SmtpProvider
from msa.messaging.national_db import SignedNoticeProvider
from msa.messaging.providers import FakeProvider
from msa.messaging.sms import HttpSmsGateway
from msa.ops.metrics import DomainCollector
from msa.realtime.events import EVENT_TYPES
from msa.realtime.layer import PubSubChannelLayer, _Shard
from msa.simulate import Scenario
from msa.stats.indicators import Seconds

# settings.py names these for django-axes (AXES_COOLOFF_TIME, AXES_LOCKOUT_CALLABLE)
cool_off
locked_out
# settings.py names these by dotted path (AUTHENTICATION_BACKENDS, MIDDLEWARE, TEMPLATES,
# ASGI_APPLICATION, MSA_ROUTER, the messaging provider setting)
LockoutBackend
nav
js_strings
LanguageMiddleware
context_processors.msa
CentreTimeZoneMiddleware
ContentSecurityPolicyMiddleware
IdleTimeoutMiddleware
NoStoreMiddleware
OtpRequiredMiddleware
application
StraightLineRouter
FakeProvider
# msa.messaging.providers.BUILT_IN names these by dotted path (the provider settings)
SmtpProvider
SignedNoticeProvider
HttpSmsGateway

# the analyst's pseudonymised rows: tested in tests/security/test_privacy.py; the evaluation
# pages (issue 14) are their first caller
case_row_for_analyst
incident_row_for_analyst

# the SMS log selectors (console staff only), tested in msa/ingest/tests/test_sms_webhook.py;
# the console's rejected-SMS page (issue 10) is their first caller
rejected_sms_log
incident_sms

# an item's repair, loss and retirement: tested in msa/devices/tests/test_inventory.py; the
# inventory page has no buttons for them yet (its first caller)
item_status_change

# the tests' controllable clock and the generic transition walk
Clock.freeze
Clock.reset
all_pairs

# bench/recommend.py measures the ranking alone, and the recommendation test uses it as the
# oracle of units_recommend's widening box
rank_units

# the event registry: read by the events contract test and the timeline labels' check
EVENT_TYPES

# Django's SQL compiler calls an expression's as_<vendor> by name
Seconds.as_sqlite
Seconds.as_postgresql

# `msa simulate scenario NAME` calls the scenario methods by name
Scenario.walk
Scenario.sms_only
Scenario.sms_first
Scenario.data_first
Scenario.ghost_call
Scenario.duress
Scenario.test_alarm

# settings.LOGGING names the JSON formatter by dotted path; logging calls its formatTime
EventJsonFormatter
EventJsonFormatter.formatTime
# prometheus_client's registry calls a collector's collect() at each scrape (/metrics)
DomainCollector.collect
# settings.CHANNEL_LAYERS names the Redis channel layer by dotted path
PubSubChannelLayer
# channels_redis calls a shard's reader, and its layer proxy makes a loop's layer
_Shard._do_receiving
PubSubChannelLayer._get_layer
