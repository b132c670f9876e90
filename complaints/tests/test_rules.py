"""The pure rules of complaints: grading (C1), the three-year decline (C5), the clock table,
the chain's hashing and the RFC 9162 Merkle tree (C6)."""

import hashlib
from datetime import date, timedelta
from decimal import Decimal
from types import SimpleNamespace

import pytest

from complaints import merkle, rules


def row(position, grade, **conditions):
    base = dict.fromkeys(
        ["issue", "amount_from", "amount_below", "safety_risk", "repeat", "media_or_regulator"]
    )
    base["issue"] = ""
    base.update(conditions)
    return SimpleNamespace(position=position, grade=grade, **base)


MATRIX = [
    row(10, "P1", safety_risk=True),
    row(40, "P2", media_or_regulator=True),
    row(50, "P2", amount_from=Decimal("5000")),
    row(60, "P2", repeat=True),
    row(70, "P3", amount_from=Decimal("500"), amount_below=Decimal("5000")),
    row(80, "P3", issue="refund"),
]


def facts(**kw):
    base = {
        "issue": "product_quality",
        "amount": Decimal("100"),
        "safety_risk": False,
        "repeat": False,
        "media_or_regulator": False,
    }
    return rules.GradingFacts(**(base | kw))


@pytest.mark.parametrize(
    ("kw", "grade"),
    [
        ({}, "P4"),
        ({"safety_risk": True, "amount": Decimal("1")}, "P1"),
        ({"media_or_regulator": True}, "P2"),
        ({"repeat": True}, "P2"),
        ({"amount": Decimal("4999.99")}, "P3"),
        ({"amount": Decimal("5000.00")}, "P2"),  # the band's lower bound is included
        ({"amount": Decimal("499.99")}, "P4"),
        ({"amount": Decimal("500.00")}, "P3"),
        ({"issue": "refund"}, "P3"),
        ({"issue": "refund", "safety_risk": True}, "P1"),  # first row in position order wins
    ],
)
def test_grade_by_matrix_c1(kw, grade):
    assert rules.grade_for(facts(**kw), list(reversed(MATRIX)))[0] == grade


def test_no_matching_row_is_p4_with_no_rule():
    assert rules.grade_for(facts(), []) == ("P4", None)


@pytest.mark.parametrize(
    ("known", "today", "declinable"),
    [
        (date(2023, 6, 15), date(2026, 6, 15), False),  # exactly three years: not "more than"
        (date(2023, 6, 14), date(2026, 6, 15), True),  # one day more
        (date(2023, 6, 16), date(2026, 6, 15), False),
        (date(2025, 2, 28), date(2028, 2, 29), False),  # 29 Feb: three years end on the 28th
        (date(2025, 2, 27), date(2028, 2, 29), True),
        (None, date(2026, 6, 15), False),
    ],
)
def test_c5_three_years(known, today, declinable):
    assert rules.may_decline_as_stale(known, today) is declinable


def test_years_before_leap_day():
    assert rules.years_before(date(2028, 2, 29), 3) == date(2025, 2, 28)


def test_clock_table():
    assert rules.clocks_running("received") == {"first_response"}
    assert rules.clocks_running("merchant_handling") == {"first_response", "merchant_negotiation"}
    assert rules.clocks_running("waiting_consumer") == frozenset()
    assert rules.clocks_running("platform_mediation") == {"platform_handling"}
    for status in ("third_party_mediation", "resolved", "closed"):
        assert rules.clocks_running(status) == frozenset()


@pytest.mark.parametrize(
    ("frm", "to", "paused_from", "moves"),
    [
        ("", "received", "", {"first_response": "start"}),
        ("received", "merchant_handling", "", {"merchant_negotiation": "start"}),
        (
            "merchant_handling",
            "waiting_consumer",
            "",
            {"first_response": "pause", "merchant_negotiation": "pause"},
        ),
        (
            "waiting_consumer",
            "merchant_handling",
            "merchant_handling",
            {"first_response": "resume", "merchant_negotiation": "resume"},
        ),
        (
            "waiting_consumer",
            "platform_mediation",
            "merchant_handling",
            {
                "first_response": "stop",
                "merchant_negotiation": "stop",
                "platform_handling": "start",
            },
        ),
        (
            "merchant_handling",
            "platform_mediation",
            "",
            {
                "first_response": "stop",
                "merchant_negotiation": "stop",
                "platform_handling": "start",
            },
        ),
        ("platform_mediation", "resolved", "", {"platform_handling": "stop"}),
        (
            "resolved",
            "merchant_handling",
            "",
            {"first_response": "start", "merchant_negotiation": "start"},
        ),
    ],
)
def test_clock_moves(frm, to, paused_from, moves):
    assert rules.clock_moves(frm, to, paused_from=paused_from) == moves


def test_every_status_has_moves_and_closed_only_reopens():
    assert set(rules.MOVES) == {
        "received",
        "merchant_handling",
        "waiting_consumer",
        "platform_mediation",
        "third_party_mediation",
        "resolved",
        "closed",
    }
    assert rules.MOVES["closed"] == {"merchant_handling", "platform_mediation"}


def test_warning_points():
    assert rules.hour_clock_warning_offset(timedelta(hours=2)) == timedelta(minutes=24)
    assert rules.hour_clock_warning_offset(timedelta(hours=48)) == timedelta(hours=9, minutes=36)
    assert rules.working_clock_warning_days(10) == 2
    assert rules.working_clock_warning_days(45) == 9


# -- the chain ----------------------------------------------------------------------------


def chain(n):
    entries, prev = [], rules.GENESIS
    for seq in range(1, n + 1):
        entry = {
            "complaint": 7,
            "seq": seq,
            "actor_kind": "consumer",
            "actor_label": "c",
            "verb": f"step{seq}",
            "data": {"n": seq, "text": "质量"},
            "attachment_sha256": "",
            "occurred_at": f"2026-12-0{seq}T00:00:00.000000+00:00",
            "prev_hash": prev,
        }
        entry["hash"] = prev = rules.entry_hash(entry)
        entries.append(entry)
    return entries


def test_a_chain_recomputes():
    assert rules.chain_errors(chain(5)) == []


def test_edit_delete_insert_reorder_are_detected():
    edited = chain(4)
    edited[1]["data"] = {"n": 2, "text": "改"}
    assert {"seq": 2, "error": "hash"} in rules.chain_errors(edited)
    deleted = chain(4)
    del deleted[1]
    assert rules.chain_errors(deleted)
    reordered = chain(4)
    reordered[1], reordered[2] = reordered[2], reordered[1]
    assert rules.chain_errors(reordered)
    inserted = chain(4)
    extra = dict(inserted[1])
    inserted.insert(2, extra)
    assert rules.chain_errors(inserted)


# -- RFC 9162 -------------------------------------------------------------------------------


def leaves(n):
    return [f"leaf{i}".encode() for i in range(n)]


def reader(items):
    hashes = [merkle.leaf_hash(x) for x in items]

    def node(level, index):
        size = 1 << level
        return merkle.root_of_leaf_hashes(hashes[index * size : (index + 1) * size])

    return node


def test_hash_prefixes():
    assert merkle.leaf_hash(b"") == hashlib.sha256(b"\x00").digest()
    assert merkle.node_hash(b"a", b"b") == hashlib.sha256(b"\x01ab").digest()
    # RFC 9162 2.1.1: the empty tree's hash is SHA-256 of the empty string.
    assert merkle.tree_root([]) == hashlib.sha256(b"").digest()


def test_root_of_seven_by_hand():
    h = [merkle.leaf_hash(x) for x in leaves(7)]
    n = merkle.node_hash
    expected = n(n(n(h[0], h[1]), n(h[2], h[3])), n(n(h[4], h[5]), h[6]))
    assert merkle.tree_root(leaves(7)) == expected
    assert merkle.range_hash(0, 7, reader(leaves(7))) == expected


@pytest.mark.parametrize("size", [1, 2, 3, 4, 5, 7, 8, 9, 16, 17, 33])
def test_every_inclusion_proof_verifies_and_a_wrong_one_does_not(size):
    items = leaves(size)
    node = reader(items)
    root = merkle.tree_root(items)
    for index in range(size):
        path = merkle.inclusion_path(index, 0, size, node)
        assert len(path) <= size.bit_length()
        assert merkle.verify_inclusion(index, size, items[index], path, root)
        assert not merkle.verify_inclusion(index, size, b"other", path, root)
        if size > 1:
            assert not merkle.verify_inclusion((index + 1) % size, size, items[index], path, root)
        assert not merkle.verify_inclusion(index, size, items[index], path + [root], root)
    assert merkle.root_from_inclusion(size, size, items[0], []) is None


@pytest.mark.parametrize("second", [1, 2, 3, 4, 5, 7, 8, 9, 12, 16, 17])
def test_every_consistency_proof_verifies_and_a_rewritten_log_does_not(second):
    items = leaves(second)
    node = reader(items)
    second_root = merkle.tree_root(items)
    rewritten = list(items)
    rewritten[0] = b"rewritten"
    for first in range(1, second + 1):
        first_root = merkle.tree_root(items[:first])
        path = merkle.consistency_path(first, 0, second, node)
        assert merkle.verify_consistency(first, second, first_root, second_root, path)
        assert not merkle.verify_consistency(
            first, second, merkle.tree_root(rewritten[:first]), second_root, path
        )
        if first < second:
            assert not merkle.verify_consistency(first, second, first_root, second_root, [])
            assert not merkle.verify_consistency(
                first, second, first_root, merkle.tree_root(rewritten), path
            )
    assert not merkle.verify_consistency(second + 1, second, second_root, second_root, [])
