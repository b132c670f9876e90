"""Every domain-event subscription of the kernel (STYLE.md rule 14; the generated map of all apps
is ``docs/events.md``). ``aftersales/casefile/events.py`` is the mechanism, so the kernel lists
its own subscriptions here (all of them messaging's), as each app does in its ``<app>/events.py``.

- ``*`` (every event): the webhook outbox writes one delivery per matching active endpoint
  (``aftersales.messaging.webhooks.outbox_write``; with its ``many``, a deadline-sweep batch in
  one call). It runs after each event's own subscribers, inside the transaction that published the
  event.

The kernel declares no status → deadline rules of its own; it applies the apps' tables
(``aftersales.deadlines.engine.deadline_status_rules``) on every status move.
"""

from aftersales.casefile.events import subscribe
from aftersales.messaging.webhooks import outbox_write

subscribe("*")(outbox_write)
