"""Who did something: a member of staff, a device, a gateway or the system itself.

Every service takes an ``actor`` so that the audit trail names the one who acted,
including the ones who are not users (a phone, the SMS gateway, the worker).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    # typing only: importing a model class before the app registry is ready fails
    from django.contrib.auth.base_user import AbstractBaseUser


class ActorKind(StrEnum):
    USER = "user"
    DEVICE = "device"
    GATEWAY = "gateway"
    SYSTEM = "system"


@dataclass(frozen=True, slots=True)
class Actor:
    kind: ActorKind
    label: str
    user_id: int | None = None

    @classmethod
    def for_user(cls, user: AbstractBaseUser) -> Actor:
        return cls(kind=ActorKind.USER, label=user.get_username(), user_id=user.pk)

    @classmethod
    def device(cls, device_id: str) -> Actor:
        return cls(kind=ActorKind.DEVICE, label=device_id)

    @classmethod
    def gateway(cls, name: str) -> Actor:
        return cls(kind=ActorKind.GATEWAY, label=name)

    @classmethod
    def system(cls, name: str) -> Actor:
        return cls(kind=ActorKind.SYSTEM, label=name)
