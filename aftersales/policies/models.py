"""Policy versions: every value a policy has had, per scope, with who set it."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from aftersales import clock


class PolicyVersion(models.Model):
    """One version of a policy value (RULES.md **policy**) for the platform, a category or a
    merchant. The newest version per (key, scope) is in force; older ones are the history."""

    class Scope(models.TextChoices):
        PLATFORM = "platform", _("平台")
        CATEGORY = "category", _("类目")
        MERCHANT = "merchant", _("商家")

    key = models.CharField(_("策略"), max_length=60, db_index=True)
    scope = models.CharField(
        _("范围"), max_length=10, choices=Scope.choices, default=Scope.PLATFORM
    )
    scope_id = models.BigIntegerField(_("范围对象"), null=True, blank=True)
    value = models.JSONField(_("取值"))
    version = models.PositiveIntegerField(_("版本"))
    note = models.CharField(_("说明"), max_length=200, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("创建人"),
    )
    created_at = models.DateTimeField(_("生效时间"), default=clock.now, editable=False)

    class Meta:
        verbose_name = _("策略版本")
        verbose_name_plural = _("策略版本")
        constraints = [
            models.UniqueConstraint(
                fields=["key", "scope", "scope_id", "version"], name="policy_version_unique"
            ),
            models.UniqueConstraint(
                fields=["key", "version"],
                condition=models.Q(scope="platform"),
                name="policy_platform_version_unique",
            ),
            models.CheckConstraint(
                condition=models.Q(scope="platform", scope_id__isnull=True)
                | (~models.Q(scope="platform") & models.Q(scope_id__isnull=False)),
                name="policy_scope_id_matches_scope",
            ),
        ]
        ordering = ["key", "scope", "scope_id", "-version"]

    def __str__(self):
        return f"{self.key}@{self.scope}:{self.scope_id or '-'} v{self.version}"
