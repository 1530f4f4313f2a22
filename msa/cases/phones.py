"""Phone numbers: normalised to E.164 before they are stored, hashed for look-up."""

from __future__ import annotations

import phonenumbers
from django.utils.translation import gettext_noop

from msa.core.crypto import lookup_hash
from msa.core.errors import ValidationError

LOOKUP_PURPOSE = "phone"


def normalise_phone(raw: str, *, region: str) -> str:
    """E.164 (``+32470000101``) or ValidationError. ``region``: the country (ISO 3166, ``BE``)
    whose national format a number without ``+`` is in: the organisation's (a case's numbers,
    its zone's ``country``), or the deployment's ``MSA_COUNTRY`` (the SMS gateway's senders)."""
    try:
        number = phonenumbers.parse(raw, region.upper() or None)
    except phonenumbers.NumberParseException:
        raise ValidationError(
            gettext_noop("not a phone number"), fields={"phone_number": raw[:3] + "…"}
        ) from None
    if not phonenumbers.is_possible_number(number):
        raise ValidationError(
            gettext_noop("not a possible phone number"), fields={"phone_number": "invalid"}
        )
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def phone_lookup(e164: str) -> str:
    return lookup_hash(e164, purpose=LOOKUP_PURPOSE)
