"""Benchmark of the orders list (issue 2, "Benchmark"); prints its figures.

A merchant with 100,000 orders in a 1,000,000-order table on PostgreSQL; ``GET /api/v1/orders/``
with that merchant's API key under gunicorn, 8 concurrent clients following the
``next`` cursors; the same pages from a bare Django view with ``.values()`` as the floor; and
queries per request for page sizes 5, 25 and 100, counted in-process.

Targets: queries per request constant whatever the page size and at most 6; throughput at
least 50% of the bare view; p95 at most 50 ms. It is a measurement: the exit status is 0 whether
or not the targets are met, non-zero only on errors (a failed request, a missing endpoint).

    .venv/bin/python bench/api_list.py                       # full run (drops aftersales_bench)
    .venv/bin/python bench/api_list.py --orders 20000 --merchant-orders 5000 --duration 5
"""

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bench import _common as common  # noqa: E402
from bench._common import log  # noqa: E402

API_PATH = "/api/v1/orders/"
BARE_PATH = "/bench/bare-orders/"
PAGE_SIZES = (5, 25, 100)
MAX_QUERIES = 6
MIN_RATIO = 0.5
MAX_P95_MS = 50.0


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--database-url",
        default=os.environ.get(
            "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/aftersales_bench"
        ),
        help="PostgreSQL database to DROP and recreate (default %(default)s)",
    )
    p.add_argument("--orders", type=int, default=1_000_000, help="orders in the table")
    p.add_argument(
        "--merchant-orders", type=int, default=100_000, help="orders of the benchmarked merchant"
    )
    p.add_argument("--merchants", type=int, default=10)
    p.add_argument(
        "--reuse-data",
        action="store_true",
        help="keep the database of a previous run (no drop, migrate or load)",
    )
    p.add_argument("--clients", type=int, default=8)
    p.add_argument("--duration", type=float, default=15.0, help="seconds per scenario")
    p.add_argument("--warmup", type=float, default=3.0, help="seconds of warm-up per scenario")
    p.add_argument(
        "--depth",
        type=int,
        default=20,
        help="pages each client follows through `next` before starting again",
    )
    p.add_argument("--page-size", type=int, default=25)
    p.add_argument("--workers", type=int, default=4)
    p.add_argument(
        "--worker-class",
        default="sync",
        choices=["sync", "gthread"],
        help="sync, as config/gunicorn.py (default %(default)s)",
    )
    p.add_argument("--threads", type=int, default=2, help="threads per gthread worker")
    return p.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    syncdb = os.environ.get("BENCH_SYNCDB", "").lower() in {"1", "true", "yes", "on"}
    os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"
    os.environ["DATABASE_URL"] = args.database_url
    env = dict(os.environ)
    started = time.monotonic()

    print(f"# orders list benchmark · {time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime())}")
    print(
        f"machine: {os.cpu_count()} cpu, load average {os.getloadavg()[0]:.2f} "
        f"{os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f}"
    )
    print(f"database: {args.database_url}")
    if not args.reuse_data:
        log(f"recreating database; migrate{' --run-syncdb (BENCH_SYNCDB=1)' if syncdb else ''}")
        common.recreate_database(args.database_url)
        common.migrate(env, syncdb=syncdb)

    import django

    django.setup()
    from django.conf import settings
    from django.db import connection
    from django.urls import Resolver404, resolve

    from aftersales.tenancy.models import Merchant
    from orders.models import Order

    if args.reuse_data:
        big = Merchant.objects.get(code="bench-m01")
    else:
        log(
            f"loading {args.orders:,} orders, {args.merchant_orders:,} of one merchant, "
            f"over {args.merchants} merchants"
        )
        big = common.load_data(
            orders=args.orders, merchant_orders=args.merchant_orders, merchants=args.merchants
        )
    raw_key = common.merchant_api_key(big)
    headers = {"Authorization": f"Api-Key {raw_key}", "Accept": "application/json"}
    total = Order.objects.count()
    mine = Order.objects.filter(merchant=big).count()
    print(f"data: {total:,} orders; merchant {big.code} has {mine:,}; SANDBOX={settings.SANDBOX}")

    try:
        resolve(API_PATH)
        has_api = True
    except Resolver404:
        has_api = False
        print(f"!! {API_PATH} is not routed (orders/api/urls.py): only the bare view is measured")

    failures = []
    queries = {}
    if has_api:
        queries = count_queries(headers, failures)
    paths = [("bare", f"{BARE_PATH}?page_size={args.page_size}")]
    if has_api:
        paths.append(("api", f"{API_PATH}?page_size={args.page_size}"))
    cpu = time_in_process(headers, paths, args.depth)
    connection.close()

    gunicorn = common.Gunicorn(
        env, workers=args.workers, worker_class=args.worker_class, threads=args.threads
    )
    server = (
        f"gunicorn config.wsgi, {args.workers} {args.worker_class} workers"
        + (f" × {args.threads} threads" if args.worker_class == "gthread" else "")
        + f", 127.0.0.1:{gunicorn.port}, DEBUG={settings.DEBUG}"
    )
    print(f"server: {server}")
    print(
        f"load: {args.clients} clients (HTTP/1.1, reconnecting when the server closes), "
        f"{args.duration:g} s per scenario after {args.warmup:g} s warm-up, "
        f"each following `next` up to {args.depth} pages, page_size={args.page_size}"
    )
    results = {}
    with gunicorn:
        scenarios = paths
        same_page(gunicorn.port, scenarios, headers, args.page_size, failures)
        for name, path in scenarios:
            if args.warmup > 0:
                common.drive(
                    name,
                    gunicorn.port,
                    path,
                    headers,
                    clients=args.clients,
                    duration=args.warmup,
                    depth=args.depth,
                )
            log(f"running {name}: GET {path}")
            res = common.drive(
                name,
                gunicorn.port,
                path,
                headers,
                clients=args.clients,
                duration=args.duration,
                depth=args.depth,
            )
            results[name] = res.summary()
            for err in res.errors[:5]:
                failures.append(f"{name}: {err}")
            if res.errors:
                failures.append(f"{name}: {len(res.errors)} failed requests")

    report(results, queries, cpu, failures, args.clients)
    print(f"(total run time {time.monotonic() - started:.0f} s)")
    if failures:
        print("\nERRORS:")
        for f in failures:
            print(f"  {f}")
        return 1
    return 0 if has_api else 2


def count_queries(headers, failures):
    """Queries of the API for the first and a following page at each size, in-process.

    Also the plan of the page query on the big table, and the keys of an API and a bare row.
    """
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client(headers=headers)
    out = {}
    for size in PAGE_SIZES:
        path = f"{API_PATH}?page_size={size}"
        client.get(path)  # warm: key's last_used_at write, caches, clock
        counts = []
        for page in range(2):
            with CaptureQueriesContext(connection) as ctx:
                resp = client.get(path)
            if resp.status_code != 200:
                failures.append(
                    f"queries: GET {path} answered {resp.status_code}: {resp.content[:300]!r}"
                )
                break
            body = resp.json()
            if len(body.get("results", [])) != size:
                failures.append(f"queries: GET {path} gave {len(body.get('results', []))} rows")
            counts.append(len(ctx.captured_queries))
            if size == 25 and page == 1:
                out["sql"] = [q["sql"] for q in ctx.captured_queries]
                out["fields"] = sorted(body["results"][0]) if body.get("results") else []
            nxt = body.get("next")
            if not nxt:
                break
            path = nxt.split("testserver", 1)[-1]
        out[size] = counts
    bare = client.get(f"{BARE_PATH}?page_size=25").json().get("results") or [{}]
    out["bare_fields"] = sorted(bare[0])
    page_sql = [q for q in out.get("sql", []) if '"orders_order"' in q.split(" FROM ", 1)[-1][:40]]
    if page_sql:
        with connection.cursor() as cursor:
            cursor.execute("EXPLAIN (ANALYZE, COSTS OFF) " + page_sql[0])
            out["plan"] = [row[0] for row in cursor.fetchall()]
    return out


def time_in_process(headers, paths, depth, seconds=2.0):
    """Mean milliseconds per request, one thread, no HTTP: the CPU cost of each view."""
    from django.test import Client

    client = Client(headers=headers)
    out = {}
    for name, start in paths:
        path, page, n = start, 0, 0
        client.get(path)
        t0 = time.perf_counter()
        while time.perf_counter() - t0 < seconds:
            nxt = client.get(path).json().get("next")
            n += 1
            page += 1
            if nxt and page < depth:
                path = nxt.split("testserver", 1)[-1]
            else:
                path, page = start, 0
        out[name] = (time.perf_counter() - t0) / n * 1000
    return out


def same_page(port, scenarios, headers, size, failures):
    """The API and the bare view must serve the same orders on the first page."""
    import json

    ids = {}
    for name, path in scenarios:
        status, body = common.fetch(port, path, headers)
        if status != 200:
            failures.append(f"{name}: GET {path} answered {status}: {body[:300]!r}")
            continue
        rows = json.loads(body).get("results", [])
        ids[name] = [r.get("id") for r in rows]
        if len(rows) != size:
            failures.append(f"{name}: first page has {len(rows)} rows, expected {size}")
    if "api" in ids and "bare" in ids and ids["api"] != ids["bare"]:
        failures.append(
            "api and bare view serve different first pages "
            f"({ids['api'][:3]}… vs {ids['bare'][:3]}…)"
        )


def verdict(ok):
    return "PASS" if ok else "FAIL"


def report(results, queries, cpu, failures, clients):
    from bench.views import FIELDS

    print(f"\n## throughput and latency ({clients} clients, gunicorn)")
    print(
        f"{'scenario':<8} {'requests':>9} {'rps':>8} {'median ms':>10} {'p95 ms':>8} "
        f"{'p99 ms':>8} {'page 1 med':>11} {'page≥11 med':>12} {'errors':>7} {'client cpu':>11}"
    )
    for name, r in results.items():
        print(
            f"{name:<8} {r['requests']:>9,} {r['rps']:>8.1f} {r['median_ms']:>10.1f} "
            f"{r['p95_ms']:>8.1f} {r['p99_ms']:>8.1f} {r['first_page_median_ms']:>11.1f} "
            f"{r['deep_page_median_ms']:>12.1f} {r['errors']:>7} {r['client_cores']:>10.2f}c"
        )

    if queries:
        print("\n## queries per request (in-process, same key; first page, next page)")
        for size in PAGE_SIZES:
            print(f"page_size={size:<4} {queries.get(size)}")
        print(f"API row keys:  {', '.join(queries.get('fields', []))}")
        print(
            f"bare row keys: {', '.join(queries.get('bare_fields', []))}  (from {len(FIELDS)} "
            "columns with .values())"
        )
        print("SQL of a next page (page_size=25):")
        for i, sql in enumerate(queries.get("sql", []), 1):
            print(f"  {i}. {sql[:220]}{'…' if len(sql) > 220 else ''}")
        if queries.get("plan"):
            print("plan of the page query:")
            for line in queries["plan"]:
                print(f"    {line}")
    if cpu:
        print("\n## in-process cost (one thread, no HTTP, pages 1–20)")
        for name, ms in cpu.items():
            print(f"{name:<8} {ms:.2f} ms/request")

    print("\n## targets")
    if queries and all(queries.get(s) for s in PAGE_SIZES):
        counts = {c for s in PAGE_SIZES for c in queries[s]}
        ok = len(counts) == 1 and max(counts) <= MAX_QUERIES
        print(
            f"{verdict(ok)}  queries per request constant across page sizes and ≤ {MAX_QUERIES}: "
            f"{sorted(counts)}"
        )
    else:
        print("n/a   queries per request: the API was not measured")
    if "api" in results and "bare" in results and results["bare"]["rps"]:
        ratio = results["api"]["rps"] / results["bare"]["rps"]
        print(
            f"{verdict(ratio >= MIN_RATIO)}  throughput api/bare ≥ {MIN_RATIO:.0%}: "
            f"{results['api']['rps']:.1f} / {results['bare']['rps']:.1f} rps = {ratio:.0%}"
        )
        p95 = results["api"]["p95_ms"]
        print(f"{verdict(p95 <= MAX_P95_MS)}  api p95 ≤ {MAX_P95_MS:g} ms: {p95:.1f} ms")
    else:
        print("n/a   throughput ratio and p95: the API was not measured")
    if failures:
        print("(errors below: figures may not be meaningful)")


if __name__ == "__main__":
    sys.exit(main())
