"""The sandbox carrier's journey of a return parcel (R12, R16).

``orders.Shipment`` has no return purpose, so return parcels are tracked on the request. A
parcel shipped back with carrier ``SANDBOX`` (or picked up by it) travels by itself, one step
every ``SANDBOX_CARRIER_STEP_SECONDS``: picked up (the first scan, which may trigger the express
refund) → in transit → signed by the merchant (the request is received). A tracking number
ending in ``LOST`` stops after the first scan: the parcel never arrives (express clawback).
Each scan is recorded by the task (``returns.tasks.sandbox_return_step``) through
``services.return_parcel_scan_record``.
"""

from django.conf import settings

from orders.adapters import sandbox_send

from ..models import ReturnRequest

CODE = "SANDBOX"
JOURNEY = [
    ("picked_up", "消费者所在地揽投部", "快递员已揽收退货"),  # i18n-exempt: sandbox data
    ("in_transit", "转运中心", "退货运输中"),  # i18n-exempt: sandbox data
    ("signed", "商家仓库", "商家已签收退货"),  # i18n-exempt: sandbox data
]
# Sent by name (``sandbox_send``).
STEP_TASK = "returns.sandbox_return_step"


class SandboxReturnJourney:
    def step_seconds(self):
        return float(getattr(settings, "SANDBOX_CARRIER_STEP_SECONDS", 5))

    def registered(self, request_id, *, queue=None):
        if ReturnRequest.objects.filter(pk=request_id, return_carrier=CODE).exists():
            self.schedule_step(request_id, 0, queue=queue)

    def schedule_step(self, request_id, step, *, queue=None):
        sandbox_send(STEP_TASK, [request_id, step], countdown=self.step_seconds(), queue=queue)

    def scan(self, request, step):
        """Scan number ``step`` of the parcel of ``request``, as
        ``services.return_parcel_scan_record`` takes it (without the time); the event id is
        ``sbxr-<request>-<step>``, so a repeated task changes nothing."""
        kind, location, description = JOURNEY[step]
        return {
            "kind": kind,
            "location": location,
            "description": description,
            "external_id": f"sbxr-{request.pk}-{step}",
        }

    def last_step(self, request, kind):
        """Whether the journey stops after this scan: signed, or a lost parcel (tracking number
        ending in ``LOST``) after its first scan."""
        return request.return_tracking_number.upper().endswith("LOST") or kind == "signed"
