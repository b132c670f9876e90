"""The kinds of message people receive, for the message centre's filter and the choice of
channels per kind (``NotificationPreference.kinds``).

Every event sent as a notification belongs to one kind, by its name: an exact entry of
``EVENT_KINDS`` first, then the part before the first dot (``return.*`` → returns). The kernel
names the events of the apps above it only as strings (it imports none of them); the test
``aftersales/tests/test_notification_templates.py`` checks that every event sent has a kind and
a template in both languages.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _


class MessageKind(models.TextChoices):
    RETURNS = "returns", _("退货与换货")
    REFUNDS = "refunds", _("退款")
    ARBITRATION = "arbitration", _("平台仲裁")
    REPAIRS = "repairs", _("维修与三包")
    COMPLAINTS = "complaints", _("投诉")
    REMINDERS = "reminders", _("期限提醒")
    LOGISTICS = "logistics", _("物流")
    ACCOUNT = "account", _("账户与系统")


EVENT_KINDS = {
    "return.refund_started": MessageKind.REFUNDS,
    "return.refunded": MessageKind.REFUNDS,
    "return.express_advanced": MessageKind.REFUNDS,
    "return.express_clawback": MessageKind.REFUNDS,
    "return.shipping_reimbursed": MessageKind.REFUNDS,
    "return.insurance_paid": MessageKind.REFUNDS,
    "return.insurance_failed": MessageKind.REFUNDS,
    "return.difference_paid": MessageKind.REFUNDS,
    "return.difference_payment_failed": MessageKind.REFUNDS,
    "return.difference_refunded": MessageKind.REFUNDS,
    "return.difference_refund_failed": MessageKind.REFUNDS,
    "return.escalated": MessageKind.ARBITRATION,
    "return.arbitration_decided": MessageKind.ARBITRATION,
    "return.arbitration_answer_overdue": MessageKind.ARBITRATION,
    "return.close_reminder": MessageKind.REMINDERS,
    "repair.limit_reminder": MessageKind.REMINDERS,
    "repair.timeout": MessageKind.REMINDERS,
}
PREFIX_KINDS = {
    "return": MessageKind.RETURNS,
    "express": MessageKind.REFUNDS,
    "repair": MessageKind.REPAIRS,
    "warranty_card": MessageKind.REPAIRS,
    "warranty_escalation": MessageKind.REPAIRS,
    "repair_provider": MessageKind.ACCOUNT,
    "complaint": MessageKind.COMPLAINTS,
    "logistics": MessageKind.LOGISTICS,
    "webhook": MessageKind.ACCOUNT,
    "notification": MessageKind.ACCOUNT,
}


def event_kind(event: str) -> str:
    """The kind of message ``event`` is (``account`` for an event no table names)."""
    kind = EVENT_KINDS.get(event) or PREFIX_KINDS.get(event.split(".", 1)[0])
    return str(kind or MessageKind.ACCOUNT)


def kind_choices():
    """``[(code, label)]`` of every kind, in the order pages list them."""
    return list(MessageKind.choices)


def kind_channels(email_enabled, sms_enabled, kinds, kind):
    """``(email, sms)`` for a message of ``kind``: the user's choice for that kind where they
    made one (``NotificationPreference.kinds``), else their choice for every kind."""
    chosen = (kinds or {}).get(kind) or {}
    return bool(chosen.get("email", email_enabled)), bool(chosen.get("sms", sms_enabled))
