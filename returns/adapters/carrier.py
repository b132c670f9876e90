"""The sandbox carrier's journey of a return parcel (R12, R16).

``orders.Shipment`` has no return purpose, so return parcels are tracked on the request. A
parcel shipped back with carrier ``SANDBOX`` (or picked up by it) travels by itself, one step
every ``SANDBOX_CARRIER_STEP_SECONDS``: picked up (the first scan, which may trigger the express
refund) → in transit → signed by the merchant (the request is received). A tracking number
ending in ``LOST`` stops after the first scan: the parcel never arrives (express clawback).
"""

from django.conf import settings

from aftersales import clock
from aftersales.tenancy.actors import SYSTEM
from orders.adapters import sandbox_queue_options

CODE = "SANDBOX"
JOURNEY = [
    ("picked_up", "消费者所在地揽投部", "快递员已揽收退货"),
    ("in_transit", "转运中心", "退货运输中"),
    ("signed", "商家仓库", "商家已签收退货"),
]


class SandboxReturnJourney:
    def step_seconds(self):
        return float(getattr(settings, "SANDBOX_CARRIER_STEP_SECONDS", 5))

    def registered(self, request_id, *, queue=None):
        from ..models import ReturnRequest

        if ReturnRequest.objects.filter(pk=request_id, return_carrier=CODE).exists():
            self.schedule_step(request_id, 0, queue=queue)

    def schedule_step(self, request_id, step, *, queue=None):
        from ..tasks import sandbox_return_step

        sandbox_return_step.apply_async(
            args=[request_id, step], countdown=self.step_seconds(), **sandbox_queue_options(queue)
        )

    def step(self, request_id, step):
        """Push scan number ``step``; returns the next step or ``None``."""
        from ..models import ReturnRequest
        from ..services import return_parcel_scan_record

        request = ReturnRequest.objects.filter(pk=request_id).first()
        if request is None or step >= len(JOURNEY) or request.return_signed_at is not None:
            return None
        kind, location, description = JOURNEY[step]
        return_parcel_scan_record(
            request=request,
            kind=kind,
            occurred_at=clock.now(),
            location=location,
            description=description,
            external_id=f"sbxr-{request_id}-{step}",
            actor=SYSTEM,
        )
        if request.return_tracking_number.upper().endswith("LOST") or kind == "signed":
            return None
        return step + 1
