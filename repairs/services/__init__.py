"""Writes of the repairs app (standard 6.5; RULES.md G1–G12): the 三包 catalog, warranty cards,
repair providers, repair orders, escalations and remedies.

Every function is keyword-only, takes ``actor``, owns its transaction, locks rows in a fixed
order (card → repair → escalation, each by pk), records a timeline event, publishes a domain
event (``repair.requested``, ``repair.assigned``, ``repair.received`` …; the webhook outbox
follows) and notifies the people concerned. Status moves go through
``aftersales.casefile.statuses.status_move`` with the tables of ``repairs.rules`` (``REPAIR_MOVES``,
``PROVIDER_MOVES``, ``CARD_MOVES``);
the deadlines those moves imply (G5, G6) are declared in ``repairs.deadlines``.

Who may do what:

- consumers: request a repair of their own card, cancel it before 送修, report a fault again,
  choose a remedy the engine grants;
- merchant staff (their own cards and repairs) and platform writers: everything a consumer may
  on the consumer's behalf, create cards, record installation, assign repairs to admitted
  providers, record exchanges and returns;
- provider staff: act on the repair orders granted to them (django-guardian
  ``repairs.change_repairorder``): receive, diagnose, wait for parts, repair, finish, return;
- platform writers: admit, review, suspend and reinstate providers; resolve escalations.

Outside one's scope a repair or card is "not found" (404); inside it, a forbidden action is 403.

The package by sub-domain: ``catalog`` (the 三包 catalog), ``cards`` (warranty cards),
``providers`` (admission, staff and grants), ``repair_requests`` (request, fault again, close,
cancel, evidence), ``repair_work`` (assignment to return), ``escalations`` (escalations and
remedies), ``contact_reveal`` (the consumer's contact for an on-site visit); ``common`` holds
the helpers they share.
"""

from .cards import (
    warranty_card_create,
    warranty_card_exchange,
    warranty_card_refuse_alternative,
    warranty_card_return,
    warranty_cards_expire,
    warranty_installation_complete,
)
from .catalog import (
    FIELDS,
    UNSET,
    catalog_entry_save,
)
from .common import (
    CHANGE_PERM,
    FUTURE_TOLERANCE,
    PARTS_ONLY_RULE,
    VIEW_PERM,
    card_payload,
    repair_payload,
)
from .contact_reveal import (
    REPAIR_REVEAL_FIELDS,
    repair_consumer_contact_masked,
    repair_consumer_reveal,
    repair_consumer_reveal_allowed,
    reveal_register,
)
from .escalations import (
    RETURNS_KIND,
    escalation_resolve,
    warranty_remedy_choose,
    warranty_remedy_release,
)
from .providers import (
    provider_apply,
    provider_member_add,
    provider_member_remove,
    provider_reinstate,
    provider_review,
    provider_suspend,
)
from .repair_requests import (
    repair_cancel,
    repair_close,
    repair_evidence_add,
    repair_fault_reoccurred,
    repair_request,
)
from .repair_work import (
    CARD_G11_REASONS,
    G11_REASONS,
    assignable_providers,
    repair_assign,
    repair_diagnose,
    repair_finish,
    repair_parts_wait_end,
    repair_parts_wait_start,
    repair_receive,
    repair_return_to_consumer,
    repair_start,
)

__all__ = [
    "FIELDS",
    "UNSET",
    "catalog_entry_save",
    "warranty_card_create",
    "warranty_installation_complete",
    "warranty_card_exchange",
    "warranty_card_return",
    "warranty_card_refuse_alternative",
    "warranty_cards_expire",
    "provider_apply",
    "provider_review",
    "provider_suspend",
    "provider_reinstate",
    "provider_member_add",
    "provider_member_remove",
    "repair_request",
    "repair_fault_reoccurred",
    "repair_close",
    "repair_cancel",
    "repair_evidence_add",
    "G11_REASONS",
    "CARD_G11_REASONS",
    "assignable_providers",
    "repair_assign",
    "repair_receive",
    "repair_diagnose",
    "repair_parts_wait_start",
    "repair_parts_wait_end",
    "repair_start",
    "repair_finish",
    "repair_return_to_consumer",
    "escalation_resolve",
    "RETURNS_KIND",
    "warranty_remedy_choose",
    "warranty_remedy_release",
    "REPAIR_REVEAL_FIELDS",
    "repair_consumer_contact_masked",
    "repair_consumer_reveal_allowed",
    "repair_consumer_reveal",
    "reveal_register",
    "FUTURE_TOLERANCE",
    "VIEW_PERM",
    "CHANGE_PERM",
    "card_payload",
    "repair_payload",
    "PARTS_ONLY_RULE",
]
