"""Adapters of returns to outside parties: the third-party inspector (R19), the return-shipping
insurer (R8) and the sandbox carrier's journey of return parcels.

The inspector and the insurer are chosen by setting, as dotted paths, like ``orders.adapters``::

    INSPECTION_PROVIDER = "returns.adapters.inspection.SandboxInspectionProvider"
    SHIPPING_INSURER = "returns.adapters.insurance.SandboxShippingInsurer"
"""

from datetime import timedelta

from django.conf import settings
from django.utils.module_loading import import_string

from aftersales import clock

from ..models import InspectionRequest
from .carrier import SandboxReturnJourney

DEFAULT_INSPECTION_PROVIDER = "returns.adapters.inspection.SandboxInspectionProvider"
DEFAULT_SHIPPING_INSURER = "returns.adapters.insurance.SandboxShippingInsurer"


def get_inspection_provider():
    """The configured ``InspectionProvider``."""
    path = getattr(settings, "INSPECTION_PROVIDER", None) or DEFAULT_INSPECTION_PROVIDER
    return import_string(path)()


def get_shipping_insurer():
    """The configured ``ShippingInsurer`` (运费险, R8)."""
    path = getattr(settings, "SHIPPING_INSURER", None) or DEFAULT_SHIPPING_INSURER
    return import_string(path)()


def resubmit_stale_inspections(*, older_than_seconds):
    """Send again inspections still unanswered ``older_than_seconds`` after they were asked
    for: the send after commit can be lost (broker down, worker crashed); the agency
    deduplicates by ``request_id``. Returns how many were resubmitted."""
    inspector = get_inspection_provider()
    cutoff = clock.now() - timedelta(seconds=older_than_seconds)
    ids = list(
        InspectionRequest.objects.filter(
            status=InspectionRequest.Status.REQUESTED,
            provider=inspector.name,
            requested_at__lt=cutoff,
        ).values_list("pk", flat=True)
    )
    for inspection_id in ids:
        inspector.submit(inspection_id)
    return len(ids)


def return_parcel_registered(request_id):
    """After commit of a shipped-back request: a parcel with the sandbox carrier travels back to
    the merchant by itself (``returns.adapters.carrier``); other carriers push their scans
    through ``services.return_parcel_scan_record``."""
    SandboxReturnJourney().registered(request_id)
