"""Benchmark of the deadline sweep (issue 3, "Benchmark"); prints its figures.

1. 1,000,000 pending deadlines of which 100,000 are due, on PostgreSQL, one sweeping process
   (the work of one ``-P solo`` worker running ``aftersales.sweep_deadlines``): time to act on
   all due ones and actions per second. Each action includes the handler, the row's move to
   ``done``, its timeline event and its outbox row (``DomainEvent``).
2. The same 100,000 due deadlines with only 10,000 not-yet-due ones: the ratio of the two times
   shows whether the sweep's cost grows with the rows that are not due.
3. Steady state: deadlines falling due continuously in real time, swept at the beat interval;
   the lag between due time and completion.

Targets: at least 2,000 actions/s; ratio at most 1.2; steady-state lag under 2 minutes. It is a
measurement: the exit status is 0 whether or not the targets are met.

    .venv/bin/python bench/deadlines.py                    # full size (drops as_bench_deadlines)
    .venv/bin/python bench/deadlines.py --scale 0.01 --steady-seconds 20 --beat 5

``BENCH_SYNCDB=1`` builds tables from the models instead of the migrations (development only).
"""

import argparse
import os
import statistics
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bench import _common as common  # noqa: E402
from bench._common import log  # noqa: E402

KIND = "bench.act"
MIN_RATE = 2000
MAX_RATIO = 1.2
MAX_LAG_S = 120


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--database-url",
        default=os.environ.get(
            "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/as_bench_deadlines"
        ),
        help="PostgreSQL database to DROP and recreate (default %(default)s)",
    )
    p.add_argument(
        "--scale", type=float, default=1.0, help="multiply the row counts (0.01 for a smoke run)"
    )
    p.add_argument("--batch-size", type=int, default=500)
    p.add_argument(
        "--steady-seconds",
        type=float,
        default=150.0,
        help="length of the steady-state run (0 to skip)",
    )
    p.add_argument(
        "--steady-rate",
        type=float,
        default=200.0,
        help="deadlines falling due per second in the steady-state run",
    )
    p.add_argument("--beat", type=float, default=60.0, help="seconds between sweeps (beat)")
    p.add_argument(
        "--without-subscribers",
        action="store_true",
        help="diagnosis only: unhook the domain-event subscribers (webhook outbox) "
        "to see the engine's own cost",
    )
    return p.parse_args(argv)


def _handler(deadline):
    return {"acted": True}


def load(*, pending, due, merchants):
    """``pending`` open deadlines of which ``due`` are past due, with generate_series."""
    from django.db import connection, transaction

    from aftersales.casefile.models import DomainEvent, TimelineEvent
    from aftersales.deadlines.models import Deadline
    from aftersales.tenancy.models import Merchant

    with transaction.atomic():
        cursor = connection.cursor()
        cursor.execute(
            f'TRUNCATE "{Deadline._meta.db_table}", "{TimelineEvent._meta.db_table}", '
            f'"{DomainEvent._meta.db_table}" CASCADE'
        )
        if not Merchant.objects.exists():
            Merchant.objects.bulk_create(
                [
                    Merchant(code=f"bench-m{i:02d}", name=f"基准商家 {i:02d}")
                    for i in range(1, merchants + 1)
                ]
            )
        ids = list(Merchant.objects.order_by("pk").values_list("pk", flat=True))
        cursor.execute("SET LOCAL synchronous_commit = off")
        # Due rows: spread over the last hour. Not-yet-due rows: over the next 30 days.
        common.insert_select(
            cursor,
            Deadline,
            {
                "subject_type": "'bench.case'",
                "subject_id": "g",
                "merchant_id": (f"(%s::bigint[])[1 + g %% {len(ids)}]", (ids,)),
                "kind": (f"'{KIND}'", ()),
                "due_at": (
                    "CASE WHEN g <= %s THEN now() - (g %% 3600) * interval '1 second' "
                    "ELSE now() + interval '1 hour' + (g %% 2592000) * interval '1 second' END",
                    (due,),
                ),
                "state": "'pending'",
                "result": "'{}'::jsonb",
                "data": "'{}'::jsonb",
                "policy_key": "''",
                "attempts": "0",
                "last_error": "''",
                "created_at": "now()",
            },
            "generate_series(1, %s) AS g",
            (pending,),
        )
    cursor = connection.cursor()
    cursor.execute(f'VACUUM ANALYZE "{Deadline._meta.db_table}"')


def sweep_all(batch_size):
    from aftersales.deadlines.engine import deadline_sweep

    started = time.perf_counter()
    stats = deadline_sweep(batch_size=batch_size)
    return time.perf_counter() - started, stats


def check_effects(expected):
    from aftersales.casefile.models import DomainEvent, TimelineEvent
    from aftersales.deadlines.models import Deadline

    done = Deadline.objects.filter(state="done").count()
    timeline = TimelineEvent.objects.filter(verb="deadline.fired").count()
    outbox = DomainEvent.objects.filter(name="deadline.fired").count()
    ok = done == timeline == outbox == expected
    return ok, f"done={done:,} timeline={timeline:,} outbox={outbox:,}"


def scenario(name, *, pending, due, merchants, batch_size):
    log(f"{name}: loading {pending:,} pending deadlines, {due:,} due")
    t = time.perf_counter()
    load(pending=pending, due=due, merchants=merchants)
    log(f"  loaded in {time.perf_counter() - t:.1f} s")
    seconds, stats = sweep_all(batch_size)
    ok, effects = check_effects(due)
    rate = stats.done / seconds if seconds else float("inf")
    print(
        f"{name}: {pending:,} pending, {due:,} due → acted on {stats.done:,} in {seconds:.2f} s "
        f"= {rate:,.0f} actions/s ({stats.batches} batches of ≤{batch_size}); {effects}"
        f"{'' if ok else '  !! effects do not match'}"
    )
    return seconds, rate, ok


def steady_state(*, seconds, rate, beat, batch_size):
    """Deadlines fall due at ``rate`` per second in real time; a sweeper runs every ``beat``."""
    from django.db import connection, connections, transaction

    from aftersales import clock
    from aftersales.deadlines.engine import deadline_sweep
    from aftersales.deadlines.models import Deadline

    with transaction.atomic():
        connection.cursor().execute(f'TRUNCATE "{Deadline._meta.db_table}" CASCADE')
    stop = threading.Event()
    errors = []

    def producer():
        try:
            n = 0
            while not stop.is_set():
                tick = time.monotonic()
                now = clock.now()
                count = max(1, int(rate))
                with connection.cursor() as cursor:
                    cursor.execute(
                        'INSERT INTO "aftersales_deadline" (subject_type, subject_id, kind, '
                        "due_at, state, result, data, policy_key, attempts, last_error, "
                        "created_at) SELECT 'bench.steady', %s + g, %s, "
                        "%s + g * (interval '1 second' / %s), 'pending', "
                        "'{}', '{}', '', 0, '', now() FROM generate_series(1, %s) g",
                        [n, KIND, now, count, count],
                    )
                n += count
                stop.wait(max(0.0, 1.0 - (time.monotonic() - tick)))
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)
        finally:
            connections.close_all()

    def sweeper():
        try:
            while not stop.is_set():
                deadline_sweep(batch_size=batch_size)
                stop.wait(beat)
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=producer), threading.Thread(target=sweeper)]
    for t in threads:
        t.start()
    time.sleep(seconds)
    stop.set()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    deadline_sweep(batch_size=batch_size)  # the beat after the run
    lags = sorted(
        (row[0] - row[1]).total_seconds()
        for row in Deadline.objects.filter(subject_type="bench.steady", state="done").values_list(
            "completed_at", "due_at"
        )
    )
    if not lags:
        print("steady state: nothing acted on")
        return None
    worst = lags[-1]
    print(
        f"steady state: {len(lags):,} deadlines at {rate:g}/s over {seconds:g} s, sweep every "
        f"{beat:g} s → lag median {statistics.median(lags):.1f} s, "
        f"p99 {common.percentile(lags, 99):.1f} s, max {worst:.1f} s "
        f"(target < {MAX_LAG_S} s: {'met' if worst < MAX_LAG_S else 'NOT met'})"
    )
    return worst


def main(argv=None):
    args = parse_args(argv)
    syncdb = os.environ.get("BENCH_SYNCDB", "").lower() in {"1", "true", "yes", "on"}
    os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"
    os.environ["DATABASE_URL"] = args.database_url
    env = dict(os.environ)
    print(f"# deadline sweep benchmark · {time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime())}")
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
    from aftersales.deadlines.registry import deadline_register

    deadline_register(KIND, _handler, "基准测试：执行一次")
    from aftersales.casefile import events

    if args.without_subscribers:
        events._handlers.clear()
        print("!! domain-event subscribers unhooked (--without-subscribers): not the product")
    subscribers = [
        f"{getattr(h, '__module__', '?')}.{getattr(h, '__qualname__', h)}"
        f"{' (batched)' if getattr(h, 'many', None) else ''}"
        for h in events.subscribers("deadline.fired")
    ]
    print(f"subscribers of deadline.fired: {', '.join(subscribers) or 'none'}")

    big, due, small = (int(n * args.scale) for n in (1_000_000, 100_000, 10_000))
    # Warm-up: imports, connection and query compilation out of the first measurement.
    load(pending=2 * args.batch_size, due=args.batch_size, merchants=10)
    sweep_all(args.batch_size)
    t_big, rate_big, ok_big = scenario(
        "large table", pending=big, due=due, merchants=10, batch_size=args.batch_size
    )
    t_small, rate_small, ok_small = scenario(
        "small table", pending=due + small, due=due, merchants=10, batch_size=args.batch_size
    )
    ratio = t_big / t_small if t_small else float("inf")
    worst = None
    if args.steady_seconds > 0:
        log(f"steady state for {args.steady_seconds:g} s")
        worst = steady_state(
            seconds=args.steady_seconds,
            rate=args.steady_rate * args.scale if args.scale < 1 else args.steady_rate,
            beat=args.beat,
            batch_size=args.batch_size,
        )
    print()
    print("| figure | value | target |")
    print("|---|---|---|")
    print(
        f"| actions/s, {big:,} pending / {due:,} due | {rate_big:,.0f} | ≥ {MIN_RATE:,} "
        f"{'✓' if rate_big >= MIN_RATE else '✗'} |"
    )
    print(f"| actions/s, {due + small:,} pending / {due:,} due | {rate_small:,.0f} | — |")
    print(
        f"| time ratio large/small | {ratio:.2f} | ≤ {MAX_RATIO} "
        f"{'✓' if ratio <= MAX_RATIO else '✗'} |"
    )
    if worst is not None:
        print(
            f"| steady-state max lag | {worst:.1f} s | < {MAX_LAG_S} s "
            f"{'✓' if worst < MAX_LAG_S else '✗'} |"
        )
    if not (ok_big and ok_small):
        print("!! the number of timeline events or outbox rows does not match the actions")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
