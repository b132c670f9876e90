"""Adapters of returns to outside parties: the third-party inspector (R19) and the sandbox
carrier's journey of return parcels.

The inspector is chosen by setting, as a dotted path, like ``orders.adapters``::

    INSPECTION_PROVIDER = "returns.adapters.inspection.SandboxInspectionProvider"
"""

from django.conf import settings
from django.utils.module_loading import import_string

from .carrier import SandboxReturnJourney

DEFAULT_INSPECTION_PROVIDER = "returns.adapters.inspection.SandboxInspectionProvider"


def get_inspection_provider():
    """The configured ``InspectionProvider``."""
    path = getattr(settings, "INSPECTION_PROVIDER", None) or DEFAULT_INSPECTION_PROVIDER
    return import_string(path)()


def return_parcel_registered(request_id):
    """After commit of a shipped-back request: a parcel with the sandbox carrier travels back to
    the merchant by itself (``returns.adapters.carrier``); other carriers push their scans
    through ``services.return_parcel_scan_record``."""
    SandboxReturnJourney().registered(request_id)
