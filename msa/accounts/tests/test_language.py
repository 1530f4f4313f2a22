"""The language a page is shown in: the profile's, else the switcher's cookie, else the
browser's Accept-Language, else the organisation's, else LANGUAGE_CODE; chosen at the first
sign-in, changed with the menu's switcher; <html lang> follows; staff messages go out in the
recipient's language."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from django.conf import settings
from django.db import transaction
from django.test import Client
from django.utils import formats, translation
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from msa.accounts.language import from_accept_language, supported
from msa.accounts.models import Membership, Organisation, User
from msa.core.actors import Actor
from msa.demo_data import demo_password
from msa.messaging.language import in_recipient_language, recipient_language
from msa.messaging.models import MessageChannel
from msa.messaging.services import message_enqueue


def lang_of(html: str) -> str:
    match = re.search(r'<html lang="([^"]+)"', html)
    assert match, "no <html lang>"
    return match.group(1)


def operator() -> tuple[User, Organisation]:
    user = User.objects.get(username="operator")
    centre = Membership.objects.filter(user=user).select_related("organisation").first()
    assert centre is not None
    return user, centre.organisation


def test_accept_language_is_matched_to_ours() -> None:
    assert from_accept_language("fr-BE,fr;q=0.9,en;q=0.5") == "fr"
    assert from_accept_language("es-ES,de-BE;q=0.8") == "de"
    assert from_accept_language("es, it;q=0.5") is None
    assert from_accept_language("") is None
    assert supported("NL-be") == "nl"
    assert supported("pt") is None


def test_the_sign_in_page_follows_the_cookie_then_the_browser(db: None) -> None:
    client = Client()
    assert lang_of(client.get("/accounts/login/").content.decode()) == settings.LANGUAGE_CODE
    page = client.get("/accounts/login/", HTTP_ACCEPT_LANGUAGE="nl-BE,nl;q=0.9")
    assert lang_of(page.content.decode()) == "nl"
    assert "Aanmelden bij MSA" in page.content.decode()
    assert page["Content-Language"] == "nl"
    assert "Accept-Language" in page["Vary"]
    # the switcher on the sign-in page: its cookie beats the browser's language
    switched = client.post("/accounts/language/", {"language": "fr", "next": "/accounts/login/"})
    assert switched.status_code == 302
    assert switched["Location"] == "/accounts/login/"
    page = client.get("/accounts/login/", HTTP_ACCEPT_LANGUAGE="nl-BE,nl;q=0.9")
    assert lang_of(page.content.decode()) == "fr"
    assert "Se connecter à MSA" in page.content.decode()


def test_profile_then_browser_then_organisation(demo: None) -> None:
    user, centre = operator()
    Organisation.objects.filter(pk=centre.pk).update(language="nl")
    client = Client()
    client.force_login(user)
    # no profile language, no cookie, a browser asking for none of ours: the organisation's
    assert lang_of(client.get("/console/", HTTP_ACCEPT_LANGUAGE="es").content.decode()) == "nl"
    # the browser's beats the organisation's
    page = client.get("/console/", HTTP_ACCEPT_LANGUAGE="de-DE,de;q=0.9")
    assert lang_of(page.content.decode()) == "de"
    assert "Alarmwarteschlange" in page.content.decode()
    # the profile beats the browser
    User.objects.filter(pk=user.pk).update(language="fr")
    page = client.get("/console/", HTTP_ACCEPT_LANGUAGE="de-DE,de;q=0.9")
    assert lang_of(page.content.decode()) == "fr"
    assert "File des alarmes" in page.content.decode()


def test_the_menu_switcher_changes_the_profile(demo: None) -> None:
    user, _centre = operator()
    client = Client()
    client.force_login(user)
    page = client.get("/console/").content.decode()
    assert 'id="language-switcher"' in page
    assert 'lang="nl">Nederlands</option>' in page
    response = client.post("/accounts/language/", {"language": "nl", "next": "/console/"})
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.language == "nl"
    # the profile follows her to another browser (no cookie there)
    other = Client()
    other.force_login(user)
    page = other.get("/console/", HTTP_ACCEPT_LANGUAGE="fr").content.decode()
    assert lang_of(page) == "nl"
    assert "Alarmwachtrij" in page
    # a language we do not have changes nothing
    client.post("/accounts/language/", {"language": "xx", "next": "/console/"})
    user.refresh_from_db()
    assert user.language == "nl"


def test_the_first_sign_in_chooses_the_language(demo: None) -> None:
    client = Client()
    client.post(
        "/accounts/login/",
        {"username": "operator", "password": demo_password("operator")},
        REMOTE_ADDR="10.0.0.7",
    )
    enrol = client.get("/accounts/otp/enrol/", HTTP_ACCEPT_LANGUAGE="fr-BE")
    html = enrol.content.decode()
    assert '<option value="fr" selected>Français</option>' in html  # preset to the page's
    device = TOTPDevice.objects.get(user__username="operator", confirmed=False)
    done = client.post(
        "/accounts/otp/enrol/",
        {"token": f"{totp(device.bin_key):06d}", "language": "de"},
        HTTP_ACCEPT_LANGUAGE="fr-BE",
    )
    assert done.status_code == 200
    assert lang_of(done.content.decode()) == "de"  # the recovery codes, already in German
    assert User.objects.get(username="operator").language == "de"


def test_dates_and_numbers_in_the_locale() -> None:
    moment = datetime(2026, 5, 4, 21, 14, tzinfo=UTC)
    with translation.override("nl"):
        assert formats.date_format(moment, "DATE_FORMAT") == "4 mei 2026"
        assert formats.number_format(1234.5, 1, force_grouping=True) == "1.234,5"
    with translation.override("fr"):
        assert formats.date_format(moment, "DATE_FORMAT") == "4 mai 2026"
    with translation.override("de"):
        assert formats.date_format(moment, "DATE_FORMAT") == "4. Mai 2026"


def test_staff_messages_in_the_recipients_language(demo: None) -> None:
    user, centre = operator()
    User.objects.filter(pk=user.pk).update(email="op@example.org", language="fr")
    Organisation.objects.filter(pk=centre.pk).update(language="nl")
    centre.refresh_from_db()
    assert recipient_language("op@example.org", centre) == "fr"  # her own
    assert recipient_language("supervisor@GNT", centre) == "nl"  # the centre's
    assert recipient_language("+32470000000", None) == settings.LANGUAGE_CODE
    with transaction.atomic(), in_recipient_language("supervisor@GNT", centre):
        message = message_enqueue(
            channel=MessageChannel.EMAIL,
            recipient="supervisor@GNT",
            subject="MSA",
            body=translation.gettext("%(reference)s: %(presses)s presses within a minute")
            % {"reference": "GNT-1", "presses": 7},
            actor=Actor.system("test"),
        )
    assert message.body == "GNT-1: 7 keer ingedrukt binnen een minuut"
