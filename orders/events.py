"""Every domain-event subscription of the orders app (STYLE.md rule 14; the generated map of all
apps is ``docs/events.md``).

- ``shipment.tracking_event`` (a tracking node was recorded): a movement (re)schedules the
  ``logistics.stale`` deadline, a sign-off cancels it and resolves open alerts, an exception
  raises a logistics alert (``orders.logistics.on_tracking_event``).

The handlers live with their logic (``orders/logistics.py``); this module only lists what
subscribes to what. The deadline kind ``logistics.stale`` is registered in ``orders/logistics.py``;
orders declares no status → deadline rules. All run inside the transaction that published the
event.
"""

from aftersales.casefile.events import subscribe

from . import logistics

subscribe("shipment.tracking_event")(logistics.on_tracking_event)
