"""The starting grading matrix (RULES.md C1) and the log's head row: written by migration
0002 and again after a ``flush`` empties the tables (``post_migrate``, as repairs does)."""

from decimal import Decimal

# Safety first, then media or regulators with a repeat, media or regulators, large amounts,
# repeats, middle amounts, refunds; everything else is P4. Staff edit the rows in the console.
GRADING_SEED = [
    {"position": 10, "safety_risk": True, "grade": "P1", "note": "safety risk"},
    {"position": 20, "issue": "personal_safety", "grade": "P1", "note": "personal safety"},
    {"position": 30, "media_or_regulator": True, "repeat": True, "grade": "P1"},
    {"position": 40, "media_or_regulator": True, "grade": "P2", "note": "media or regulator"},
    {"position": 50, "amount_from": Decimal("5000"), "grade": "P2", "note": "amount >= 5000"},
    {"position": 60, "repeat": True, "grade": "P2", "note": "repeat"},
    {"position": 70, "amount_from": Decimal("500"), "grade": "P3", "note": "amount >= 500"},
    {"position": 80, "issue": "refund", "grade": "P3", "note": "refund"},
]


def seed_grading(grading_rule_model, log_head_model, *, using="default"):
    """The seed rows into an empty matrix, and the log's head row if missing."""
    if not grading_rule_model.objects.using(using).exists():
        grading_rule_model.objects.using(using).bulk_create(
            [grading_rule_model(**row) for row in GRADING_SEED]
        )
    log_head_model.objects.using(using).get_or_create(pk=1, defaults={"size": 0})
