"""The error types domain code raises. Views and API adapters turn them into answers."""

from __future__ import annotations

from django.utils.translation import gettext


class MsaError(Exception):
    """Base of every error MSA raises on purpose.

    ``message`` is English (the API and the logs answer with it). A message a page shows is
    marked with ``gettext_noop`` where it is raised; one with values takes them as ``params``
    (named placeholders: ``"... %(state)s ..."``) and ``translated()`` says it in the active
    language."""

    code = "error"

    def __init__(
        self, message: str, *, code: str | None = None, params: dict[str, object] | None = None
    ) -> None:
        self.msgid = message
        self.params = dict(params or {})
        text = message % self.params if self.params else message
        super().__init__(text)
        self.message = text
        if code is not None:
            self.code = code

    def translated(self) -> str:
        """The message in the active language (English when the catalogue lacks it)."""
        text = gettext(self.msgid)
        return text % self.params if self.params else text


class ConfigurationError(MsaError):
    code = "configuration"


class ValidationError(MsaError):
    """Input that does not follow the rules; ``fields`` maps a path to what is wrong."""

    code = "validation_error"

    def __init__(self, message: str, *, fields: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.fields = fields or {}


class NotFoundError(MsaError):
    """Missing, or not visible to the caller: both answer the same."""

    code = "not_found"


class TransitionNotAllowedError(MsaError):
    code = "transition_not_allowed"


class ConflictError(MsaError):
    """Somebody else changed the object first (e.g. two operators acknowledge at once)."""

    code = "conflict"
