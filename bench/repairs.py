"""Benchmark of the repairs app (issue 5, "Benchmark"); prints its figures.

1. Entitlement of a warranty card with 20 repairs: one call of the selector the API, the pages
   and the admin use (``repairs.selectors.card_entitlements``: it loads the card's facts —
   card chain, repairs, catalog — and runs the pure engine ``repairs.rules.entitlements``),
   timed INCLUDING its queries, many iterations; mean and p95 per call, queries per call.
2. The timeout sweep: 100,000 open repair orders at their repairers (each with its pending G6
   deadline, ``repairs.g6_repairer_limit``) of which 10,000 are past the 30-day limit;
   ``aftersales.deadlines.engine.deadline_sweep`` in ``--sweepers`` (2) processes at once acts on
   the due ones (each: the re-check against the rules, an escalation in the platform's queue,
   a timeline event, a ``repair.timeout`` outbox event, notifications to the consumer and the
   merchant's staff, the deadline's own move to done with its timeline and outbox rows).
   Repairs per second; the effects are verified
   (escalations created = repairs past the limit).

Targets: entitlement ≤ 5 ms per card including its queries; the sweep ≥ 2,000 repairs/s. It is
a measurement: the exit status is 0 whatever the figures, 1 on errors (wrong effects).

    .venv/bin/python bench/repairs.py                  # full size (drops aftersales_bench_repairs)
    .venv/bin/python bench/repairs.py --scale 0.05 --iterations 300     # smoke run

``BENCH_SYNCDB=1`` builds tables from the models instead of the migrations (development only).
"""

import argparse
import contextlib
import os
import statistics
import sys
import time
from datetime import timedelta
from decimal import Decimal

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bench import _common as common  # noqa: E402
from bench._common import log  # noqa: E402

MAX_ENTITLEMENT_MS = 5.0
MIN_SWEEP_RATE = 2000
CATALOG_CODE = "lcd_tv"


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--database-url",
        default=os.environ.get(
            "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/aftersales_bench_repairs"
        ),
        help="PostgreSQL database to DROP and recreate (default %(default)s)",
    )
    p.add_argument(
        "--scale", type=float, default=1.0, help="multiply the sweep's row counts (0.05: smoke)"
    )
    p.add_argument("--repairs", type=int, default=20, help="repairs on the entitlement card")
    p.add_argument("--iterations", type=int, default=2000, help="entitlement calls measured")
    p.add_argument("--batch-size", type=int, default=500, help="deadline sweep batch")
    p.add_argument(
        "--sweepers",
        type=int,
        default=2,
        help="sweeper processes at once, as the workers sweep a backlog (DEADLINE_SWEEPERS)",
    )
    return p.parse_args(argv)


# -- fixtures -------------------------------------------------------------------------------------


def _provider():
    from repairs.models import RepairProvider, SanbaoCatalogEntry

    provider = RepairProvider.objects.create(
        name="基准维修服务商",
        licence_number="BENCH-LIC-0001",
        status=RepairProvider.Status.APPROVED,
    )
    provider.categories.set(SanbaoCatalogEntry.objects.filter(code=CATALOG_CODE))
    return provider


def _catalog():
    from repairs.models import SanbaoCatalogEntry

    entry = SanbaoCatalogEntry.objects.get(code=CATALOG_CODE)
    change = entry.changes.order_by("-version").first()
    return entry, change


def entitlement_card(repairs):
    """A signed LCD TV bought 200 days ago with ``repairs`` finished repairs (some waited for
    parts), the last one 20 days ago: the engine walks every rule (G3 extension, G4, G8, G12)."""
    from aftersales import clock
    from aftersales.tenancy.models import ConsumerProfile, Merchant, User
    from orders.models import Category, Order, OrderLine, Product, Sku
    from repairs.models import RepairOrder, WarrantyCard

    now = clock.now()
    entry, change = _catalog()
    provider = _provider()
    merchant = Merchant.objects.create(code="bench-ent", name="权益基准商家")
    user = User.objects.create(username="bench-ent-consumer")
    consumer = ConsumerProfile.objects.create(user=user, name="张伟", phone="13812345678")
    category = Category.objects.create(code="bench-tv", name="液晶电视", sanbao_code=CATALOG_CODE)
    product = Product.objects.create(merchant=merchant, category=category, name="液晶电视 55 寸")
    sku = Sku.objects.create(product=product, code="BENCH-TV-55", spec="55 寸", price="3000.00")
    signed = now - timedelta(days=200)
    order = Order.objects.create(
        merchant=merchant,
        consumer=consumer,
        number="BENCH-ENT-1",
        status="completed",
        placed_at=signed - timedelta(days=2),
        paid_at=signed - timedelta(days=2),
        delivered_at=signed,
        total_amount=Decimal("3000.00"),
    )
    line = OrderLine.objects.create(
        order=order,
        sku=sku,
        product_name=product.name,
        spec=sku.spec,
        quantity=1,
        unit_price=Decimal("3000.00"),
        paid_amount=Decimal("3000.00"),
    )
    card = WarrantyCard.objects.create(
        number="BENCH-CARD-1",
        order_line=line,
        catalog_entry=entry,
        catalog_change=change,
        catalog_version=entry.version,
        merchant=merchant,
        consumer=consumer,
        product=product,
        sku=sku,
        product_name=product.name,
        unit_price=Decimal("3000.00"),
        signed_at=signed,
        starts_at=signed,
    )
    step = timedelta(days=170 / max(1, repairs))
    rows = []
    for i in range(repairs):
        received = signed + timedelta(days=5) + i * step
        finished = received + timedelta(days=3)
        rows.append(
            RepairOrder(
                number=f"BENCH-R-{i:03d}",
                card=card,
                order_line=line,
                merchant=merchant,
                consumer=consumer,
                provider=provider,
                fault_description="无法开机",
                fault_reported_at=received - timedelta(hours=4),
                status=RepairOrder.Status.RETURNED,
                entitlement_rule="G3",
                assigned_at=received - timedelta(hours=2),
                received_at=received,
                diagnosed_at=received + timedelta(hours=3),
                repairing_at=received + timedelta(days=1),
                finished_at=finished,
                returned_at=finished + timedelta(hours=5),
                result=RepairOrder.Result.FIXED,
                parts_wait_days=1 if i % 4 == 0 else 0,
                updated_at=finished,
            )
        )
    RepairOrder.objects.bulk_create(rows)
    return card


def entitlement_call(card):
    """One answer as the API, the pages and the admin get it: ``card_entitlements`` loads the
    card's facts (its queries) and runs the engine."""
    from repairs import selectors

    return lambda: selectors.card_entitlements(card=card)


def bench_entitlement(repairs, iterations):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from repairs.models import WarrantyCard

    card = WarrantyCard.objects.get(pk=entitlement_card(repairs).pk)
    call = entitlement_call(card)
    answer = call()
    for _ in range(min(50, iterations)):  # warm-up: imports, query compilation, caches
        call()
    with CaptureQueriesContext(connection) as queries:
        call()
    samples, cpu = [], []
    for _ in range(iterations):
        t, c = time.perf_counter(), time.process_time()
        call()
        cpu.append((time.process_time() - c) * 1000)
        samples.append((time.perf_counter() - t) * 1000)
    samples.sort()
    mean, p95 = statistics.fmean(samples), common.percentile(samples, 95)
    print(
        f"entitlement, card with {repairs} repairs: {iterations:,} calls → mean {mean:.2f} ms, "
        f"median {statistics.median(samples):.2f} ms, p95 {p95:.2f} ms "
        f"(this process's CPU {statistics.fmean(cpu):.2f} ms per call), "
        f"{len(queries)} queries per call; answer: {answer.summary}"
    )
    return mean, p95, len(queries)


# -- the timeout sweep ----------------------------------------------------------------------------


def _max_id(model):
    from django.db.models import Max

    return model.objects.aggregate(m=Max("id"))["m"] or 0


def load_open_repairs(*, repairs, past, provider, skip=0):
    """``repairs`` open repair orders received by the provider, one per card (one per order
    line), each with its pending G6 deadline; the first ``past`` were received 40 days ago (G6
    due 9 days ago), the others 1–24 days ago (due later)."""
    from django.db import connection, transaction

    from aftersales import clock
    from aftersales.deadlines.models import Deadline
    from orders.models import Order, OrderLine, Sku
    from repairs.deadlines import G6_KIND
    from repairs.models import RepairOrder, WarrantyCard

    entry, change = _catalog()
    now = clock.now()
    t0 = time.monotonic()
    first_card, first_repair = _max_id(WarrantyCard), _max_id(RepairOrder)
    with transaction.atomic():
        cursor = connection.cursor()
        cursor.execute("SET LOCAL synchronous_commit = off")
        try:
            with transaction.atomic():
                cursor.execute("SET LOCAL session_replication_role = replica")
        except Exception:
            log("  (not superuser: foreign key checks stay on, loading is slower)")
        lines = (
            f'"{OrderLine._meta.db_table}" l JOIN "{Order._meta.db_table}" o ON o.id = l.order_id '
            f'JOIN "{Sku._meta.db_table}" s ON s.id = l.sku_id'
        )
        common.insert_select(
            cursor,
            WarrantyCard,
            {
                "number": "'WC' || lpad(l.id::text, 12, '0')",
                "order_line_id": "l.id",
                "unit_index": "1",
                "catalog_entry_id": str(entry.pk),
                "catalog_change_id": str(change.pk) if change else "NULL",
                "catalog_version": str(entry.version),
                "merchant_id": "o.merchant_id",
                "consumer_id": "o.consumer_id",
                "product_id": "s.product_id",
                "sku_id": "l.sku_id",
                "product_name": "l.product_name",
                "unit_price": "l.unit_price",
                "signed_at": ("%s::timestamptz - interval '60 days'", [now]),
                "starts_at": ("%s::timestamptz - interval '60 days'", [now]),
                "status": "'active'",
                "misuse_reasons": "'[]'::jsonb",
                "created_at": ("%s::timestamptz", [now]),
            },
            # The bulk orders of ``common.load_data`` (numbered BO…), one line each.
            f"{lines} WHERE o.number LIKE 'BO%%' ORDER BY l.id LIMIT %s OFFSET %s",
            [repairs, skip],
        )
        received = (
            "CASE WHEN c.rn <= %s THEN %s::timestamptz - interval '40 days' "
            "ELSE %s::timestamptz - (1 + c.rn %% 24) * interval '1 day' END"
        )
        cards = (
            "(SELECT c.*, row_number() OVER (ORDER BY c.id) AS rn "
            f'FROM "{WarrantyCard._meta.db_table}" c WHERE c.id > %s) c'
        )
        common.insert_select(
            cursor,
            RepairOrder,
            {
                "number": "'RO' || lpad(c.id::text, 12, '0')",
                "card_id": "c.id",
                "order_line_id": "c.order_line_id",
                "merchant_id": "c.merchant_id",
                "consumer_id": "c.consumer_id",
                "provider_id": str(provider.pk),
                "fault_description": "'无法开机'",
                "service_mode": "'send_in'",
                "fault_reported_at": (f"{received} - interval '1 day'", [past, now, now]),
                "status": "'received'",
                "entitlement_rule": "'G3'",
                "assigned_at": (f"{received} - interval '12 hours'", [past, now, now]),
                "received_at": (received, [past, now, now]),
                "parts_wait_days": "0",
                "labour_fee": "0",
                "parts_fee": "0",
                "is_paid": "false",
                "parts_replaced": "'[]'::jsonb",
                "updated_at": (received, [past, now, now]),
            },
            cards,
            [first_card],
        )
        # G6: 24:00 Shanghai of day 30 after 送修 (repairs.deadlines.g6_due with no waits).
        due = (
            "((date_trunc('day', r.received_at AT TIME ZONE 'Asia/Shanghai') "
            "+ interval '31 days') AT TIME ZONE 'Asia/Shanghai')"
        )
        common.insert_select(
            cursor,
            Deadline,
            {
                "subject_type": "'repairs.repairorder'",
                "subject_id": "r.id",
                "merchant_id": "r.merchant_id",
                "kind": (f"'{G6_KIND}'", ()),
                "due_at": due,
                "state": "'pending'",
                "result": "'{}'::jsonb",
                "data": "'{}'::jsonb",
                "policy_key": "''",
                "attempts": "0",
                "last_error": "''",
                "created_at": "r.received_at",
            },
            f'"{RepairOrder._meta.db_table}" r WHERE r.id > %s',
            [first_repair],
        )
    with connection.cursor() as cursor:
        for model in (WarrantyCard, RepairOrder, Deadline):
            cursor.execute(f'VACUUM ANALYZE "{model._meta.db_table}"')
    log(f"  {repairs:,} cards, open repairs and G6 deadlines in {time.monotonic() - t0:.1f} s")


def effect_counts():
    from aftersales.casefile.models import DomainEvent, TimelineEvent
    from aftersales.deadlines.models import Deadline
    from repairs.models import WarrantyEscalation

    return {
        "escalations": WarrantyEscalation.objects.filter(rule="G6", status="open").count(),
        "repair.timeout events": DomainEvent.objects.filter(name="repair.timeout").count(),
        "timeline": TimelineEvent.objects.filter(verb="repair.timeout").count(),
        "deadlines done": Deadline.objects.filter(
            kind__startswith="repairs.g6", state="done"
        ).count(),
    }


def check_sweep_effects(past, before):
    from aftersales import clock
    from aftersales.deadlines.models import Deadline

    after = effect_counts()
    delta = {k: after[k] - before[k] for k in after}
    still_due = Deadline.objects.filter(state="pending", due_at__lte=clock.now()).count()
    ok = all(v == past for v in delta.values()) and still_due == 0
    text = " ".join(f"{k}={v:,}" for k, v in delta.items())
    return ok, f"{text} still due={still_due:,}"


@contextlib.contextmanager
def count_statements():
    """Counts the statements of the default connection (``execute_wrapper``) and its ``COPY``
    runs (``aftersales.bulk.insert_rows`` streams rows past the wrapper)."""
    import psycopg
    from django.db import connection

    counted = {"statements": 0, "copies": 0}
    copy = psycopg.Cursor.copy

    def counting_copy(self, *args, **kwargs):
        counted["copies"] += 1
        return copy(self, *args, **kwargs)

    def wrapper(execute, sql, params, many, context):
        counted["statements"] += 1
        return execute(sql, params, many, context)

    psycopg.Cursor.copy = counting_copy
    try:
        with connection.execute_wrapper(wrapper):
            yield counted
    finally:
        psycopg.Cursor.copy = copy


def bench_sweep(*, repairs, past, batch_size, warmup, sweepers):
    from aftersales.deadlines.engine import deadline_sweep

    provider = _provider_for_sweep()
    # Warm-up on other rows: imports, template compilation, query plans out of the measure;
    # its statements are counted (the measured sweep runs without the counter).
    load_open_repairs(repairs=warmup, past=warmup // 2, provider=provider, skip=repairs)
    with count_statements() as counted:
        warm = deadline_sweep(batch_size=batch_size)
    log(
        f"  warm-up sweep: {warm.done:,} due in {warm.batches} batch(es) of ≤{batch_size}: "
        f"{counted['statements']} statements and {counted['copies']} COPY "
        f"({(counted['statements'] + counted['copies']) / max(warm.batches, 1):.1f} per batch "
        "incl. the final empty claim, excl. COMMIT)"
    )
    log(f"sweep: loading {repairs:,} open repairs, {past:,} past the G6 limit")
    load_open_repairs(repairs=repairs, past=past, provider=provider)
    before = effect_counts()
    done, batches, seconds, cpu = sweep_in_processes(sweepers, batch_size)
    ok, effects = check_sweep_effects(past, before)
    rate = done / seconds if seconds else float("inf")
    print(
        f"timeout sweep: {repairs:,} open repairs, {past:,} past the limit → {done:,} "
        f"deadlines acted on in {seconds:.2f} s = {rate:,.0f} repairs/s by {sweepers} "
        f"sweeper process(es) ({batches} batches of ≤{batch_size}; the sweepers' CPU "
        f"{cpu:.2f} s = {done / cpu if cpu else 0:,.0f} repairs per CPU-second); {effects}"
        f"{'' if ok else '  !! effects do not match'}"
    )
    return rate, ok


def _sweeper(go, out, batch_size):
    """One sweeper process (forked with Django loaded, its own connection): waits for the
    start, sweeps until nothing is due, reports (done, batches, CPU seconds)."""
    from aftersales.deadlines.engine import deadline_sweep

    go.wait()
    cpu = time.process_time()
    stats = deadline_sweep(batch_size=batch_size)
    out.put((stats.done, stats.batches, time.process_time() - cpu))


def sweep_in_processes(sweepers, batch_size):
    """The measured sweep as the workers run a backlog
    (``aftersales.deadlines.tasks.sweep_deadlines`` with ``DEADLINE_SWEEPERS``): ``sweepers``
    processes at once, each claiming batches with ``FOR UPDATE SKIP LOCKED``; wall time from the
    common start to the last one's end."""
    import multiprocessing

    from django.db import connections

    connections.close_all()  # each child opens its own
    ctx = multiprocessing.get_context("fork")
    go, out = ctx.Event(), ctx.Queue()
    procs = [ctx.Process(target=_sweeper, args=(go, out, batch_size)) for _ in range(sweepers)]
    for proc in procs:
        proc.start()
    time.sleep(0.5)  # all forked and waiting
    started = time.perf_counter()
    go.set()
    results = [out.get(timeout=600) for _ in procs]
    seconds = time.perf_counter() - started
    for proc in procs:
        proc.join()
    return (
        sum(r[0] for r in results),
        sum(r[1] for r in results),
        seconds,
        sum(r[2] for r in results),
    )


def _provider_for_sweep():
    from repairs.models import RepairProvider

    return RepairProvider.objects.filter(licence_number="BENCH-LIC-0001").first() or _provider()


def main(argv=None):
    args = parse_args(argv)
    syncdb = os.environ.get("BENCH_SYNCDB", "").lower() in {"1", "true", "yes", "on"}
    os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"
    os.environ["DATABASE_URL"] = args.database_url
    env = dict(os.environ)
    print(f"# repairs benchmark · {time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime())}")
    print(
        f"machine: {os.cpu_count()} cpu, load average "
        + " ".join(f"{x:.2f}" for x in os.getloadavg())
    )
    print(f"database: {args.database_url}; scale {args.scale:g}; batch {args.batch_size}")
    log(f"recreating database; migrate{' --run-syncdb (BENCH_SYNCDB=1)' if syncdb else ''}")
    common.recreate_database(args.database_url)
    common.migrate(env, syncdb=syncdb)

    import django

    django.setup()

    repairs, past = int(100_000 * args.scale), int(10_000 * args.scale)
    warmup = max(2 * args.batch_size, 200)
    log(f"loading {repairs + warmup:,} orders with one line each")
    common.load_data(orders=repairs + warmup, merchant_orders=max(1, repairs // 10), merchants=10)
    mean, p95, queries = bench_entitlement(args.repairs, args.iterations)
    rate, ok = bench_sweep(
        repairs=repairs,
        past=past,
        batch_size=args.batch_size,
        warmup=warmup,
        sweepers=args.sweepers,
    )

    print()
    print("| figure | value | target |")
    print("|---|---|---|")
    print(
        f"| entitlement, card with {args.repairs} repairs, mean (incl. {queries} queries) "
        f"| {mean:.2f} ms | ≤ {MAX_ENTITLEMENT_MS:g} ms "
        f"{'✓' if mean <= MAX_ENTITLEMENT_MS else '✗'} |"
    )
    print(f"| entitlement p95 | {p95:.2f} ms | — |")
    print(
        f"| timeout sweep, {repairs:,} open / {past:,} past the limit, {args.sweepers} "
        f"sweeper(s) | {rate:,.0f} repairs/s "
        f"| ≥ {MIN_SWEEP_RATE:,} {'✓' if rate >= MIN_SWEEP_RATE else '✗'} |"
    )
    if not ok:
        print("!! the sweep's effects do not match the repairs past the limit")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
