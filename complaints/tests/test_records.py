"""Tamper-evident records (RULES.md C6, standard 6.6.2): the database refuses changes, and
editing, deleting, reordering or inserting an entry, or rolling back the log, is detected by
the integrity job and by the receipt's verification."""

import base64
import copy
import importlib
import json
from contextlib import contextmanager

import pytest
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction

from complaints import merkle, receipts, services
from complaints.models import (
    Checkpoint,
    ComplaintRecord,
    IntegrityIncident,
    LogHead,
    LogLeaf,
    LogNode,
)
from complaints.services.records import checkpoint_publish, log_root
from complaints.tests.factories import complain, merchant_actor, order_of

pytestmark = pytest.mark.django_db
append_only = importlib.import_module("complaints.migrations.0002_cmp_append_only")
RECORD = "complaints_complaintrecord"


@contextmanager
def triggers_off():
    """What an attacker with the database's superuser could do: the append-only triggers off
    for the statements inside (PostgreSQL: replica mode for this transaction; SQLite: the
    triggers dropped and made again)."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET LOCAL session_replication_role = replica")
            try:
                yield cursor
            finally:
                cursor.execute("SET LOCAL session_replication_role = origin")
        else:
            for table in append_only.TABLES:
                cursor.execute(f"DROP TRIGGER {table}_no_update")
                cursor.execute(f"DROP TRIGGER {table}_no_delete")
            try:
                yield cursor
            finally:
                for table in append_only.TABLES:
                    for sql in append_only._sqlite_sql(table):
                        cursor.execute(sql)


def busy_complaint():
    """A complaint with four entries (received, merchant handling, two answers), in a log that
    holds another complaint's entries before and after it, and a published checkpoint."""
    complain(order_of())
    complaint = complain(order_of())
    merchant = merchant_actor(complaint.merchant)
    services.complaint_respond(complaint=complaint, actor=merchant, message="第一次答复")
    services.complaint_respond(complaint=complaint, actor=merchant, message="第二次答复")
    complain(order_of())
    checkpoint_publish()
    return complaint


def kinds(found):
    return {(f["kind"], f["complaint_id"]) for f in found}


def test_entries_chain_and_every_head_is_a_leaf():
    complaint = busy_complaint()
    records = list(ComplaintRecord.objects.filter(complaint=complaint))
    assert [r.seq for r in records] == [1, 2, 3, 4]
    assert records[0].prev_hash == "0" * 64
    assert all(b.prev_hash == a.hash for a, b in zip(records, records[1:], strict=False))
    leaves = LogLeaf.objects.filter(complaint=complaint).order_by("index")
    assert [leaf.entry_hash for leaf in leaves] == [r.hash for r in records]
    size = LogHead.objects.get(pk=1).size
    assert size == LogLeaf.objects.count()
    all_leaves = LogLeaf.objects.order_by("index").values_list("entry_hash", flat=True)
    expected = merkle.tree_root([bytes.fromhex(h) for h in all_leaves])
    assert log_root(size) == expected
    assert Checkpoint.objects.get().root_hash == expected.hex()
    assert services.integrity_check() == []


def test_the_database_refuses_update_and_delete():
    complaint = busy_complaint()
    record = ComplaintRecord.objects.filter(complaint=complaint).first()
    for statement in (
        lambda: ComplaintRecord.objects.filter(pk=record.pk).update(verb="x"),
        lambda: ComplaintRecord.objects.filter(pk=record.pk).delete(),
        lambda: LogLeaf.objects.filter(index=0).update(entry_hash="0" * 64),
        lambda: LogNode.objects.filter(level=0).delete(),
        lambda: Checkpoint.objects.update(tree_size=1),
    ):
        with pytest.raises(DatabaseError), transaction.atomic():
            statement()
    assert ComplaintRecord.objects.get(pk=record.pk).verb == record.verb


def test_an_edited_entry_is_detected():
    complaint = busy_complaint()
    with triggers_off() as cursor:
        cursor.execute(
            f"UPDATE {RECORD} SET data = %s WHERE complaint_id = %s AND seq = 3",
            [json.dumps({"message": "改过的答复"}), complaint.pk],
        )
    found = services.integrity_check()
    assert ("chain", complaint.pk) in kinds(found)
    assert ("leaf", complaint.pk) not in kinds(found)  # the stored hash was left alone
    assert IntegrityIncident.objects.filter(kind="chain", complaint=complaint).count() == 1
    services.integrity_check()  # run again: no second incident while the first is open
    assert IntegrityIncident.objects.filter(kind="chain", complaint=complaint).count() == 1


def test_an_entry_edited_with_its_hash_recomputed_is_detected_by_the_leaf():
    from complaints import rules
    from complaints.services.records import entry_dict

    complaint = busy_complaint()
    record = ComplaintRecord.objects.get(complaint=complaint, seq=4)
    forged = entry_dict(record) | {"data": {"message": "伪造"}}
    new_hash = rules.entry_hash(forged)
    with triggers_off() as cursor:
        cursor.execute(
            f"UPDATE {RECORD} SET data = %s, hash = %s WHERE id = %s",
            [json.dumps({"message": "伪造"}), new_hash, record.pk],
        )
    assert ("leaf", complaint.pk) in kinds(services.integrity_check())


def test_a_deleted_entry_is_detected():
    complaint = busy_complaint()
    with triggers_off() as cursor:
        cursor.execute(f"DELETE FROM {RECORD} WHERE complaint_id = %s AND seq = 2", [complaint.pk])
    assert ("chain", complaint.pk) in kinds(services.integrity_check())


def test_the_last_entry_deleted_is_detected_by_its_leaf():
    complaint = busy_complaint()
    with triggers_off() as cursor:
        cursor.execute(f"DELETE FROM {RECORD} WHERE complaint_id = %s AND seq = 4", [complaint.pk])
    assert ("leaf", complaint.pk) in kinds(services.integrity_check())


def test_reordered_entries_are_detected():
    complaint = busy_complaint()
    with triggers_off() as cursor:
        for old, new in ((2, 99), (3, 2), (99, 3)):
            cursor.execute(
                f"UPDATE {RECORD} SET seq = %s WHERE complaint_id = %s AND seq = %s",
                [new, complaint.pk, old],
            )
    assert ("chain", complaint.pk) in kinds(services.integrity_check())


def test_an_inserted_entry_is_detected():
    complaint = busy_complaint()
    first = ComplaintRecord.objects.get(complaint=complaint, seq=1)
    with triggers_off() as cursor:
        for seq in (4, 3, 2):
            cursor.execute(
                f"UPDATE {RECORD} SET seq = seq + 1 WHERE complaint_id = %s AND seq = %s",
                [complaint.pk, seq],
            )
    ComplaintRecord.objects.create(
        complaint=complaint,
        seq=2,
        actor_kind="consumer",
        actor_label="x",
        verb="complaint.withdrawn",
        data={},
        occurred_at=first.occurred_at,
        prev_hash=first.hash,
        hash="f" * 64,
    )
    assert ("chain", complaint.pk) in kinds(services.integrity_check())


def test_a_rolled_back_log_is_detected():
    busy_complaint()
    size = LogHead.objects.get(pk=1).size
    with triggers_off() as cursor:
        # Drop the last two leaves and their level-0 hashes, and shrink the head:
        # the log now looks like it never had them, but the checkpoint said it had.
        cursor.execute("DELETE FROM complaints_logleaf WHERE index >= %s", [size - 2])
        cursor.execute("DELETE FROM complaints_lognode WHERE level = 0 AND index >= %s", [size - 2])
        cursor.execute("UPDATE complaints_loghead SET size = %s", [size - 2])
    found = kinds(services.integrity_check())
    assert ("rollback", None) in found


def test_a_log_rewritten_under_a_checkpoint_is_detected():
    busy_complaint()
    with triggers_off() as cursor:
        cursor.execute("UPDATE complaints_logleaf SET entry_hash = %s WHERE index = 0", ["a" * 64])
    found = kinds(services.integrity_check())
    assert any(kind == "leaf" for kind, _ in found)


def test_a_forged_checkpoint_signature_is_detected():
    busy_complaint()
    checkpoint = Checkpoint.objects.get()
    with triggers_off() as cursor:
        cursor.execute(
            "UPDATE complaints_checkpoint SET root_hash = %s WHERE id = %s",
            ["b" * 64, checkpoint.pk],
        )
    found = kinds(services.integrity_check())
    assert ("signature", None) in found and ("rollback", None) in found


# -- the receipt ----------------------------------------------------------------------------


def test_a_receipt_verifies_offline_and_any_change_breaks_it(tmp_path, capsys):
    complaint = busy_complaint()
    receipt = json.loads(json.dumps(services.complaint_receipt(complaint=complaint)))
    assert receipt["checkpoint"]["tree_size"] > receipt["leaf_index"]
    assert receipts.receipt_errors(receipt) == []
    trusted = receipts.public_key_bytes()
    assert receipts.receipt_errors(receipt, trusted_public_key=trusted) == []

    edited = copy.deepcopy(receipt)
    edited["entries"][2]["data"]["message"] = "改"
    assert receipts.receipt_errors(edited)
    dropped = copy.deepcopy(receipt)
    del dropped["entries"][1]
    assert receipts.receipt_errors(dropped)
    swapped = copy.deepcopy(receipt)
    swapped["entries"][1], swapped["entries"][2] = swapped["entries"][2], swapped["entries"][1]
    assert receipts.receipt_errors(swapped)
    other_root = copy.deepcopy(receipt)
    other_root["checkpoint"]["root_hash"] = "c" * 64
    assert {"error": "inclusion"} in receipts.receipt_errors(other_root)
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    stranger = Ed25519PrivateKey.generate().public_key()
    assert {"error": "key"} in receipts.receipt_errors(
        receipt, trusted_public_key=receipts.public_key_bytes(stranger)
    )

    good = tmp_path / "receipt.json"
    good.write_text(json.dumps(receipt, ensure_ascii=False))
    call_command("verify_complaint_receipt", str(good))
    assert "VALID" in capsys.readouterr().out
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(edited, ensure_ascii=False))
    with pytest.raises(SystemExit) as exit_:
        call_command("verify_complaint_receipt", str(bad))
    assert exit_.value.code == 1
    assert "INVALID" in capsys.readouterr().err
    key = base64.b64encode(trusted).decode()
    call_command("verify_complaint_receipt", str(good), public_key=key)


def test_a_receipt_made_before_a_new_entry_still_verifies_against_its_checkpoint():
    complaint = busy_complaint()
    receipt = json.loads(json.dumps(services.complaint_receipt(complaint=complaint)))
    services.complaint_respond(
        complaint=complaint, actor=merchant_actor(complaint.merchant), message="第三次答复"
    )
    assert receipts.receipt_errors(receipt) == []
    newer = services.complaint_receipt(complaint=complaint)
    assert len(newer["entries"]) == 5 and receipts.receipt_errors(newer) == []


def test_a_batch_of_steps_across_complaints_chains_and_logs_as_one_by_one_would():
    from aftersales.tenancy.actors import SYSTEM
    from complaints.services.records import Step, records_append_many

    complaints = [complain(order_of()) for _ in range(3)]
    before = LogHead.objects.get(pk=1).size
    steps = [
        Step(complaints[i % 3].pk, "complaint.note", SYSTEM, {"n": i}, "ab" * 32) for i in range(11)
    ]
    with transaction.atomic():
        records = records_append_many(steps, lock=True)
    assert [r.seq for r in records[:3]] == [3, 3, 3]  # each had received + merchant_handling
    assert [r.seq for r in records if r.complaint_id == complaints[0].pk] == [3, 4, 5, 6]
    size = LogHead.objects.get(pk=1).size
    assert size == before + 11
    all_leaves = LogLeaf.objects.order_by("index").values_list("entry_hash", flat=True)
    assert log_root(size) == merkle.tree_root([bytes.fromhex(h) for h in all_leaves])
    checkpoint_publish()
    assert services.integrity_check() == []
    for complaint in complaints:
        receipt = services.complaint_receipt(complaint=complaint)
        assert receipts.receipt_errors(json.loads(json.dumps(receipt))) == []
