"""Every domain-event subscription of the complaints app (STYLE.md rule 14; the generated map
of all apps is ``docs/events.md``): none yet — the arbitration of a linked return comes with
mediation.

What happens after a status move of a complaint is the listener
``complaints.deadlines.complaint_clocks`` (the clock table ``complaints.rules.CLOCK_STATES``);
the events the app publishes are ``complaint.<step>`` and ``complaint.<status>``
(``complaints.services.common``), which the webhook outbox delivers.
"""
