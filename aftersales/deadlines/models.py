"""The deadline engine's rows, the holiday calendar and the sandbox clock's offset."""

from datetime import timedelta

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from aftersales import clock
from aftersales.deadlines.registry import deadline_description
from aftersales.tenancy.models import Merchant


class Deadline(models.Model):
    """Something that happens to a case at ``due_at`` unless it is cancelled first.

    The sweep (``aftersales.deadlines.engine.deadline_sweep``) claims due pending rows with
    ``FOR UPDATE SKIP LOCKED`` and runs the handler registered for ``kind`` in the same
    transaction as the row's move to ``done``, so each deadline is acted on exactly once.
    A paused deadline keeps what was left in ``remaining``; a reminder is its own row of kind
    ``<kind>.reminder`` pointing at its ``parent``.
    """

    class State(models.TextChoices):
        PENDING = "pending", _("待执行")
        PAUSED = "paused", pgettext_lazy("deadline", "已暂停")
        DONE = "done", _("已执行")
        CANCELLED = "cancelled", _("已取消")
        FAILED = "failed", _("执行失败")

    subject_type = models.CharField(_("对象类型"), max_length=60)
    subject_id = models.BigIntegerField(_("对象编号"))
    merchant = models.ForeignKey(
        Merchant,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("商家"),
    )
    kind = models.CharField(_("类型"), max_length=80)
    due_at = models.DateTimeField(_("到期时间"))
    state = models.CharField(_("状态"), max_length=10, choices=State.choices, default=State.PENDING)
    result = models.JSONField(_("执行结果"), default=dict, blank=True)
    data = models.JSONField(_("参数"), default=dict, blank=True)
    parent = models.ForeignKey(
        "self",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="reminders",
        verbose_name=_("所属期限"),
    )
    policy_key = models.CharField(_("策略"), max_length=60, blank=True)
    policy_version_id = models.BigIntegerField(_("策略版本"), null=True, blank=True)
    policy_value = models.JSONField(_("策略取值"), null=True, blank=True)
    paused_at = models.DateTimeField(pgettext_lazy("deadline", "暂停时间"), null=True, blank=True)
    remaining = models.DurationField(_("剩余时长"), null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(_("尝试次数"), default=0)
    last_error = models.TextField(_("最近错误"), blank=True)
    created_at = models.DateTimeField(_("创建时间"), default=clock.now, editable=False)
    completed_at = models.DateTimeField(_("完成时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("期限")
        verbose_name_plural = _("期限")
        ordering = ["due_at", "id"]
        indexes = [
            # The sweep's claim: pending rows in (due_at, id) order, read straight off the index.
            models.Index(
                fields=["due_at", "id"], condition=Q(state="pending"), name="deadline_pending_due"
            ),
            # Few indexes, none on ``state`` itself: every sweep update rewrites each of them.
            models.Index(fields=["subject_type", "subject_id"], name="deadline_subject"),
            models.Index(
                fields=["merchant", "due_at"],
                condition=Q(state="pending"),
                name="deadline_merchant_pending",
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(state__in=["pending", "paused", "done", "cancelled", "failed"]),
                name="deadline_state_valid",
            ),
            models.CheckConstraint(
                condition=~Q(state="paused") | Q(remaining__isnull=False),
                name="deadline_paused_has_remaining",
            ),
            # One open deadline per case and kind (reminders may be several).
            models.UniqueConstraint(
                fields=["subject_type", "subject_id", "kind"],
                condition=Q(state__in=["pending", "paused"]) & ~Q(kind__endswith=".reminder"),
                name="deadline_one_open_per_kind",
            ),
        ]

    def __str__(self):
        return f"{self.kind} {self.subject_type}#{self.subject_id} @ {self.due_at:%Y-%m-%d %H:%M}"

    @property
    def is_reminder(self):
        return self.kind.endswith(".reminder")

    @property
    def description(self):
        """What will happen at ``due_at``, in Chinese (from the handler's registration)."""
        return deadline_description(self.kind)


class Holiday(models.Model):
    """One exception to the Monday–Friday week: a public holiday, or a make-up working day
    (调休) on a weekend. Weekdays not listed work, weekends not listed rest (RULES.md "Time")."""

    class Kind(models.TextChoices):
        HOLIDAY = "holiday", _("法定节假日")
        WORKDAY = "workday", _("调休工作日")

    date = models.DateField(_("日期"), unique=True)
    kind = models.CharField(_("类型"), max_length=10, choices=Kind.choices)
    name = models.CharField(_("名称"), max_length=80, blank=True)
    updated_at = models.DateTimeField(_("更新时间"), default=clock.now)

    class Meta:
        verbose_name = _("节假日")
        verbose_name_plural = _("节假日日历")
        ordering = ["date"]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=["holiday", "workday"]), name="holiday_kind_valid"
            ),
        ]

    def __str__(self):
        return f"{self.date} {self.get_kind_display()} {self.name}"


class ClockOffset(models.Model):
    """The sandbox clock's offset from real time, shared by web processes and workers."""

    offset_seconds = models.BigIntegerField(default=0, verbose_name=_("偏移秒数"))
    updated_at = models.DateTimeField(null=True, blank=True, verbose_name=_("更新时间"))
    updated_by = models.CharField(max_length=150, blank=True, verbose_name=_("更新人"))

    class Meta:
        verbose_name = _("沙箱时钟")
        verbose_name_plural = _("沙箱时钟")

    def __str__(self):
        return f"{self.offset_seconds:+d}s"

    @classmethod
    def current(cls):
        row = cls.objects.filter(pk=1).values_list("offset_seconds", flat=True).first()
        return timedelta(seconds=row or 0)
