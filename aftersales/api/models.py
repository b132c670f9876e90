"""The API's own rows: stored first responses of ``Idempotency-Key`` requests."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from aftersales import clock


class IdempotencyRecord(models.Model):
    """A stored first response for an ``Idempotency-Key`` (Stripe semantics)."""

    owner = models.CharField(max_length=80, verbose_name=_("调用方"))
    key = models.CharField(max_length=255, verbose_name=_("幂等键"))
    method = models.CharField(max_length=10, verbose_name=_("请求方法"))
    path = models.CharField(max_length=500, verbose_name=_("路径"))
    request_hash = models.CharField(max_length=64, verbose_name=_("请求摘要"))
    status_code = models.PositiveSmallIntegerField(null=True, verbose_name=_("响应状态码"))
    response_body = models.BinaryField(null=True, verbose_name=_("响应内容"))
    content_type = models.CharField(max_length=100, blank=True, verbose_name=_("内容类型"))
    created_at = models.DateTimeField(default=clock.now, editable=False, verbose_name=_("创建时间"))

    class Meta:
        verbose_name = _("幂等记录")
        verbose_name_plural = _("幂等记录")
        constraints = [
            models.UniqueConstraint(fields=["owner", "key"], name="idempotency_owner_key")
        ]

    def __str__(self):
        return f"{self.owner} {self.method} {self.path} [{self.key}]"
