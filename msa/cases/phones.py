"""Phone numbers: normalised to E.164 before they are stored, hashed for look-up."""

from __future__ import annotations

import phonenumbers

from msa.core.crypto import lookup_hash
from msa.core.errors import ValidationError

LOOKUP_PURPOSE = "phone"


def normalise_phone(raw: str, *, region: str = "BE") -> str:
    """E.164 (``+32470000101``) or ValidationError."""
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        raise ValidationError(
            "not a phone number", fields={"phone_number": raw[:3] + "…"}
        ) from None
    if not phonenumbers.is_possible_number(number):
        raise ValidationError("not a possible phone number", fields={"phone_number": "invalid"})
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def phone_lookup(e164: str) -> str:
    return lookup_hash(e164, purpose=LOOKUP_PURPOSE)
