"""SMS through an adapter (standard 5.3.2). The provider is a setting:

    SMS_PROVIDER = "aftersales.messaging.sms.SandboxSmsProvider"   # default

A provider implements ``SmsProvider.send``. The sandbox provider sends nothing: it records each
message in ``SandboxSmsMessage`` and fails deterministically for ``SANDBOX_FAILING_PHONE``
(13900000000), so tests and integrators can exercise failures and retries.
"""

import secrets
from dataclasses import dataclass

from django.conf import settings
from django.utils.module_loading import import_string

from aftersales.messaging.models import SandboxSmsMessage
from aftersales.pii import normalize_phone

SANDBOX_FAILING_PHONE = "13900000000"


class SmsError(Exception):
    """The provider refused or could not take the message; the delivery will be retried."""


@dataclass(frozen=True)
class SmsResult:
    message_id: str


class SmsProvider:
    """Interface of an SMS provider."""

    def send(self, *, phone: str, text: str) -> SmsResult:  # pragma: no cover - interface
        raise NotImplementedError


class SandboxSmsProvider(SmsProvider):
    """Records messages instead of sending; phone 13900000000 always fails."""

    def send(self, *, phone, text):
        digits = normalize_phone(phone)
        if digits == SANDBOX_FAILING_PHONE:
            raise SmsError(f"sandbox: number {SANDBOX_FAILING_PHONE} always fails")
        if len(digits) < 5:
            raise SmsError("sandbox: invalid phone number")
        message_id = "sms_" + secrets.token_hex(8)
        SandboxSmsMessage.objects.create(phone=digits, text=text, message_id=message_id)
        return SmsResult(message_id=message_id)


def sms_provider() -> SmsProvider:
    path = getattr(settings, "SMS_PROVIDER", "aftersales.messaging.sms.SandboxSmsProvider")
    return import_string(path)()
