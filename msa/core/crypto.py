"""Encryption at rest (AES-GCM) and keyed look-up hashes for the most sensitive fields.

Keys come from the environment: ``MSA_ENCRYPTION_KEYS`` is a comma-separated list of
``<key id>:<base64url 32-byte key>``; the first encrypts, all decrypt, so a key can be
rotated by putting the new one first and re-encrypting (``msa crypto rotate``).
``MSA_LOOKUP_KEY`` keys the HMAC used for exact-match look-ups (a phone number), which must
not change when the encryption key does.

A value is stored as ``enc1:<key id>:<base64url(nonce || ciphertext)>``; the field's
``<app>.<model>.<field>`` is bound in as associated data, so a ciphertext copied into
another column does not decrypt.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import os
import re
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.apps import apps
from django.conf import settings
from django.db import connection, models, transaction

from msa.core.errors import ConfigurationError

PREFIX = "enc1"
_KEY_ID = re.compile(r"[A-Za-z0-9_-]{1,16}")


class DecryptionError(Exception):
    pass


def _b64d(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _b64e(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@dataclass(frozen=True, slots=True)
class Keyring:
    keys: tuple[tuple[str, bytes], ...]  # (key id, key); the first one encrypts
    lookup_key: bytes

    @property
    def current_id(self) -> str:
        return self.keys[0][0]

    def key(self, key_id: str) -> bytes:
        for kid, key in self.keys:
            if kid == key_id:
                return key
        raise DecryptionError(f"no key with id {key_id!r} in MSA_ENCRYPTION_KEYS")


def parse_keyring(spec: str, lookup: str) -> Keyring:
    keys: list[tuple[str, bytes]] = []
    for part in (p.strip() for p in spec.split(",") if p.strip()):
        kid, _, text = part.partition(":")
        if not _KEY_ID.fullmatch(kid):
            raise ConfigurationError("MSA_ENCRYPTION_KEYS: each entry is <key id>:<base64url key>")
        try:
            key = _b64d(text)
        except ValueError:
            raise ConfigurationError(f"MSA_ENCRYPTION_KEYS: key {kid!r} is not base64url") from None
        if len(key) != 32:
            raise ConfigurationError(f"MSA_ENCRYPTION_KEYS: key {kid!r} is not 32 bytes")
        keys.append((kid, key))
    if not keys:
        raise ConfigurationError("MSA_ENCRYPTION_KEYS must hold at least one key")
    if len({kid for kid, _ in keys}) != len(keys):
        raise ConfigurationError("MSA_ENCRYPTION_KEYS: key ids must be unique")
    try:
        lookup_key = _b64d(lookup)
    except ValueError:
        raise ConfigurationError("MSA_LOOKUP_KEY is not base64url") from None
    if len(lookup_key) < 32:
        raise ConfigurationError("MSA_LOOKUP_KEY must be at least 32 bytes")
    return Keyring(tuple(keys), lookup_key)


@functools.cache
def _keyring_for(spec: str, lookup: str) -> Keyring:
    return parse_keyring(spec, lookup)


def keyring() -> Keyring:
    return _keyring_for(settings.MSA_ENCRYPTION_KEYS, settings.MSA_LOOKUP_KEY)


def encrypt(plaintext: str, *, context: str, ring: Keyring | None = None) -> str:
    ring = ring or keyring()
    nonce = os.urandom(12)
    sealed = AESGCM(ring.keys[0][1]).encrypt(nonce, plaintext.encode(), context.encode())
    return f"{PREFIX}:{ring.current_id}:{_b64e(nonce + sealed)}"


def decrypt(token: str, *, context: str, ring: Keyring | None = None) -> str:
    ring = ring or keyring()
    try:
        prefix, kid, body = token.split(":", 2)
    except ValueError:
        raise DecryptionError("not an encrypted value") from None
    if prefix != PREFIX:
        raise DecryptionError("not an encrypted value")
    raw = _b64d(body)
    try:
        plain = AESGCM(ring.key(kid)).decrypt(raw[:12], raw[12:], context.encode())
    except InvalidTag:
        raise DecryptionError(f"value does not decrypt for {context}") from None
    return plain.decode()


def key_id_of(token: str) -> str | None:
    parts = token.split(":", 2)
    return parts[1] if len(parts) == 3 and parts[0] == PREFIX else None


def lookup_hash(value: str, *, purpose: str, ring: Keyring | None = None) -> str:
    """A keyed hash for exact-match look-ups of an encrypted value (e.g. a phone number)."""
    ring = ring or keyring()
    message = f"{purpose}\x00{value}".encode()
    return hmac.new(ring.lookup_key, message, hashlib.sha256).hexdigest()


DECRYPTED_CACHE_SIZE = 20_000


def _decrypt_cached(token: str, context: str) -> str:
    return _decrypt_under(token, context, settings.MSA_ENCRYPTION_KEYS)


@functools.lru_cache(maxsize=DECRYPTED_CACHE_SIZE)
def _decrypt_under(token: str, context: str, keys: str) -> str:
    """Keyed by the keyring too: a token read under a ring that had its key does not read
    under one that lost it."""
    return decrypt(token, context=context)


class EncryptedTextField(models.TextField):  # type: ignore[type-arg]
    """Text stored encrypted; reads and writes plain ``str``. Empty stays empty.

    It cannot be filtered on: use a ``lookup_hash`` column for exact matches.

    ``cached=True``: the plain value of a stored token is kept in this process
    (:data:`DECRYPTED_CACHE_SIZE` of them, least recently read first out), for a secret read on
    every device request (a device's signing key: its decryption was about 3 % of the CPU of a
    position, docs/performance.md step 26). Keyed by the token itself, so that a new value or
    a re-encryption under another key is a new entry. Never for personal data: what is cached
    stays in the process's memory in clear.
    """

    def __init__(self, *args: Any, cached: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.cached = cached  # not a column property: no migration states it

    def contribute_to_class(
        self, cls: type[models.Model], name: str, *args: Any, **kw: Any
    ) -> None:
        super().contribute_to_class(cls, name, *args, **kw)
        self.crypto_context = f"{cls._meta.app_label}.{cls._meta.model_name}.{name}"

    def from_db_value(self, value: str | None, expression: Any, connection: Any) -> str | None:
        if value is None or value == "":
            return value
        if self.cached:
            return _decrypt_cached(value, self.crypto_context)
        return decrypt(value, context=self.crypto_context)

    def get_prep_value(self, value: Any) -> Any:
        value = super().get_prep_value(value)
        if value is None or value == "":
            return value
        return encrypt(str(value), context=self.crypto_context)


# --- Key rotation (``msa crypto rotate``) ----------------------------------------------


@dataclass(slots=True)
class RotationCount:
    model: str
    rows: int = 0
    values: int = 0


def encrypted_models() -> list[tuple[type[models.Model], list[EncryptedTextField]]]:
    """Every concrete model with encrypted columns, and those columns."""
    found: list[tuple[type[models.Model], list[EncryptedTextField]]] = []
    for model in apps.get_models():
        if model._meta.proxy or not model._meta.managed:
            continue
        fields = [f for f in model._meta.concrete_fields if isinstance(f, EncryptedTextField)]
        if fields:
            found.append((model, fields))
    return found


def rotate_model(
    model: type[models.Model],
    fields: list[EncryptedTextField],
    *,
    batch: int = 500,
    ring: Keyring | None = None,
) -> RotationCount:
    """Re-encrypt with the first key every value of ``fields`` under another key.

    Batches of ``batch`` rows, each in its own transaction; a value is only replaced if it
    is still the one read (a concurrent write wins). Values already under the current key
    are skipped, so a run that stopped half-way is simply started again.
    """
    ring = ring or keyring()
    quote = connection.ops.quote_name
    table = quote(model._meta.db_table)
    pk = quote(model._meta.pk.column)
    columns = ", ".join(quote(f.column) for f in fields)
    count = RotationCount(model=model._meta.label)
    last: Any = None
    while True:
        with transaction.atomic(), connection.cursor() as cursor:
            where = f"WHERE {pk} > %s " if last is not None else ""
            params: list[Any] = [last] if last is not None else []
            cursor.execute(
                f"SELECT {pk}, {columns} FROM {table} {where}ORDER BY {pk} LIMIT %s",  # noqa: S608
                [*params, batch],
            )
            rows = cursor.fetchall()
            for row in rows:
                count.rows += 1
                for field, value in zip(fields, row[1:], strict=True):
                    if not value or key_id_of(value) in (None, ring.current_id):
                        continue
                    plain = decrypt(value, context=field.crypto_context, ring=ring)
                    fresh = encrypt(plain, context=field.crypto_context, ring=ring)
                    col = quote(field.column)
                    cursor.execute(
                        f"UPDATE {table} SET {col} = %s WHERE {pk} = %s AND {col} = %s",  # noqa: S608
                        [fresh, row[0], value],
                    )
                    count.values += cursor.rowcount
        if len(rows) < batch:
            return count
        last = rows[-1][0]


def rotate_all(*, batch: int = 500) -> list[RotationCount]:
    return [rotate_model(model, fields, batch=batch) for model, fields in encrypted_models()]
