"""Every model of the kernel's one Django app (label ``aftersales``), for Django to find: each is
defined in the package whose job it is (tables and migrations are the app's, unchanged)."""

from aftersales.api.models import IdempotencyRecord
from aftersales.casefile.models import ActorKind, DomainEvent, TimelineEvent
from aftersales.deadlines.models import ClockOffset, Deadline, Holiday
from aftersales.messaging.models import (
    DeliveryStatus,
    InboundCallback,
    Notification,
    NotificationChannel,
    NotificationDelivery,
    NotificationPreference,
    SandboxSmsMessage,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
)
from aftersales.policies.models import PolicyVersion
from aftersales.tenancy.models import (
    ApiKey,
    ConsumerAddress,
    ConsumerProfile,
    Merchant,
    MerchantMember,
    PiiAccessLog,
    PlatformGroup,
    User,
)

__all__ = [
    "ActorKind",
    "ApiKey",
    "ClockOffset",
    "ConsumerAddress",
    "ConsumerProfile",
    "Deadline",
    "DeliveryStatus",
    "DomainEvent",
    "Holiday",
    "IdempotencyRecord",
    "InboundCallback",
    "Merchant",
    "MerchantMember",
    "Notification",
    "NotificationChannel",
    "NotificationDelivery",
    "NotificationPreference",
    "PiiAccessLog",
    "PlatformGroup",
    "PolicyVersion",
    "SandboxSmsMessage",
    "TimelineEvent",
    "User",
    "WebhookAttempt",
    "WebhookDelivery",
    "WebhookEndpoint",
]
