"""The language of a message to a member of staff: the recipient's own (a user whose e-mail
address it is, with a language in their profile), else the organisation's it is sent for,
else the deployment's ``LANGUAGE_CODE``. Compose the subject and the body inside
``in_recipient_language(...)`` with ``gettext``, so that each recipient reads their own."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.conf import settings
from django.utils import translation

from msa.accounts.models import Organisation, User


def recipient_language(recipient: str, organisation: Organisation | None = None) -> str:
    if "@" in recipient:
        own = (
            User.objects.filter(email__iexact=recipient, is_active=True)
            .exclude(language="")
            .values_list("language", flat=True)
            .first()
        )
        if own:
            return own
    if organisation is not None and organisation.language:
        return organisation.language
    return str(settings.LANGUAGE_CODE)


@contextmanager
def in_recipient_language(
    recipient: str, organisation: Organisation | None = None
) -> Iterator[str]:
    language = recipient_language(recipient, organisation)
    with translation.override(language):
        yield language
