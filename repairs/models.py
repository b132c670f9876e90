"""三包 (three guarantees) catalog — standard 6.5.2, RULES.md "Three guarantees".

The catalog says, per 三包 category (``orders.Category.sanbao_code``), how long the whole unit and
each main part are covered (G9), how fast goods depreciate when a refund replaces an exchange (G8)
and after how many days without manufacturer parts a repair turns into an exchange (G5). Staff
edit it in the admin through ``repairs.services.catalog_entry_save``; every change is kept in
``SanbaoCatalogChange`` with who and when.
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from aftersales import clock


class SanbaoCatalogEntry(models.Model):
    """One 三包 category with its real periods (部分商品修理更换退货责任规定, annex)."""

    code = models.SlugField(
        _("编码"),
        max_length=40,
        unique=True,
        help_text=_("与商品类目的“三包目录”编码一致，如 lcd_tv"),
    )
    name = models.CharField(_("名称"), max_length=80)
    whole_unit_months = models.PositiveSmallIntegerField(_("整机三包期（月）"))
    main_parts = models.JSONField(
        _("主要部件"),
        default=list,
        blank=True,
        help_text=_('主要部件及其三包期，形如 [{"name": "显示屏", "months": 36}]'),
    )
    special_cases = models.TextField(_("特殊情况说明"), blank=True)
    service_standard = models.TextField(_("服务标准"), blank=True)
    daily_depreciation_rate = models.DecimalField(
        _("日折旧率（%）"),
        max_digits=6,
        decimal_places=3,
        null=True,
        blank=True,
        help_text=_("百分数，0.100 表示每日 0.10%；留空表示未知，此时不计算折旧退货金额（G8）"),
    )
    parts_shortage_limit_days = models.PositiveSmallIntegerField(
        _("缺件换货期限（日）"),
        default=90,
        help_text=_("送修后超过此天数仍因缺少配件未修好，由销售者免费换货（G5；移动电话 60 日）"),
    )
    version = models.PositiveIntegerField(_("版本"), default=1, editable=False)
    updated_at = models.DateTimeField(_("更新时间"), default=clock.now, editable=False)

    class Meta:
        verbose_name = _("三包目录条目")
        verbose_name_plural = _("三包目录")
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(daily_depreciation_rate__isnull=True)
                | models.Q(daily_depreciation_rate__gte=0, daily_depreciation_rate__lte=100),
                name="sanbao_rate_is_a_percentage",
            ),
            models.CheckConstraint(
                condition=models.Q(whole_unit_months__gt=0), name="sanbao_whole_unit_positive"
            ),
            models.CheckConstraint(
                condition=models.Q(parts_shortage_limit_days__gt=0),
                name="sanbao_parts_limit_positive",
            ),
        ]

    def __str__(self):
        return f"{self.name}（{self.code}）"

    @property
    def rate_known(self):
        return self.daily_depreciation_rate is not None


class SanbaoCatalogChange(models.Model):
    """One saved version of a catalog entry: a full snapshot, what changed, who and when."""

    entry = models.ForeignKey(
        SanbaoCatalogEntry,
        on_delete=models.CASCADE,
        related_name="changes",
        verbose_name=_("目录条目"),
    )
    version = models.PositiveIntegerField(_("版本"))
    snapshot = models.JSONField(_("快照"))
    changed_fields = models.JSONField(_("变更字段"), default=dict, blank=True)
    note = models.CharField(_("说明"), max_length=200, blank=True)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("操作人"),
    )
    actor_label = models.CharField(_("操作方"), max_length=150, blank=True)
    changed_at = models.DateTimeField(_("变更时间"), default=clock.now, editable=False)

    class Meta:
        verbose_name = _("三包目录变更记录")
        verbose_name_plural = _("三包目录变更记录")
        ordering = ["entry", "-version"]
        constraints = [
            models.UniqueConstraint(
                fields=["entry", "version"], name="sanbao_change_version_unique"
            ),
        ]

    def __str__(self):
        return f"{self.entry_id} v{self.version}"


def catalog_facts(entry):
    """The pure-rule view (``repairs.rules.CatalogFacts``) of a catalog entry."""
    from .rules import CatalogFacts, PartPeriod

    return CatalogFacts(
        code=entry.code,
        whole_unit_months=entry.whole_unit_months,
        parts=tuple(PartPeriod(p["name"], p["months"]) for p in entry.main_parts or []),
        daily_rate=entry.daily_depreciation_rate,
        parts_limit_days=entry.parts_shortage_limit_days,
    )
