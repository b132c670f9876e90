"""Complaints (standard 6.6): the complaint, the grading matrix, the hash-chained records and
the global Merkle log they feed, its signed checkpoints and integrity incidents.

Workflow lives in ``complaints/services``; the pure rules (grading, C5, which clocks run in
which state, the hashing) in ``complaints/rules.py`` and ``complaints/merkle.py``.
"""

from django.contrib import admin
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from aftersales import clock


class ComplaintStatus(models.TextChoices):
    RECEIVED = "received", _("已受理")
    MERCHANT_HANDLING = "merchant_handling", _("商家处理中")
    WAITING_CONSUMER = "waiting_consumer", _("等待消费者补充")
    PLATFORM_MEDIATION = "platform_mediation", _("平台调解中")
    THIRD_PARTY_MEDIATION = "third_party_mediation", _("第三方调解中")
    RESOLVED = "resolved", _("已解决")
    CLOSED = "closed", _("已关闭")


class ComplaintSubject(models.TextChoices):
    ORDER = "order", _("订单")
    RETURN = "return", _("退换货")
    REPAIR = "repair", _("维修")
    CONDUCT = "conduct", _("商家行为")


class ComplaintChannel(models.TextChoices):
    SELF_SERVICE = "self_service", _("自助投诉页面")
    API = "api", _("开放接口")
    HOTLINE = "hotline", _("客服热线（员工录入）")
    EMAIL = "email", _("电子邮件")


class ComplaintIssue(models.TextChoices):
    PRODUCT_QUALITY = "product_quality", _("商品质量")
    DELIVERY = "delivery", _("物流配送")
    REFUND = "refund", _("退款")
    AFTER_SALES = "after_sales", _("售后服务")
    MISLEADING = "misleading", _("虚假宣传")
    CONDUCT = "conduct", _("服务态度与商家行为")
    PERSONAL_SAFETY = "personal_safety", _("人身财产安全")
    OTHER = "other", _("其他")


class ComplaintGrade(models.TextChoices):
    P1 = "P1", _("P1 紧急")
    P2 = "P2", _("P2 高")
    P3 = "P3", _("P3 中")
    P4 = "P4", _("P4 低")


class ComplaintOutcome(models.TextChoices):
    RESOLVED = "resolved", _("已解决")
    DECLINED = "declined", _("不予受理")


class GradingRule(models.Model):
    """One row of the grading matrix (RULES.md C1): a complaint matching every condition that
    is set (blank conditions match anything) gets ``grade``; rows are tried by ``position``,
    the first that matches wins, and a complaint no row matches is P4. Staff edit the rows in
    the console; a complaint keeps a snapshot of the row that graded it."""

    position = models.PositiveIntegerField(_("顺序"), unique=True)
    issue = models.CharField(
        _("投诉性质"), max_length=20, choices=ComplaintIssue.choices, blank=True
    )
    amount_from = models.DecimalField(
        _("金额下限（含）"), max_digits=12, decimal_places=2, null=True, blank=True
    )
    amount_below = models.DecimalField(
        _("金额上限（不含）"), max_digits=12, decimal_places=2, null=True, blank=True
    )
    safety_risk = models.BooleanField(_("涉及安全风险"), null=True, blank=True)
    repeat = models.BooleanField(_("重复投诉"), null=True, blank=True)
    media_or_regulator = models.BooleanField(_("媒体或监管部门介入"), null=True, blank=True)
    grade = models.CharField(_("等级"), max_length=2, choices=ComplaintGrade.choices)
    note = models.CharField(_("说明"), max_length=200, blank=True)
    updated_at = models.DateTimeField(_("更新时间"), default=clock.now)

    class Meta:
        verbose_name = _("投诉分级规则")
        verbose_name_plural = _("投诉分级矩阵")
        ordering = ["position"]
        constraints = [
            models.CheckConstraint(
                condition=Q(grade__in=["P1", "P2", "P3", "P4"]), name="grading_rule_grade_valid"
            ),
        ]

    def __str__(self):
        return f"#{self.position} → {self.grade}"


class Complaint(models.Model):
    """A consumer's complaint about an order, a return, a repair or a merchant's conduct
    (standard 6.6.1). One open complaint per subject and issue: a repeat is counted on it.

    ``subject_key`` names the subject (``order:12``, ``return:5``, ``repair:3``,
    ``merchant:7``) so that the one-open-per-subject-and-issue rule is one database constraint.
    """

    Status = ComplaintStatus
    Subject = ComplaintSubject
    Channel = ComplaintChannel
    Issue = ComplaintIssue
    Grade = ComplaintGrade
    Outcome = ComplaintOutcome

    subject_kind = models.CharField(_("投诉对象"), max_length=10, choices=Subject.choices)
    subject_key = models.CharField(_("对象标识"), max_length=40)
    order = models.ForeignKey(
        "orders.Order",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("订单"),
    )
    return_request = models.ForeignKey(
        "returns.ReturnRequest",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("退换货申请"),
    )
    repair = models.ForeignKey(
        "repairs.RepairOrder",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("维修单"),
    )
    merchant = models.ForeignKey(
        "aftersales.Merchant",
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("商家"),
        db_index=False,
    )
    consumer = models.ForeignKey(
        "aftersales.ConsumerProfile",
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("消费者"),
        db_index=False,
    )
    channel = models.CharField(_("投诉渠道"), max_length=15, choices=Channel.choices)
    issue = models.CharField(_("投诉性质"), max_length=20, choices=Issue.choices)
    description = models.TextField(_("投诉内容"))
    amount = models.DecimalField(_("涉及金额"), max_digits=12, decimal_places=2, default=0)
    safety_risk = models.BooleanField(_("涉及安全风险"), default=False)
    media_or_regulator = models.BooleanField(_("媒体或监管部门介入"), default=False)
    harm_known_on = models.DateField(_("知道权益受损日期"), null=True, blank=True)
    is_repeat = models.BooleanField(_("重复投诉"), default=False)
    repeat_count = models.PositiveIntegerField(_("重复提交次数"), default=0)
    grade = models.CharField(_("等级"), max_length=2, choices=Grade.choices)
    grading_rule = models.ForeignKey(
        GradingRule,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("分级规则"),
    )
    grading_basis = models.JSONField(_("分级依据"), default=dict, blank=True)
    status = models.CharField(
        _("状态"), max_length=25, choices=Status.choices, default=Status.RECEIVED
    )
    status_changed_at = models.DateTimeField(_("状态变更时间"), default=clock.now)
    # The state a wait for the consumer interrupted: the consumer's reply returns there.
    paused_from = models.CharField(_("暂停前状态"), max_length=25, blank=True)
    paused_at = models.DateTimeField(_("暂停时间"), null=True, blank=True)
    negotiation_started_at = models.DateTimeField(_("协商开始时间"), null=True, blank=True)
    negotiation_paused_days = models.PositiveIntegerField(_("协商暂停工作日数"), default=0)
    platform_started_at = models.DateTimeField(_("平台介入时间"), null=True, blank=True)
    platform_paused_days = models.PositiveIntegerField(_("平台处理暂停工作日数"), default=0)
    first_responded_at = models.DateTimeField(_("首次响应时间"), null=True, blank=True)
    first_response_breached_at = models.DateTimeField(_("首次响应超时时间"), null=True, blank=True)
    escalated_at = models.DateTimeField(_("升级平台时间"), null=True, blank=True)
    outcome = models.CharField(_("处理结果"), max_length=10, choices=Outcome.choices, blank=True)
    conclusion = models.TextField(_("处理结论"), blank=True)
    decline_reason = models.TextField(_("不予受理原因"), blank=True)
    received_at = models.DateTimeField(_("受理时间"), default=clock.now)
    resolved_at = models.DateTimeField(_("解决时间"), null=True, blank=True)
    closed_at = models.DateTimeField(_("关闭时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("投诉")
        verbose_name_plural = _("投诉")
        ordering = ["-received_at", "-id"]
        indexes = [
            models.Index(fields=["merchant", "-id"], name="complaint_merchant"),
            models.Index(fields=["consumer", "-id"], name="complaint_consumer"),
            models.Index(fields=["status", "grade"], name="complaint_queue"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=ComplaintStatus.values), name="complaint_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(grade__in=ComplaintGrade.values), name="complaint_grade_valid"
            ),
            models.CheckConstraint(
                condition=Q(subject_kind__in=ComplaintSubject.values),
                name="complaint_subject_valid",
            ),
            models.CheckConstraint(
                condition=Q(channel__in=ComplaintChannel.values), name="complaint_channel_valid"
            ),
            models.CheckConstraint(
                condition=Q(outcome__in=["", *ComplaintOutcome.values]),
                name="complaint_outcome_valid",
            ),
            # One complaint per subject and issue while it is open: a repeat joins it.
            models.UniqueConstraint(
                fields=["subject_key", "issue"],
                condition=~Q(status="closed"),
                name="complaint_one_open_per_subject_issue",
            ),
        ]

    def __str__(self):
        return _("投诉 %(number)s（%(grade)s，%(status)s）") % {
            "number": self.number,
            "grade": self.grade,
            "status": self.get_status_display(),
        }

    @property
    @admin.display(description=_("投诉编号"))
    def number(self):
        """The number shown to people."""
        return f"TS{self.pk:08d}" if self.pk else ""


class ComplaintRecord(models.Model):
    """One step of a complaint in its append-only hash chain (RULES.md C6, standard 6.6.2).

    ``hash`` is SHA-256 over the entry's canonical form including ``prev_hash`` (the previous
    entry's hash; 64 zeros for the first), so editing, deleting, inserting or reordering any
    entry breaks every hash after it. The database refuses UPDATE and DELETE on this table
    (triggers in the migration, on PostgreSQL and SQLite). Each entry's hash is then a leaf of
    the global log (``LogLeaf``).
    """

    complaint = models.ForeignKey(
        Complaint,
        on_delete=models.PROTECT,
        related_name="records",
        verbose_name=_("投诉"),
        db_index=False,
    )
    seq = models.PositiveIntegerField(_("序号"))
    actor_kind = models.CharField(_("操作方类型"), max_length=12)
    actor_label = models.CharField(_("操作方"), max_length=150)
    verb = models.CharField(_("动作"), max_length=60)
    data = models.JSONField(_("内容"), default=dict, blank=True)
    attachment_sha256 = models.CharField(_("附件 SHA-256"), max_length=64, blank=True)
    occurred_at = models.DateTimeField(_("发生时间"))
    prev_hash = models.CharField(_("前一条哈希"), max_length=64)
    hash = models.CharField(_("哈希"), max_length=64)

    class Meta:
        verbose_name = _("投诉记录")
        verbose_name_plural = _("投诉记录（哈希链）")
        ordering = ["complaint", "seq"]
        constraints = [
            models.UniqueConstraint(fields=["complaint", "seq"], name="complaint_record_seq"),
        ]

    def __str__(self):
        return f"{self.complaint_id}#{self.seq} {self.verb}"


class LogLeaf(models.Model):
    """One leaf of the global Merkle log (RFC 9162): the hash of a complaint's chain head at
    the moment it was appended. ``index`` runs 0, 1, 2 … without gaps. Append-only (triggers)."""

    index = models.BigIntegerField(_("叶序号"), unique=True)
    complaint = models.ForeignKey(
        Complaint, on_delete=models.PROTECT, related_name="+", verbose_name=_("投诉")
    )
    seq = models.PositiveIntegerField(_("记录序号"))
    entry_hash = models.CharField(_("记录哈希"), max_length=64)

    class Meta:
        verbose_name = _("日志叶")
        verbose_name_plural = _("投诉记录日志叶")
        ordering = ["index"]
        constraints = [
            models.UniqueConstraint(fields=["complaint", "seq"], name="log_leaf_entry"),
        ]

    def __str__(self):
        return f"leaf {self.index}"


class LogNode(models.Model):
    """The hash of one complete, aligned subtree of the log: ``level`` 0 are the leaf hashes,
    level ``l`` covers leaves ``[index·2^l, (index+1)·2^l)``. Kept so that a root or an
    inclusion proof reads O(log n) rows. Append-only (triggers)."""

    # One integer per position (``node_key``), so that a proof's O(log n) nodes are one
    # ``IN`` lookup on one unique index.
    key = models.BigIntegerField(_("位置"), unique=True)
    level = models.PositiveSmallIntegerField(_("层"))
    index = models.BigIntegerField(_("序号"))
    hash = models.CharField(_("哈希"), max_length=64)

    class Meta:
        verbose_name = _("日志节点")
        verbose_name_plural = _("投诉记录日志节点")

    def __str__(self):
        return f"node {self.level}/{self.index}"


def node_key(level, index):
    """The ``LogNode.key`` of the subtree at ``level`` and ``index`` (level < 64)."""
    return (index << 6) | level


class LogHead(models.Model):
    """The log's size: the one row every append locks, so leaves get gapless indexes."""

    size = models.BigIntegerField(_("叶数"), default=0)

    class Meta:
        verbose_name = _("日志头")
        verbose_name_plural = _("日志头")

    def __str__(self):
        return str(self.size)


class Checkpoint(models.Model):
    """A signed statement of the log: tree size, root hash and time, signed with the
    platform's Ed25519 key (published at ``/api/v1/complaint-log/checkpoint/``). Append-only
    (triggers): a log rolled back below a checkpoint, or with another root at its size, is
    detected."""

    tree_size = models.BigIntegerField(_("叶数"))
    root_hash = models.CharField(_("根哈希"), max_length=64)
    timestamp = models.DateTimeField(_("时间"))
    key_id = models.CharField(_("密钥标识"), max_length=16)
    signature = models.CharField(_("签名"), max_length=128)

    class Meta:
        verbose_name = _("签名检查点")
        verbose_name_plural = _("签名检查点")
        ordering = ["-tree_size", "-id"]
        get_latest_by = "id"

    def __str__(self):
        return f"{self.tree_size} {self.root_hash[:12]}"


class IntegrityIncident(models.Model):
    """A mismatch the integrity job found (a chain that no longer recomputes, a leaf that no
    longer matches its entry, a log rolled back below a checkpoint): staff investigate it."""

    class Kind(models.TextChoices):
        CHAIN = "chain", _("记录哈希链不一致")
        LEAF = "leaf", _("日志叶与记录不一致")
        ROLLBACK = "rollback", _("日志回滚或根哈希不符")
        SIGNATURE = "signature", _("检查点签名无效")

    kind = models.CharField(_("类型"), max_length=10, choices=Kind.choices)
    complaint = models.ForeignKey(
        Complaint,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("投诉"),
    )
    detail = models.JSONField(_("详情"), default=dict, blank=True)
    detected_at = models.DateTimeField(_("发现时间"), default=clock.now)
    resolved_at = models.DateTimeField(_("处理时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("完整性事件")
        verbose_name_plural = _("投诉记录完整性事件")
        ordering = ["-detected_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=["chain", "leaf", "rollback", "signature"]),
                name="integrity_incident_kind_valid",
            ),
        ]

    def __str__(self):
        return f"{self.kind} {self.detected_at:%Y-%m-%d %H:%M}"
