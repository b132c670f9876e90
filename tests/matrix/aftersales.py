"""Who may read and change the kernel's endpoints and pages (``tests.matrix``)."""

from aftersales.policies.models import PolicyVersion
from aftersales.tenancy.actors import SYSTEM
from aftersales.tenancy.models import ApiKey, ConsumerProfile, Merchant
from tests.matrix import (
    CONSUMER_A,
    MERCHANT_A,
    NOBODY,
    PEOPLE,
    PLATFORM_READ,
    PLATFORM_STAFF_READ,
    PLATFORM_STAFF_WRITE,
    PLATFORM_WRITE,
    SIGNED_IN,
    Read,
    Target,
    Write,
    register,
)

register("me", get=Read(SIGNED_IN))


# Merchants: platform staff and platform keys write; merchant staff and keys read their own.
def _merchant(w, side):
    return Target(kwargs={"pk": side.merchant.pk}, row=side.merchant.pk)


MERCHANT_READERS = MERCHANT_A | PLATFORM_READ
register(
    "merchant-list",
    setup=_merchant,
    get=Read(MERCHANT_READERS),
    post=Write(PLATFORM_WRITE, body={"code": "shop-new", "name": "新商家"}, touches=[Merchant]),
)
register(
    "merchant-detail",
    setup=_merchant,
    get=Read(MERCHANT_READERS),
    put=Write(
        PLATFORM_WRITE,
        touches=[Merchant],
        body=lambda w, t: {"code": w.a.merchant.code, "name": "甲商家（改）"},
    ),
    patch=Write(PLATFORM_WRITE, body={"contact_email": "shop-a@example.com"}, touches=[Merchant]),
)


# Consumers: a consumer sees themself; merchants see none here (they see order snapshots).
def _consumer(w, side):
    return Target(kwargs={"pk": side.consumer.pk}, row=side.consumer.pk)


CONSUMER_READERS = CONSUMER_A | PLATFORM_READ
register(
    "consumer-list",
    setup=_consumer,
    get=Read(CONSUMER_READERS),
    post=Write(
        PLATFORM_WRITE,
        touches=[ConsumerProfile],
        body={"username": "consumer-new", "name": "王五", "phone": "13900001111"},
    ),
)
register(
    "consumer-lookup",
    setup=_consumer,
    # A read in a POST body (the phone stays out of URLs and logs): everyone may ask, each finds
    # only whom they may see (aftersales/tests/test_pii_reveal.py checks the scoping).
    post=Write(
        SIGNED_IN,
        body={"phone": "13800000000"},
        touches=[ConsumerProfile],
        status=(200,),
        reads_only=True,
    ),
)
register(
    "consumer-detail",
    setup=_consumer,
    get=Read(CONSUMER_READERS),
    patch=Write(PLATFORM_WRITE, body={"credit_score": 321}, touches=[ConsumerProfile]),
)


# API keys: platform staff issue and revoke; a key sees only itself (platform keys included).
def _api_key(w, side):
    if side.code == "a":
        key = w.api_keys["merchant_key_a"]
    else:
        from aftersales.tests.factories import api_key

        key = api_key("merchant", side.merchant, name="shop-b key")[0]
    return Target(kwargs={"pk": key.pk}, row=key.pk)


API_KEY_READERS = PLATFORM_STAFF_READ | {"merchant_key_a"}
register(
    "api-key-list",
    setup=_api_key,
    get=Read(API_KEY_READERS),
    post=Write(
        PLATFORM_WRITE,
        touches=[ApiKey],
        body=lambda w, t: {"name": "新密钥", "scope": "merchant", "merchant": w.a.merchant.pk},
    ),
)
register("api-key-detail", setup=_api_key, get=Read(API_KEY_READERS))
register(
    "api-key-revoke",
    setup=_api_key,
    visible=API_KEY_READERS,
    post=Write(PLATFORM_STAFF_WRITE, body={"reason": "泄露"}, touches=[ApiKey]),
)


# Policies: platform roles read; writers add versions.
def _policy(w, side):
    from aftersales.policies import policy_set

    version = policy_set(
        key="returns.auto_approve_hours",
        value=72 if side.code == "a" else 96,
        scope="merchant",
        scope_id=side.merchant.pk,
        actor=SYSTEM,
    )
    return Target(row=version.pk)


register(
    "policy-list",
    setup=_policy,
    get=Read(PLATFORM_READ),
    post=Write(
        PLATFORM_WRITE,
        touches=[PolicyVersion],
        body={"key": "returns.auto_approve_hours", "value": 24, "scope": "platform"},
    ),
)
register("policy-defaults", get=Read(PLATFORM_READ))

# The consumer's home redirects to the order list; the merchant's is the workbench (issue 14).
register("my:home", get=Read(frozenset({"consumer_a", "consumer_b"}), status=302))
register("merchant:home", get=Read(frozenset({"merchant_a", "merchant_b"})))


# Consumers reveal their own unmasked data; platform staff with a reason (logged, RULES.md D3).
register(
    "consumer-reveal",
    setup=_consumer,
    visible=CONSUMER_READERS,
    # Auditors read the reveal log; revealing needs a permission granted to them by hand.
    post=Write(
        CONSUMER_A | PLATFORM_STAFF_WRITE,
        touches=["aftersales.PiiAccessLog"],
        body={"fields": ["name", "phone"], "reason": "核实身份"},
    ),
)


# -- deadlines, logistics alerts, sandbox clock (aftersales/api/deadlines.py) -----------------
def _deadline(w, side):
    from datetime import timedelta

    from aftersales import clock
    from aftersales.deadlines.models import Deadline

    deadline = Deadline.objects.create(
        subject_type="orders.order",
        subject_id=ord(side.code),
        merchant=side.merchant,
        kind="matrix.check",
        due_at=clock.now() + timedelta(hours=1),
    )
    return Target(kwargs={"pk": deadline.pk}, row=deadline.pk)


register("deadline-list", setup=_deadline, get=Read(MERCHANT_A | PLATFORM_READ))
register("deadline-detail", setup=_deadline, get=Read(MERCHANT_A | PLATFORM_READ))


def _logistics_alert(w, side):
    from orders.models import LogisticsAlert

    alert = LogisticsAlert.objects.create(
        shipment_id=1,
        order_id=1,
        merchant=side.merchant,
        consumer=side.consumer,
        reason="stale",
        tracking_number=f"SF-{side.code}",
    )
    return Target(kwargs={"pk": alert.pk}, row=alert.pk)


ALERT_READERS = CONSUMER_A | MERCHANT_A | PLATFORM_READ
register("logistics-alert-list", setup=_logistics_alert, get=Read(ALERT_READERS))
register("logistics-alert-detail", setup=_logistics_alert, get=Read(ALERT_READERS))

register(
    "sandbox-clock",
    get=Read(PLATFORM_READ),
    post=Write(PLATFORM_WRITE, body={"advance_hours": 1}, touches=["aftersales.ClockOffset"]),
)


# -- notifications and webhooks (aftersales/api/messaging.py) ---------------------------------
def _notification(w, side):
    from aftersales.messaging.models import Notification

    note = Notification.objects.create(
        user=side.consumer_user, event="matrix.check", title=f"通知 {side.code}", body="正文"
    )
    return Target(kwargs={"pk": note.pk}, row=note.pk)


OWN_INBOX = frozenset({"consumer_a"})
register("notification-list", setup=_notification, get=Read(OWN_INBOX))
register("notification-detail", setup=_notification, get=Read(OWN_INBOX))
register(
    "notification-read",
    setup=_notification,
    visible=OWN_INBOX,
    post=Write(OWN_INBOX, touches=["aftersales.Notification"]),
)
register(
    "notification-read-all",
    setup=_notification,
    post=Write(OWN_INBOX, touches=["aftersales.Notification"], callers_own=True),
)


def _preference_of_consumer_a(w, target):
    from aftersales.messaging.models import NotificationPreference

    return list(
        NotificationPreference.objects.filter(user=w.a.consumer_user).values_list(
            "email_enabled", "sms_enabled"
        )
    )


register(
    "notification-preferences",
    get=Read(PEOPLE),
    put=Write(
        OWN_INBOX, body={"sms_enabled": True}, snapshot=_preference_of_consumer_a, callers_own=True
    ),
)


def _webhook_endpoint(w, side):
    from aftersales.messaging.models import WebhookEndpoint

    endpoint = WebhookEndpoint.objects.create(
        scope="merchant",
        merchant=side.merchant,
        url=f"https://hooks.example.com/{side.code}",
        event_types=["*"],
        secret="whsec_matrix",
    )
    return Target(kwargs={"pk": endpoint.pk}, row=endpoint.pk, extra={"endpoint": endpoint})


HOOK_READERS = MERCHANT_A | PLATFORM_READ
HOOK_WRITERS = MERCHANT_A | PLATFORM_WRITE
HOOK_CHANGES = ("aftersales.WebhookEndpoint",)
register(
    "webhook-endpoint-list",
    setup=_webhook_endpoint,
    get=Read(HOOK_READERS),
    # Merchant owners manage their own merchant's endpoints: B's owner creates one for B.
    post=Write(
        HOOK_WRITERS | {"merchant_b"},
        touches=HOOK_CHANGES,
        body={"url": "https://hooks.example.com/new", "event_types": ["refund.*"]},
    ),
)
register(
    "webhook-endpoint-detail",
    setup=_webhook_endpoint,
    get=Read(HOOK_READERS),
    put=Write(
        HOOK_WRITERS,
        touches=HOOK_CHANGES,
        body={"url": "https://hooks.example.com/put", "event_types": ["*"]},
    ),
    patch=Write(HOOK_WRITERS, touches=HOOK_CHANGES, body={"description": "改"}),
    delete=Write(HOOK_WRITERS, touches=HOOK_CHANGES),
)
register(
    "webhook-endpoint-rotate-secret",
    setup=_webhook_endpoint,
    visible=HOOK_READERS,
    post=Write(HOOK_WRITERS, touches=HOOK_CHANGES),
)


def _webhook_delivery(w, side):
    from aftersales.casefile.models import DomainEvent
    from aftersales.messaging.models import WebhookDelivery

    endpoint = _webhook_endpoint(w, side).extra["endpoint"]
    event = DomainEvent.objects.create(
        name="order.created", subject_type="orders.order", subject_id=1, merchant=side.merchant
    )
    delivery = WebhookDelivery.objects.create(
        endpoint=endpoint, event=event, event_type=event.name, status="failed"
    )
    return Target(kwargs={"pk": delivery.pk}, row=delivery.pk)


register("webhook-delivery-list", setup=_webhook_delivery, get=Read(HOOK_READERS))
register("webhook-delivery-detail", setup=_webhook_delivery, get=Read(HOOK_READERS))
register(
    "webhook-delivery-replay",
    setup=_webhook_delivery,
    visible=HOOK_READERS,
    post=Write(HOOK_WRITERS, touches=["aftersales.WebhookDelivery"]),
)


# Provider callbacks authenticate by their HMAC signature, not by a session or an API key.
register(
    "callback",
    setup=lambda w, side: Target(kwargs={"provider": "payment"}),
    post=Write(NOBODY, body={"id": "evt-matrix"}, touches=["aftersales.InboundCallback"]),
    own_auth=True,
)
