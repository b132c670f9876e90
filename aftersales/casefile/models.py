"""The case file's rows: the timeline of every case and the published domain events.

Who acted is kept by reference (``aftersales.User``, ``aftersales.ApiKey``, ``aftersales.Merchant``
by label): the case file sits below tenancy and learns about the actor only through
``actor.timeline_fields()``.
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from aftersales import clock


class ActorKind(models.TextChoices):
    """Who did something, as recorded on timeline events."""

    CONSUMER = "consumer", _("消费者")
    MERCHANT = "merchant", _("商家")
    PLATFORM = "platform", _("平台")
    INTEGRATOR = "integrator", _("集成方")
    PROVIDER = "provider", _("维修网点")
    SYSTEM = "system", _("系统")


class TimelineEvent(models.Model):
    """One step in a case's history: who, what, from which status to which, why, when."""

    subject_type = models.CharField(max_length=60, verbose_name=_("对象类型"))
    subject_id = models.BigIntegerField(verbose_name=_("对象编号"))
    merchant = models.ForeignKey(
        "aftersales.Merchant",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("商家"),
    )
    verb = models.CharField(_("动作"), max_length=60)
    from_status = models.CharField(max_length=40, blank=True, verbose_name=_("原状态"))
    to_status = models.CharField(max_length=40, blank=True, verbose_name=_("新状态"))
    reason = models.TextField(_("原因"), blank=True)
    data = models.JSONField(default=dict, blank=True, verbose_name=_("数据"))
    actor_kind = models.CharField(
        max_length=12, choices=ActorKind.choices, verbose_name=_("操作者类型")
    )
    actor_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("操作用户"),
    )
    actor_api_key = models.ForeignKey(
        "aftersales.ApiKey",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("操作密钥"),
    )
    actor_label = models.CharField(max_length=150, blank=True, verbose_name=_("操作者"))
    occurred_at = models.DateTimeField(_("发生时间"), default=clock.now)

    class Meta:
        verbose_name = _("时间线事件")
        verbose_name_plural = _("时间线事件")
        indexes = [models.Index(fields=["subject_type", "subject_id", "occurred_at"])]
        ordering = ["occurred_at", "id"]

    def __str__(self):
        return f"{self.subject_type}#{self.subject_id} {self.verb}"


class DomainEvent(models.Model):
    """A published domain event (``refund.succeeded``); the webhook outbox reads these rows."""

    name = models.CharField(max_length=80, db_index=True, verbose_name=_("事件名"))
    subject_type = models.CharField(max_length=60, verbose_name=_("对象类型"))
    subject_id = models.BigIntegerField(verbose_name=_("对象编号"))
    merchant = models.ForeignKey(
        "aftersales.Merchant",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("商家"),
    )
    payload = models.JSONField(default=dict, verbose_name=_("内容"))
    occurred_at = models.DateTimeField(default=clock.now, verbose_name=_("发生时间"))

    class Meta:
        verbose_name = _("领域事件")
        verbose_name_plural = _("领域事件")
        indexes = [models.Index(fields=["subject_type", "subject_id"])]

    def __str__(self):
        return f"{self.name} {self.subject_type}#{self.subject_id}"
