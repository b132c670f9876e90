"""The API's own rows: stored first responses of ``Idempotency-Key`` requests."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from aftersales import clock


class IdempotencyRecord(models.Model):
    """A stored first response for an ``Idempotency-Key`` (Stripe semantics)."""

    owner = models.CharField(max_length=80)
    key = models.CharField(max_length=255)
    method = models.CharField(max_length=10)
    path = models.CharField(max_length=500)
    request_hash = models.CharField(max_length=64)
    status_code = models.PositiveSmallIntegerField(null=True)
    response_body = models.BinaryField(null=True)
    content_type = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(default=clock.now, editable=False)

    class Meta:
        verbose_name = _("幂等记录")
        verbose_name_plural = _("幂等记录")
        constraints = [
            models.UniqueConstraint(fields=["owner", "key"], name="idempotency_owner_key")
        ]

    def __str__(self):
        return f"{self.owner} {self.method} {self.path} [{self.key}]"
