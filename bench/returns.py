"""Benchmark of return requests (issue 4, "Benchmark"); prints its figures.

On PostgreSQL, under gunicorn (4 sync workers), consumers signed in with a session:

(a) requests created per second: ``POST /api/v1/returns/`` (a no-reason return of a line signed
    yesterday, so every call runs the whole entitlement check: the line's parcel, category,
    held quantities, policies, R15 amounts, R8 shipping, R17 insurance) from N concurrent
    clients, each on its own lines. Target: at least 150 requests created per second.
(b) end-to-end latency of an unshipped instant refund (R11): ``POST /api/v1/returns/`` with
    ``kind=refund_only`` on a paid line not shipped yet, answered with the request approved, the
    line cancelled and the refund split over the tenders and sent to the gateway (``pending``);
    one client, one call after another. Target: p95 at most 300 ms.

It is a measurement: the exit status is 0 whether or not the targets are met, non-zero only on
errors (a failed request, an answer that is not what it should be).

    .venv/bin/python bench/returns.py                       # drops aftersales_bench_returns
    .venv/bin/python bench/returns.py --signed 6000 --duration 8 --latency-calls 200  # quick
"""

import argparse
import http.client
import json
import os
import secrets
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bench import _common as common  # noqa: E402
from bench._common import log, percentile  # noqa: E402

PATH = "/api/v1/returns/"
FLOOR_PATH = "/bench/bare-create/"
MIN_RATE = 150.0
MAX_P95_MS = 300.0


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--database-url",
        default=os.environ.get(
            "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/aftersales_bench_returns"
        ),
        help="PostgreSQL database to DROP and recreate (default %(default)s)",
    )
    p.add_argument(
        "--signed",
        type=int,
        default=30_000,
        help="signed order lines open to a no-reason return (each is asked for once)",
    )
    p.add_argument("--background-orders", type=int, default=200_000, help="other orders")
    p.add_argument("--merchants", type=int, default=10)
    p.add_argument("--consumers", type=int, default=400, help="consumers, one session each")
    p.add_argument("--clients", type=int, default=8)
    p.add_argument("--duration", type=float, default=15.0, help="seconds of scenario (a)")
    p.add_argument("--warmup", type=float, default=8.0, help="seconds of warm-up before (a)")
    p.add_argument(
        "--floor-duration",
        type=float,
        default=8.0,
        help="seconds of the floor scenario (bench/views.py bare_create) before (a); 0: skip",
    )
    p.add_argument("--latency-calls", type=int, default=300, help="instant refunds in (b)")
    p.add_argument(
        "--in-process", type=int, default=30, help="creates of each kind timed in-process"
    )
    p.add_argument("--workers", type=int, default=4)
    p.add_argument(
        "--worker-class",
        default="sync",
        choices=["sync", "gthread"],
        help="sync, as config/gunicorn.py (default %(default)s)",
    )
    p.add_argument("--threads", type=int, default=2, help="threads per gthread worker")
    return p.parse_args(argv)


# -- data ---------------------------------------------------------------------------------------


def load(*, signed, unshipped, background, merchants, consumers):
    """Bulk rows with ``INSERT ... SELECT generate_series``: merchants with an owner each (they
    are notified of new requests), consumers with users, ``signed`` delivered orders of one line
    each whose parcel was signed yesterday, ``unshipped`` paid orders not shipped yet, and
    ``background`` other orders (completed, signed weeks ago) so that the tables are not tiny.
    Every order is paid with two tenders (card and balance), so refunds split pro rata (R7)."""
    from django.db import connection, transaction

    from aftersales import clock
    from aftersales.pii import blind_index, encrypt
    from aftersales.tenancy.models import ConsumerProfile, Merchant, MerchantMember, User
    from orders.models import Category, Order, OrderLine, Payment, Product, Shipment, Sku, Tender

    now = clock.now()
    t0 = time.monotonic()
    total = signed + unshipped + background
    with transaction.atomic():
        cursor = connection.cursor()
        cursor.execute("SET LOCAL synchronous_commit = off")
        merchant_rows = Merchant.objects.bulk_create(
            [
                Merchant(code=f"bench-m{i:02d}", name=f"基准商家 {i:02d}", created_at=now)
                for i in range(1, merchants + 1)
            ]
        )
        for m in merchant_rows:
            owner = User.objects.create(username=f"bench_owner_{m.pk}", password="!")
            MerchantMember.objects.create(merchant=m, user=owner, role="owner")
        category = Category.objects.create(
            code="bench-apparel", name="服装", no_reason_class="allowed"
        )
        products = Product.objects.bulk_create(
            [
                Product(merchant=m, category=category, name=f"T恤 {m.pk}-{p}", created_at=now)
                for m in merchant_rows
                for p in range(5)
            ]
        )
        skus = Sku.objects.bulk_create(
            [
                Sku(product=pr, code=f"bench-{pr.pk}-{s}", spec=["M", "L"][s], price="199.00")
                for pr in products
                for s in range(2)
            ]
        )
        insert = common.insert_select
        insert(
            cursor,
            User,
            {
                "username": "'bench_c' || g",
                "password": "'!'",
                "is_active": "true",
                "is_staff": "false",
                "is_superuser": "false",
                "date_joined": ("%s::timestamptz", [now]),
            },
            "generate_series(1, %s) g",
            [consumers],
        )
        names = [encrypt(v) for v in common.NAMES]
        phones = [encrypt(v) for v in common.PHONES]
        insert(
            cursor,
            ConsumerProfile,
            {
                "user_id": "u.id",
                "external_id": "'bench-c-' || u.id",
                "name": ("(%s::text[])[1 + u.id %% 8]", [names]),
                "phone": ("(%s::text[])[1 + u.id %% 8]", [phones]),
                "phone_index": (
                    "(%s::text[])[1 + u.id %% 8]",
                    [[blind_index(v) for v in common.PHONES]],
                ),
                "credit_score": "300 + u.id %% 700",
                "created_at": ("%s::timestamptz", [now]),
            },
            f'"{User._meta.db_table}" u WHERE u.username LIKE %s',
            ["bench\\_c%"],
        )
        cursor.execute(f'SELECT min(id), count(*) FROM "{ConsumerProfile._meta.db_table}"')
        cmin, ccount = cursor.fetchone()
        mids = "(ARRAY[" + ",".join(str(m.pk) for m in merchant_rows) + "]::bigint[])"
        # g ≤ signed: delivered yesterday; next ``unshipped``: paid, not shipped; rest: old.
        kind = (
            f"CASE WHEN g <= {signed} THEN 'delivered' "
            f"WHEN g <= {signed + unshipped} THEN 'paid' ELSE 'completed' END"
        )
        placed = (
            f"CASE WHEN g <= {signed + unshipped} THEN %s::timestamptz - interval '3 days' "
            "ELSE %s::timestamptz - interval '40 days' END"
        )
        regions = list(zip(*common.REGIONS, strict=True))
        insert(
            cursor,
            Order,
            {
                "merchant_id": f"{mids}[1 + g %% {len(merchant_rows)}]",
                "consumer_id": f"{cmin} + g %% {ccount}",
                "number": "'RB' || lpad(g::text, 12, '0')",
                "status": kind,
                "placed_at": (placed, [now, now]),
                "paid_at": (placed, [now, now]),
                "delivered_at": (
                    f"CASE WHEN g <= {signed} OR g > {signed + unshipped} "
                    f"THEN {placed} + interval '2 days' END",
                    [now, now],
                ),
                "total_amount": "round((59 + g %% 400 + (g %% 100) / 100.0)::numeric, 2)",
                "ship_name": ("(%s::text[])[1 + g %% 8]", [names]),
                "ship_phone": ("(%s::text[])[1 + g %% 8]", [phones]),
                "ship_province": ("(%s::text[])[1 + g %% 8]", [list(regions[0])]),
                "ship_city": ("(%s::text[])[1 + g %% 8]", [list(regions[1])]),
                "ship_district": ("(%s::text[])[1 + g %% 8]", [list(regions[2])]),
                "ship_street": (
                    "(%s::text[])[1 + g %% 8]",
                    [[encrypt(v) for v in common.STREETS]],
                ),
                "ship_unit": ("(%s::text[])[1 + g %% 8]", [[encrypt(v) for v in common.UNITS]]),
                "created_at": (placed, [now, now]),
            },
            "generate_series(1, %s) g",
            [total],
        )
        log(f"  {total:,} orders in {time.monotonic() - t0:.1f}s")
        cursor.execute(
            "CREATE TEMP TABLE bench_sku (merchant_id bigint, idx int, sku_id bigint, "
            "product_name text, spec text) ON COMMIT DROP"
        )
        rows = []
        for m in merchant_rows:
            mine = [s for s in skus if s.product.merchant_id == m.pk]
            rows += [(m.pk, i, s.pk, s.product.name, s.spec) for i, s in enumerate(mine)]
        cursor.executemany("INSERT INTO bench_sku VALUES (%s, %s, %s, %s, %s)", rows)
        orders = f'"{Order._meta.db_table}" o'
        insert(
            cursor,
            OrderLine,
            {
                "order_id": "o.id",
                "sku_id": "s.sku_id",
                "product_name": "s.product_name",
                "spec": "s.spec",
                "quantity": "1",
                "unit_price": "o.total_amount",
                "discount_amount": "0",
                "paid_amount": "o.total_amount",
            },
            f"{orders} JOIN bench_sku s ON s.merchant_id = o.merchant_id AND s.idx = o.id %% 10",
        )
        insert(
            cursor,
            Payment,
            {
                "order_id": "o.id",
                "external_id": "'RBP' || o.id",
                "status": "'succeeded'",
                "amount": "o.total_amount",
                "paid_at": "o.paid_at",
            },
            orders,
        )
        payments = f'"{Payment._meta.db_table}" p'
        card = "round(p.amount * 0.8, 2)"
        insert(cursor, Tender, {"payment_id": "p.id", "kind": "'card'", "amount": card}, payments)
        insert(
            cursor,
            Tender,
            {"payment_id": "p.id", "kind": "'balance'", "amount": f"p.amount - {card}"},
            payments,
        )
        insert(
            cursor,
            Shipment,
            {
                "order_id": "o.id",
                "line_id": "l.id",
                "merchant_id": "o.merchant_id",
                "carrier": "'SF'",
                "tracking_number": "'RBS' || l.id",
                "status": "'signed'",
                "purpose": "'outbound'",
                "shipped_at": "o.placed_at + interval '1 hour'",
                "last_event_at": "o.delivered_at",
                "signed_at": ("LEAST(o.delivered_at, %s::timestamptz - interval '1 day')", [now]),
            },
            f'{orders} JOIN "{OrderLine._meta.db_table}" l ON l.order_id = o.id '
            "WHERE o.status <> 'paid'",
        )
        log(f"  lines, payments, tenders and parcels in {time.monotonic() - t0:.1f}s")
    with connection.cursor() as cursor:
        for model in (User, ConsumerProfile, Order, OrderLine, Payment, Tender, Shipment):
            cursor.execute(f'VACUUM ANALYZE "{model._meta.db_table}"')
    log(f"  data loaded in {time.monotonic() - t0:.1f}s")


def sessions():
    """A signed-in session per bench consumer (the consumer's own path through the API) and a
    CSRF secret for it: ``{consumer_id: headers}``."""
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore

    from aftersales.tenancy.models import ConsumerProfile

    out = {}
    for profile in ConsumerProfile.objects.filter(
        external_id__startswith="bench-c-"
    ).select_related("user"):
        store = SessionStore()
        store[SESSION_KEY] = str(profile.user.pk)
        store[BACKEND_SESSION_KEY] = "aftersales.tenancy.auth.RoleLoadingBackend"
        store[HASH_SESSION_KEY] = profile.user.get_session_auth_hash()
        store.create()
        csrf = secrets.token_hex(16)  # 32 characters: Django's unmasked secret
        out[profile.pk] = {
            "Cookie": f"sessionid={store.session_key}; csrftoken={csrf}",
            "X-CSRFToken": csrf,
            "Content-Type": "application/json",
            "Accept": "application/json",
        }
    return out


def work(status, limit=None):
    """``[(consumer_id, line_id)]`` of the orders in ``status`` (delivered or paid)."""
    from orders.models import OrderLine

    qs = (
        OrderLine.objects.filter(order__status=status, order__number__startswith="RB")
        .order_by("id")
        .values_list("order__consumer_id", "id")
    )
    return list(qs[:limit] if limit else qs)


def unused_signed_creator(count):
    """For the in-process measurements (``bench/instructions.py``, ``bench/profile_create.py``,
    after a run of this script): the ``(consumer_id, line_id)`` of ``count`` signed lines no
    request was made for yet, and ``run(items)`` that asks for a no-reason return of each through
    Django's test client, every client sharing one handler (as a worker process has)."""
    from django.test import Client

    from orders.models import OrderLine

    headers = sessions()
    items = list(
        OrderLine.objects.filter(
            order__status="delivered",
            order__number__startswith="RB",
            return_requests__isnull=True,
        )
        .order_by("-id")
        .values_list("order__consumer_id", "id")[:count]
    )
    if len(items) < count:
        raise SystemExit("not enough unused signed lines: run bench/returns.py again")
    handler = Client().handler
    clients = {}
    for consumer_id, h in headers.items():
        clients[consumer_id] = Client(HTTP_COOKIE=h["Cookie"], HTTP_X_CSRFTOKEN=h["X-CSRFToken"])
        clients[consumer_id].handler = handler

    def run(batch):
        for consumer_id, line_id in batch:
            body = {"line": line_id, "kind": "return_refund", "reason": "no_reason", "quantity": 1}
            response = clients[consumer_id].post(
                PATH, json.dumps(body), content_type="application/json"
            )
            if response.status_code != 201:
                raise SystemExit(
                    f"create answered {response.status_code}: {response.content[:300]!r}"
                )

    return items, run


# -- load ---------------------------------------------------------------------------------------


class Run:
    def __init__(self):
        self.latencies = []
        self.errors = []
        self.created = 0
        self.elapsed = 0.0
        self.lock = threading.Lock()


def post(conn, body, headers, path=PATH):
    conn.request("POST", path, body=json.dumps(body), headers=headers)
    resp = conn.getresponse()
    return resp.status, resp.read()


def check_created(status, raw, *, instant):
    """What the answer must be: 201 and the request (R11: refunding with its refund)."""
    if status != 201:
        return f"{status}: {raw[:200]!r}"
    data = json.loads(raw)
    if instant:
        refund = data.get("refund") or {}
        if data.get("status") != "refunding" or refund.get("status") not in (
            "pending",
            "succeeded",
        ):
            return f"instant refund answered {data.get('status')} / {refund.get('status')}"
        if len(refund.get("parts", [])) != 2:
            return f"refund has {len(refund.get('parts', []))} parts, not 2 (card + balance)"
    elif data.get("status") != "requested" or data.get("rule") != "R1":
        return f"answered {data.get('status')} under {data.get('rule')}"
    return None


def check_floor(status, raw, *, instant):
    if status != 201:
        return f"floor: HTTP {status}: {raw[:200]!r}"
    return None


def drive(port, queues, headers, *, duration, instant=False, floor=False):
    """One thread per queue, each creating requests for its lines until ``duration`` is over
    (or its lines run out); one HTTP/1.1 connection each, reopened when the server closes it.
    ``floor``: the same calls to the floor view instead (bench/views.py ``bare_create``)."""
    path, check = (FLOOR_PATH, check_floor) if floor else (PATH, check_created)
    run = Run()
    stop_at = time.monotonic() + duration
    barrier = threading.Barrier(len(queues) + 1)
    kind = "refund_only" if instant else "return_refund"
    reason = "changed_mind" if instant else "no_reason"

    def client(queue):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        latencies, errors, created = [], [], 0
        barrier.wait()
        while queue and time.monotonic() < stop_at:
            consumer_id, line_id = queue.pop()
            body = {"line": line_id, "kind": kind, "reason": reason, "quantity": 1}
            t = time.perf_counter()
            try:
                status, raw = post(conn, body, headers[consumer_id], path)
            except (OSError, http.client.HTTPException) as exc:
                errors.append(f"{type(exc).__name__}: {exc}")
                conn.close()
                continue
            latencies.append(time.perf_counter() - t)
            problem = check(status, raw, instant=instant)
            if problem:
                errors.append(problem)
            else:
                created += 1
        conn.close()
        with run.lock:
            run.latencies += latencies
            run.errors += errors
            run.created += created

    threads = [threading.Thread(target=client, args=(q,), daemon=True) for q in queues]
    for th in threads:
        th.start()
    barrier.wait()
    t0 = time.monotonic()
    for th in threads:
        th.join()
    run.elapsed = time.monotonic() - t0
    return run


def split(items, n):
    return [items[i::n] for i in range(n)]


def _same_merchant(items):
    """Two items of ``items`` (popped) whose lines belong to the same merchant and category."""
    from orders.models import OrderLine

    facts = dict(
        (pk, (m, c))
        for pk, m, c in OrderLine.objects.filter(pk__in=[i[1] for i in items[-200:]]).values_list(
            "pk", "order__merchant_id", "sku__product__category_id"
        )
    )
    last = items[-1]
    for i in range(len(items) - 2, max(-1, len(items) - 201), -1):
        if facts.get(items[i][1]) == facts[last[1]]:
            return items.pop(), items.pop(i)
    raise SystemExit("no two lines of one merchant and category to measure with")


def in_process_queries(headers, signed, paid, failures):
    """Statements of one create of each kind, in-process (Django's test client), as a consumer
    who is browsing meets them: the consumer's session read once before (a GET of their
    returns), and the merchant's policies and webhook endpoints in the shared cache after an
    earlier create of the same merchant and category (a first create after the cache was
    emptied reads the session row, the policies and the endpoints: 3 more)."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    out = {}
    for name, items, kind, reason in (
        ("no-reason return", signed, "return_refund", "no_reason"),
        ("instant refund", paid, "refund_only", "changed_mind"),
    ):
        warm_item, item = _same_merchant(items)
        for consumer_id, line_id in (warm_item, item):
            h = headers[consumer_id]
            client = Client(
                HTTP_COOKIE=h["Cookie"], HTTP_X_CSRFTOKEN=h["X-CSRFToken"], enforce_csrf_checks=True
            )
            client.get(PATH, {"page_size": 1})
            with CaptureQueriesContext(connection) as ctx:
                resp = client.post(
                    PATH,
                    json.dumps({"line": line_id, "kind": kind, "reason": reason, "quantity": 1}),
                    content_type="application/json",
                )
            problem = check_created(resp.status_code, resp.content, instant=kind == "refund_only")
            if problem:
                failures.append(f"in-process {name}: {problem}")
        out[name] = len(ctx.captured_queries)
        if os.environ.get("BENCH_SHOW_QUERIES"):
            print(f"\n## the {len(ctx.captured_queries)} statements of one {name}")
            for q in ctx.captured_queries:
                print("  " + q["sql"][:110])
    return out


def in_process_cost(headers, signed_items, unshipped_items):
    """Milliseconds per create in one thread through Django's test client (no HTTP, no
    concurrency): wall time and this process's CPU time, the Python side of each request
    (PostgreSQL's own CPU is not in it). Steadier than the load figures on a busy machine."""
    from django.test import Client

    out = {}
    for name, items, kind, reason in (
        ("no-reason return", signed_items, "return_refund", "no_reason"),
        ("instant refund", unshipped_items, "refund_only", "changed_mind"),
    ):
        wall = cpu = 0.0
        for consumer_id, line_id in items:
            h = headers[consumer_id]
            client = Client(HTTP_COOKIE=h["Cookie"], HTTP_X_CSRFTOKEN=h["X-CSRFToken"])
            body = json.dumps({"line": line_id, "kind": kind, "reason": reason, "quantity": 1})
            t, c = time.perf_counter(), time.process_time()
            client.post(PATH, body, content_type="application/json")
            wall += time.perf_counter() - t
            cpu += time.process_time() - c
        out[name] = (wall / len(items) * 1000, cpu / len(items) * 1000) if items else None
    return out


def main(argv=None):
    args = parse_args(argv)
    syncdb = os.environ.get("BENCH_SYNCDB", "").lower() in {"1", "true", "yes", "on"}
    os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"
    os.environ["DATABASE_URL"] = args.database_url
    os.environ.setdefault("CELERY_BROKER_URL", "redis://127.0.0.1:6379/13")
    env = dict(os.environ)
    started = time.monotonic()
    unshipped = args.latency_calls + 10 + args.in_process

    print(f"# return requests benchmark · {time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime())}")
    print(
        f"machine: {os.cpu_count()} cpu, load average "
        + " ".join(f"{x:.2f}" for x in os.getloadavg())
    )
    print(f"Python reference loop: {common.reference_loop_ms():.0f} ms (bench._common)")
    print(f"database: {args.database_url}; broker: {env['CELERY_BROKER_URL']}")
    log(f"recreating database; migrate{' --run-syncdb (BENCH_SYNCDB=1)' if syncdb else ''}")
    common.recreate_database(args.database_url)
    common.migrate(env, syncdb=syncdb)

    import django

    django.setup()
    from django.conf import settings
    from django.db import connection

    from returns.models import ReturnRequest

    log(
        f"loading {args.signed:,} signed lines, {unshipped:,} unshipped paid lines and "
        f"{args.background_orders:,} other orders over {args.merchants} merchants"
    )
    load(
        signed=args.signed,
        unshipped=unshipped,
        background=args.background_orders,
        merchants=args.merchants,
        consumers=args.consumers,
    )
    headers = sessions()
    signed, paid = work("delivered"), work("paid")
    failures = []
    queries = in_process_queries(headers, signed, paid, failures)
    if os.environ.get("BENCH_SHOW_QUERIES") == "only":
        print(queries)
        return 0
    n = args.in_process
    cost = in_process_cost(
        headers, [signed.pop() for _ in range(n)], [paid.pop() for _ in range(n)]
    )
    before = ReturnRequest.objects.count()
    connection.close()

    gunicorn = common.Gunicorn(
        env, workers=args.workers, worker_class=args.worker_class, threads=args.threads
    )
    print(
        f"server: gunicorn config.wsgi, {args.workers} {args.worker_class} workers, "
        f"127.0.0.1:{gunicorn.port}, DEBUG={settings.DEBUG}, SANDBOX={settings.SANDBOX}"
    )
    print(
        f"data: {len(signed):,} signed lines open to a no-reason return, {len(paid):,} unshipped "
        f"paid lines, {args.consumers} consumers signed in (session + CSRF), "
        f"{args.background_orders:,} other orders"
    )
    with gunicorn:
        queues = split(signed, args.clients)
        if args.warmup > 0:
            log(f"warm-up: {args.warmup:g} s, {args.clients} clients")
            warm = drive(gunicorn.port, queues, headers, duration=args.warmup)
            failures += [f"warm-up: {e}" for e in warm.errors[:5]]
        floor = floor_cpu = None
        if args.floor_duration > 0:
            log(f"floor: {args.floor_duration:g} s, {args.clients} clients, {FLOOR_PATH}")
            drive(
                gunicorn.port, split(signed[:2000], args.clients), headers, duration=2, floor=True
            )
            with common.CpuSplit(gunicorn.proc.pid) as floor_cpu:
                floor = drive(
                    gunicorn.port,
                    split(signed * 3, args.clients),
                    headers,
                    duration=args.floor_duration,
                    floor=True,
                )
            failures += [f"floor: {e}" for e in floor.errors[:5]]
        left = sum(len(q) for q in queues)
        log(f"(a) creating: {args.duration:g} s, {args.clients} clients, {left:,} lines left")
        with common.CpuSplit(gunicorn.proc.pid) as cpu:
            rate = drive(gunicorn.port, queues, headers, duration=args.duration)
        if not any(queues) and rate.elapsed < args.duration * 0.95:
            print(f"!! the lines ran out after {rate.elapsed:.1f} s: raise --signed")
        log(f"(b) instant refunds: {len(paid) - 5} calls, one client, one after another")
        warm_b = drive(gunicorn.port, [paid[:5]], headers, duration=60, instant=True)
        latency = drive(gunicorn.port, [paid[5:]], headers, duration=600, instant=True)

    after = ReturnRequest.objects.count()
    for name, run in (("(a)", rate), ("(b) warm-up", warm_b), ("(b)", latency)):
        failures += [f"{name} {e}" for e in run.errors[:5]]
        if run.errors:
            failures.append(f"{name} {len(run.errors)} failed requests")
    made = rate.created + latency.created + warm_b.created + (warm.created if args.warmup else 0)
    if after - before != made:
        failures.append(f"{after - before} requests in the database, {made} answered 201")
    report(args, rate, latency, queries, cost, cpu, floor, floor_cpu)
    print(f"(total run time {time.monotonic() - started:.0f} s)")
    if failures:
        print("\nERRORS:")
        for f in failures:
            print(f"  {f}")
        return 1
    return 0


def verdict(ok):
    return "PASS" if ok else "FAIL"


def ms(values, q):
    return percentile(sorted(values), q) * 1000


def report(args, rate, latency, queries, cost, cpu, floor=None, floor_cpu=None):
    per_second = rate.created / rate.elapsed if rate.elapsed else 0.0
    if floor is not None and floor.created:
        floor_rate = floor.created / floor.elapsed
        split = floor_cpu.per(floor.created)
        print(f"\n## floor: {FLOOR_PATH} ({args.clients} clients; bench/views.py bare_create)")
        print(
            f"{floor_rate:.1f}/s; latency median {ms(floor.latencies, 50):.1f} ms, p95 "
            f"{ms(floor.latencies, 95):.1f} ms; errors {len(floor.errors)}; CPU per call: web "
            f"{split['web']:.1f} ms, PostgreSQL {split['postgres']:.1f} ms, machine "
            f"{split['machine']:.1f} ms"
        )
        print(
            "the same session, CSRF and middleware, one transaction that locks the line and "
            f"writes one row: the most any create can reach here. The target is "
            f"{MIN_RATE / floor_rate:.0%} of it; the create below reaches "
            f"{per_second / floor_rate:.0%}."
        )
    print(f"\n## (a) requests created per second ({args.clients} clients, no-reason returns)")
    print(
        f"created {rate.created:,} in {rate.elapsed:.1f} s = {per_second:.1f}/s; latency median "
        f"{ms(rate.latencies, 50):.1f} ms, p95 {ms(rate.latencies, 95):.1f} ms, "
        f"p99 {ms(rate.latencies, 99):.1f} ms; errors {len(rate.errors)}"
    )
    if rate.created:
        split = cpu.per(rate.created)
        cores = os.cpu_count() or 1
        print(
            f"CPU per create: web {split['web']:.1f} ms, PostgreSQL {split['postgres']:.1f} ms, "
            f"load driver {split['client']:.1f} ms; whole machine {split['machine']:.1f} ms "
            f"→ {cores} cores allow at most {cores * 1000 / split['machine']:.0f}/s at this cost"
        )
    print(f"\n## (b) unshipped instant refund, end to end ({latency.created} calls, one client)")
    print(
        f"median {ms(latency.latencies, 50):.1f} ms, p95 {ms(latency.latencies, 95):.1f} ms, "
        f"p99 {ms(latency.latencies, 99):.1f} ms, max {max(latency.latencies or [0]) * 1000:.1f} "
        f"ms; errors {len(latency.errors)}"
    )
    print("\n## queries per create (in-process, same session)")
    for name, count in queries.items():
        print(f"{name:<18} {count}")
    print(f"\n## in-process cost ({args.in_process} creates of each kind, one thread, no HTTP)")
    for name, figures in cost.items():
        if figures:
            print(f"{name:<18} {figures[0]:.1f} ms/request wall, {figures[1]:.1f} ms CPU (Python)")
    print("\n## targets")
    print(
        f"{verdict(per_second >= MIN_RATE)}  requests created ≥ {MIN_RATE:g}/s: {per_second:.1f}/s"
    )
    p95 = ms(latency.latencies, 95)
    print(f"{verdict(p95 <= MAX_P95_MS)}  instant refund p95 ≤ {MAX_P95_MS:g} ms: {p95:.1f} ms")


if __name__ == "__main__":
    sys.exit(main())
