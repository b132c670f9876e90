"""The tamper-evident records of complaints (RULES.md C6, standard 6.6.2).

Every step of a complaint is appended to its hash chain (``ComplaintRecord``) and the new
chain head becomes the next leaf of the one global Merkle log (``LogLeaf``, with the complete
subtrees' hashes in ``LogNode``), in the step's own transaction. Checkpoints (tree size, root,
time) are signed and published; a receipt bundles a complaint's entries with the inclusion
proof of its head and a checkpoint. ``integrity_check`` recomputes everything from the entries
and raises an ``IntegrityIncident`` on any mismatch.
"""

import base64
import logging
from dataclasses import dataclass, field
from datetime import UTC

from django.db import transaction
from django.db.models import OuterRef, Subquery

from aftersales import clock
from aftersales.bulk import insert_rows, instances

from .. import merkle, receipts, rules
from ..models import (
    Checkpoint,
    Complaint,
    ComplaintRecord,
    IntegrityIncident,
    LogHead,
    LogLeaf,
    LogNode,
    node_key,
)

log = logging.getLogger(__name__)


def entry_dict(record):
    """A stored entry as the hash and the receipt read it."""
    return {
        "complaint": record.complaint_id,
        "seq": record.seq,
        "actor_kind": record.actor_kind,
        "actor_label": record.actor_label,
        "verb": record.verb,
        "data": record.data,
        "attachment_sha256": record.attachment_sha256,
        "occurred_at": rules.instant_text(record.occurred_at),
        "prev_hash": record.prev_hash,
        "hash": record.hash,
    }


@dataclass(frozen=True)
class Step:
    """One entry to append: which complaint, who, what, when, the attachment's SHA-256."""

    complaint_id: int
    verb: str
    actor: object
    data: dict = field(default_factory=dict)
    attachment_sha256: str = ""
    occurred_at: object = None


def record_append(*, complaint, verb, actor, data=None, attachment_sha256="", occurred_at=None):
    """Append one step to ``complaint``'s chain and its head to the log; returns the record.

    Call inside the step's transaction with the complaint locked (its services lock it), so
    two steps of one complaint never take the same ``seq`` (UNIQUE(complaint, seq) would
    refuse the second anyway).
    """
    step = Step(complaint.pk, verb, actor, data or {}, attachment_sha256 or "", occurred_at)
    return records_append_many([step])[0]


def _chain_heads(complaint_ids, *, lock):
    """``{complaint id: (seq, hash)}`` of the last entry of each chain (``(0, GENESIS)`` for an
    empty one), in one query driven by the complaints (an index lookup each), which also locks
    them in pk order with ``lock``."""
    last = ComplaintRecord.objects.filter(complaint_id=OuterRef("pk")).order_by("-seq")
    qs = (
        Complaint.objects.filter(pk__in=complaint_ids)
        .order_by("pk")
        .annotate(
            last_seq=Subquery(last.values("seq")[:1]),
            last_hash=Subquery(last.values("hash")[:1]),
        )
    )
    if lock:
        qs = qs.select_for_update()
    return {
        pk: (seq or 0, digest or rules.GENESIS)
        for pk, seq, digest in qs.values_list("pk", "last_seq", "last_hash")
    }


def records_append_many(steps, *, lock=False):
    """Append ``steps`` (``Step``), in order, to their complaints' chains, and each new chain
    head to the log; returns the records. Set-based: one read of the chains' heads, the hashes
    in memory, one insert of the records, then ``log_append_many``. With ``lock=True`` the
    complaints are locked here (in pk order); otherwise the caller holds them."""
    if not steps:
        return []
    ids = sorted({s.complaint_id for s in steps})
    with transaction.atomic(savepoint=False):
        heads = _chain_heads(ids, lock=lock)
        now = clock.now()
        rows = []
        for step in steps:
            seq, prev = heads.get(step.complaint_id, (0, rules.GENESIS))
            when = (step.occurred_at or now).astimezone(UTC)
            actor = step.actor.timeline_fields()
            entry = {
                "complaint": step.complaint_id,
                "seq": seq + 1,
                "actor_kind": actor["actor_kind"],
                "actor_label": actor["actor_label"],
                "verb": step.verb,
                "data": step.data or {},
                "attachment_sha256": step.attachment_sha256 or "",
                "occurred_at": rules.instant_text(when),
                "prev_hash": prev,
            }
            digest = rules.entry_hash(entry)
            heads[step.complaint_id] = (seq + 1, digest)
            rows.append(
                {
                    "complaint_id": step.complaint_id,
                    "seq": seq + 1,
                    "actor_kind": entry["actor_kind"],
                    "actor_label": entry["actor_label"],
                    "verb": step.verb,
                    "data": entry["data"],
                    "attachment_sha256": entry["attachment_sha256"],
                    "occurred_at": when,
                    "prev_hash": prev,
                    "hash": digest,
                }
            )
        # Append-only rows of a model with no save() or signal: one COPY (ARCHITECTURE.md
        # "Plain Django"; bulk_create on the embedded SQLite).
        ids = insert_rows(ComplaintRecord, rows, returning=True)
        log_append_many([(r["complaint_id"], r["seq"], r["hash"]) for r in rows])
        records = instances(ComplaintRecord, ids, rows)
    return records


def _head(lock=True):
    head = LogHead.objects.filter(pk=1)
    if lock:
        head = head.select_for_update()
    row = head.first()
    if row is None:
        LogHead.objects.get_or_create(pk=1)
        row = LogHead.objects.select_for_update().get(pk=1) if lock else LogHead(pk=1)
    return row


def log_append(*, complaint_id, seq, entry_hash):
    """Append one chain head to the global log; returns its leaf index."""
    return log_append_many([(complaint_id, seq, entry_hash)])


def log_append_many(heads):
    """Append chain heads ``[(complaint id, seq, entry hash), ...]`` to the global log, in
    order; returns the first new leaf index.

    Under the log head's lock: the leaves, their hashes at level 0 and the hash of every
    complete subtree they finish. The only stored hashes a new subtree needs are the log's
    "frontier" (for each set bit ``l`` of the old size, the subtree just left of it at level
    ``l``): read in one query; everything else is computed here. One insert per table."""
    with transaction.atomic(savepoint=False):
        head = _head()
        first = head.size
        frontier = [
            (level, (first >> level) - 1)
            for level in range(first.bit_length())
            if (first >> level) & 1
        ]
        known = _nodes(frontier)
        leaves, nodes = [], []
        for offset, (complaint_id, seq, entry_hash) in enumerate(heads):
            index = first + offset
            leaves.append(
                {"index": index, "complaint_id": complaint_id, "seq": seq, "entry_hash": entry_hash}
            )
            current = merkle.leaf_hash(bytes.fromhex(entry_hash))
            known[(0, index)] = current
            nodes.append(
                {"key": node_key(0, index), "level": 0, "index": index, "hash": current.hex()}
            )
            j, level = index, 0
            while j & 1:
                current = merkle.node_hash(known[(level, j - 1)], current)
                j >>= 1
                level += 1
                known[(level, j)] = current
                nodes.append(
                    {"key": node_key(level, j), "level": level, "index": j, "hash": current.hex()}
                )
        insert_rows(LogLeaf, leaves)
        insert_rows(LogNode, nodes)
        head.size = first + len(heads)
        head.save(update_fields=["size"])
    return first


def _nodes(keys):
    """``{(level, index): hash bytes}`` of stored subtree hashes, in one query."""
    keys = list(keys)
    if not keys:
        return {}
    rows = LogNode.objects.filter(key__in=[node_key(level, index) for level, index in keys])
    return {
        (level, index): bytes.fromhex(h)
        for level, index, h in rows.values_list("level", "index", "hash")
    }


def _reader(plan):
    """A ``node(level, index)`` reader for ``plan(node)`` that reads every hash the plan
    needs in one query: a dry run collects the positions (the recursion's shape does not
    depend on the hashes), then the real run reads them from memory."""
    wanted = set()

    def record(level, index):
        wanted.add((level, index))
        return b"\x00" * 32

    plan(record)
    found = _nodes(wanted)
    missing = wanted - set(found)
    if missing:
        raise LookupError(f"log nodes missing: {sorted(missing)[:5]}")
    return lambda level, index: found[(level, index)]


def log_root(tree_size):
    """The root hash of the log's first ``tree_size`` leaves, from the stored subtrees."""
    node = _reader(lambda n: merkle.range_hash(0, tree_size, n))
    return merkle.range_hash(0, tree_size, node)


def inclusion_proof(index, tree_size):
    """The audit path of leaf ``index`` in the tree of ``tree_size`` leaves (hex strings)."""
    node = _reader(lambda n: merkle.inclusion_path(index, 0, tree_size, n))
    return [h.hex() for h in merkle.inclusion_path(index, 0, tree_size, node)]


def consistency_proof(first, second):
    """The RFC 9162 consistency proof between the log's first ``first`` leaves and its first
    ``second`` (hex strings): that the larger tree extends the smaller one unchanged."""
    node = _reader(lambda n: merkle.consistency_path(first, 0, second, n))
    return [h.hex() for h in merkle.consistency_path(first, 0, second, node)]


def checkpoint_publish():
    """Sign and store a checkpoint of the log as it stands, unless the latest one already
    covers every leaf; returns the latest checkpoint (``None`` for an empty log)."""
    with transaction.atomic():
        head = _head()
        latest = Checkpoint.objects.order_by("-id").first()
        if head.size == 0 or (latest is not None and latest.tree_size == head.size):
            return latest
        root = log_root(head.size).hex()
        when = clock.now().astimezone(UTC)
        key, signature = receipts.checkpoint_sign(head.size, root, rules.instant_text(when))
        return Checkpoint.objects.create(
            tree_size=head.size, root_hash=root, timestamp=when, key_id=key, signature=signature
        )


def checkpoint_dict(checkpoint):
    return {
        "tree_size": checkpoint.tree_size,
        "root_hash": checkpoint.root_hash,
        "timestamp": rules.instant_text(checkpoint.timestamp),
        "key_id": checkpoint.key_id,
        "signature": checkpoint.signature,
    }


def public_key_text():
    """The platform's checkpoint public key, base64 of its 32 raw bytes."""
    return base64.b64encode(receipts.public_key_bytes()).decode()


def complaint_receipt(*, complaint):
    """The receipt of ``complaint``: every entry of its chain, the inclusion proof of its head
    in the log and a signed checkpoint covering it (one is published when none covers it)."""
    entries = [entry_dict(r) for r in ComplaintRecord.objects.filter(complaint=complaint)]
    head = LogLeaf.objects.get(complaint=complaint, seq=entries[-1]["seq"])
    checkpoint = Checkpoint.objects.filter(tree_size__gt=head.index).order_by("-id").first()
    if checkpoint is None:
        checkpoint = checkpoint_publish()
    return {
        "format": receipts.RECEIPT_FORMAT,
        "complaint": complaint.pk,
        "number": complaint.number,
        "entries": entries,
        "leaf_index": head.index,
        "inclusion_proof": inclusion_proof(head.index, checkpoint.tree_size),
        "checkpoint": checkpoint_dict(checkpoint),
        "public_key": public_key_text(),
    }


# -- the integrity job --------------------------------------------------------------------------


def _raise(found, kind, complaint_id=None, **detail):
    found.append({"kind": kind, "complaint_id": complaint_id, **detail})


def integrity_check(*, batch=2000):
    """Recompute every chain, every leaf and every checkpoint from the entries (RULES.md C6);
    each mismatch becomes an ``IntegrityIncident`` (one open incident per kind and complaint)
    and an error in the log. Returns the list of findings.

    - chain: each complaint's entries recompute and link (edit, deletion, insertion, reorder);
    - leaf: the log's leaves are 0 … n−1 without gaps, each the hash of the entry it names,
      and every entry has its leaf;
    - rollback: every checkpoint's root is the root of the log's first ``tree_size`` leaves
      recomputed from the entries, and the log is not shorter than any checkpoint; the stored
      subtree hashes give the same root;
    - signature: every checkpoint is signed by the platform's key.
    """
    found = []
    hashes = {}
    last_id = 0
    while True:
        ids = list(
            Complaint.objects.filter(pk__gt=last_id)
            .order_by("pk")
            .values_list("pk", flat=True)[:batch]
        )
        if not ids:
            break
        last_id = ids[-1]
        chains = {}
        for record in ComplaintRecord.objects.filter(complaint_id__in=ids).order_by(
            "complaint_id", "seq", "id"
        ):
            chains.setdefault(record.complaint_id, []).append(entry_dict(record))
        for complaint_id, entries in chains.items():
            errors = rules.chain_errors(entries)
            if errors:
                _raise(found, IntegrityIncident.Kind.CHAIN, complaint_id, errors=errors[:20])
            for e in entries:
                hashes[(complaint_id, e["seq"])] = e["hash"]
    leaves = list(
        LogLeaf.objects.order_by("index").values_list("index", "complaint_id", "seq", "entry_hash")
    )
    leaf_hashes = []
    for position, (index, complaint_id, seq, digest) in enumerate(leaves):
        if index != position:
            _raise(found, IntegrityIncident.Kind.LEAF, None, index=index, expected=position)
            break
        entry = hashes.pop((complaint_id, seq), None)
        if entry != digest:
            _raise(found, IntegrityIncident.Kind.LEAF, complaint_id, index=index, seq=seq)
        leaf_hashes.append(merkle.leaf_hash(bytes.fromhex(entry or digest)))
    for complaint_id, seq in sorted(hashes)[:20]:
        _raise(found, IntegrityIncident.Kind.LEAF, complaint_id, seq=seq, error="no_leaf")
    size = len(leaf_hashes)
    public_raw = receipts.public_key_bytes()
    for checkpoint in Checkpoint.objects.order_by("tree_size", "id"):
        cp = checkpoint_dict(checkpoint)
        if checkpoint.key_id != receipts.key_id(public_raw) or not (
            receipts.checkpoint_signature_valid(cp, public_raw)
        ):
            _raise(found, IntegrityIncident.Kind.SIGNATURE, None, checkpoint=checkpoint.pk)
        if checkpoint.tree_size > size:
            _raise(
                found,
                IntegrityIncident.Kind.ROLLBACK,
                None,
                checkpoint=checkpoint.pk,
                tree_size=checkpoint.tree_size,
                log_size=size,
            )
            continue
        root = merkle.root_of_leaf_hashes(leaf_hashes[: checkpoint.tree_size]).hex()
        if root != checkpoint.root_hash:
            _raise(found, IntegrityIncident.Kind.ROLLBACK, None, checkpoint=checkpoint.pk)
    if size:
        try:
            stored = log_root(size).hex()
        except LookupError:
            stored = ""
        if stored != merkle.root_of_leaf_hashes(leaf_hashes).hex():
            _raise(found, IntegrityIncident.Kind.ROLLBACK, None, error="stored_nodes")
    _incidents(found)
    return found


def _incidents(found):
    if not found:
        return
    now = clock.now()
    with transaction.atomic():
        open_ = set(
            IntegrityIncident.objects.filter(resolved_at__isnull=True).values_list(
                "kind", "complaint_id"
            )
        )
        new = []
        for finding in found:
            key = (finding["kind"], finding["complaint_id"])
            log.error("complaint record integrity: %s", finding)
            if key in open_:
                continue
            open_.add(key)
            detail = {k: v for k, v in finding.items() if k not in ("kind", "complaint_id")}
            new.append(
                IntegrityIncident(
                    kind=finding["kind"],
                    complaint_id=finding["complaint_id"],
                    detail=detail,
                    detected_at=now,
                )
            )
        IntegrityIncident.objects.bulk_create(new)
