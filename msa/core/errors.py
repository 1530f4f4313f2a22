"""The error types domain code raises. Views and API adapters turn them into answers."""

from __future__ import annotations


class MsaError(Exception):
    """Base of every error MSA raises on purpose."""

    code = "error"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code


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
