"""Benchmark of the complaints records (issue 15, "Benchmark"; RULES.md C6); prints its figures.

1. Appends: ``--entries`` (1,000,000) entries over ``--complaints`` (100,000) complaints, in
   transactions of ``--batch`` entries through ``complaints.services.records.records_append_many``
   (each: the complaints locked in pk order, their chain heads read, the hashes computed, the
   records inserted, the log head locked, the leaves and subtree hashes inserted). Entries per
   second, on PostgreSQL.
2. Inclusion proofs at a tenth, a hundredth and all of the log: generation (``inclusion_proof``,
   its one query included) and verification (``merkle.root_from_inclusion``), mean per proof;
   they should grow as log n.
3. The integrity job (``integrity_check``: every chain, every leaf, every checkpoint
   recomputed) over the whole log, in seconds per 100,000 entries.

Targets: ≥ 5,000 entries/s; proof generation and verification ≤ 5 ms each. A measurement: the
exit status is 0 whatever the figures, 1 when the job finds a mismatch.

    .venv/bin/python bench/complaints.py               # full size (drops its own database)
    .venv/bin/python bench/complaints.py --scale 0.01     # smoke run
"""

import argparse
import os
import random
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bench import _common as common  # noqa: E402
from bench._common import log  # noqa: E402

MIN_APPEND_RATE = 5000
MAX_PROOF_MS = 5.0


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--database-url",
        default=os.environ.get(
            "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/aftersales_bench_complaints"
        ),
        help="PostgreSQL database to DROP and recreate (default %(default)s)",
    )
    p.add_argument("--scale", type=float, default=1.0, help="multiply the sizes (0.01: smoke)")
    p.add_argument("--entries", type=int, default=1_000_000)
    p.add_argument("--complaints", type=int, default=100_000)
    p.add_argument("--batch", type=int, default=1000, help="entries per transaction")
    p.add_argument("--proofs", type=int, default=1000, help="proofs timed per log size")
    return p.parse_args(argv)


def make_complaints(count):
    """``count`` complaints about merchants' conduct, of one merchant and one consumer."""
    from aftersales import clock
    from aftersales.tenancy.models import ConsumerProfile, Merchant, User
    from complaints.models import Complaint

    merchant = Merchant.objects.create(code="bench-cmp", name="投诉基准商家")
    user = User.objects.create(username="bench-cmp-consumer")
    consumer = ConsumerProfile.objects.create(user=user, name="张伟", phone="13812345678")
    now = clock.now()
    ids = []
    for start in range(0, count, 10_000):
        rows = [
            Complaint(
                subject_kind="conduct",
                subject_key=f"bench:{i}",
                merchant=merchant,
                consumer=consumer,
                channel="api",
                issue="other",
                description="基准",
                grade="P4",
                received_at=now,
                status_changed_at=now,
            )
            for i in range(start, min(count, start + 10_000))
        ]
        ids += [c.pk for c in Complaint.objects.bulk_create(rows)]
    return ids


def bench_appends(ids, entries, batch):
    from django.db import transaction

    from aftersales.tenancy.actors import SYSTEM
    from complaints.services.records import Step, records_append_many

    done, started = 0, time.perf_counter()
    last_report = started
    while done < entries:
        size = min(batch, entries - done)
        steps = [
            Step(ids[(done + k) % len(ids)], "complaint.note", SYSTEM, {"n": done + k})
            for k in range(size)
        ]
        with transaction.atomic():
            records_append_many(steps, lock=True)
        done += size
        if time.perf_counter() - last_report > 10:
            last_report = time.perf_counter()
            log(f"{done:,} entries, {done / (last_report - started):,.0f}/s")
    elapsed = time.perf_counter() - started
    return entries / elapsed, elapsed


def bench_proofs(tree_size, count):
    from complaints import merkle
    from complaints.models import LogLeaf
    from complaints.services.records import inclusion_proof, log_root

    root = log_root(tree_size)
    rng = random.Random(15)
    indexes = [rng.randrange(tree_size) for _ in range(count)]
    leaves = dict(LogLeaf.objects.filter(index__in=indexes).values_list("index", "entry_hash"))
    inclusion_proof(indexes[0], tree_size)  # warm-up
    gen, ver = [], []
    for index in indexes:
        t = time.perf_counter()
        path = inclusion_proof(index, tree_size)
        gen.append((time.perf_counter() - t) * 1000)
        hashes = [bytes.fromhex(h) for h in path]
        leaf = bytes.fromhex(leaves[index])
        t = time.perf_counter()
        ok = merkle.root_from_inclusion(index, tree_size, leaf, hashes) == root
        ver.append((time.perf_counter() - t) * 1000)
        if not ok:
            raise SystemExit(f"proof of leaf {index} in {tree_size} does not verify")
    return statistics.fmean(gen), statistics.fmean(ver), len(path)


def main(argv=None):
    args = parse_args(argv)
    syncdb = os.environ.get("BENCH_SYNCDB", "").lower() in {"1", "true", "yes", "on"}
    os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"
    os.environ["DATABASE_URL"] = args.database_url
    env = dict(os.environ)
    entries = max(1, int(args.entries * args.scale))
    complaints = max(1, int(args.complaints * args.scale))
    print(f"# complaints benchmark · {time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime())}")
    print(
        f"machine: {os.cpu_count()} cpu, load average "
        + " ".join(f"{x:.2f}" for x in os.getloadavg())
    )
    print(f"database: {args.database_url}; {entries:,} entries over {complaints:,} complaints")
    log("recreating database; migrate")
    common.recreate_database(args.database_url)
    common.migrate(env, syncdb=syncdb)

    import django

    django.setup()
    from complaints.services.records import checkpoint_publish, integrity_check

    log(f"creating {complaints:,} complaints")
    ids = make_complaints(complaints)
    log(f"appending {entries:,} entries in transactions of {args.batch}")
    rate, elapsed = bench_appends(ids, entries, args.batch)
    checkpoint_publish()
    rows = []
    for size in sorted({max(1, entries // 100), max(1, entries // 10), entries}):
        gen, ver, depth = bench_proofs(size, args.proofs)
        rows.append((size, gen, ver, depth))
        log(f"proofs at {size:,}: generate {gen:.3f} ms, verify {ver:.3f} ms, {depth} hashes")
    log("integrity job")
    t = time.perf_counter()
    found = integrity_check()
    job = time.perf_counter() - t

    print()
    print("| figure | value | target |")
    print("|---|---|---|")
    print(
        f"| appends, {entries:,} entries over {complaints:,} complaints, {args.batch} per "
        f"transaction | {rate:,.0f} entries/s ({elapsed:.1f} s) "
        f"| ≥ {MIN_APPEND_RATE:,} {'✓' if rate >= MIN_APPEND_RATE else '✗'} |"
    )
    for size, gen, ver, depth in rows:
        mark = "✓" if max(gen, ver) <= MAX_PROOF_MS else "✗"
        print(
            f"| inclusion proof at {size:,} leaves ({depth} hashes): generate / verify "
            f"| {gen:.3f} / {ver:.3f} ms | ≤ {MAX_PROOF_MS:g} ms {mark} |"
        )
    per = job / entries * 100_000
    print(f"| integrity job, {entries:,} entries | {job:.1f} s ({per:.1f} s per 100,000) | — |")
    if found:
        print(f"!! the integrity job found {len(found)} mismatches: {found[:3]}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
