"""Pieces of the benchmarks: a throw-away database, bulk data, gunicorn and a load driver.

Nothing here is imported by the product. Functions that touch the ORM need ``django.setup()``
to have run with ``DJANGO_SETTINGS_MODULE=bench.settings``.
"""

import http.client
import json
import os
import signal
import socket
import statistics
import subprocess
import tempfile
import threading
import time
from urllib.parse import urlsplit

import dj_database_url

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VENV_BIN = os.path.join(REPO, ".venv", "bin")
# The shared cache, as in production in a Redis database of its own (bench/settings.py); emptied
# with the benchmark's database so that no result of an earlier run is read.
CACHE_URL = os.environ.get("CACHE_URL") or "redis://127.0.0.1:6379/12"


def log(message):
    print(f"[{time.strftime('%H:%M:%S', time.gmtime())}Z] {message}", flush=True)


# -- database ---------------------------------------------------------------------------------


def recreate_database(url):
    """Drop and create the database named in ``url`` (connecting to ``postgres`` on the server)."""
    import psycopg

    cfg = dj_database_url.parse(url)
    if cfg["ENGINE"] != "django.db.backends.postgresql":
        raise SystemExit(f"the benchmark needs PostgreSQL, not {cfg['ENGINE']}")
    name = cfg["NAME"]
    conninfo = {
        "dbname": "postgres",
        "user": cfg.get("USER") or None,
        "password": cfg.get("PASSWORD") or None,
        "host": cfg.get("HOST") or None,
        "port": cfg.get("PORT") or None,
    }
    with psycopg.connect(**{k: v for k, v in conninfo.items() if v}, autocommit=True) as conn:
        ident = '"' + name.replace('"', '""') + '"'
        conn.execute(f"DROP DATABASE IF EXISTS {ident} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {ident}")
    import redis

    redis.Redis.from_url(CACHE_URL).flushdb()


def migrate(env, syncdb=False):
    """The project's normal ``manage.py migrate`` (``--run-syncdb`` with ``BENCH_SYNCDB=1``)."""
    cmd = [os.path.join(VENV_BIN, "python"), "manage.py", "migrate", "--no-input", "-v", "0"]
    if syncdb:
        cmd.append("--run-syncdb")
    subprocess.run(cmd, cwd=REPO, env=env, check=True)


# -- bulk data --------------------------------------------------------------------------------


def _filler(field, params):
    """SQL for a column the loader does not set itself: its default, NULL, or an empty value."""
    from django.db import models

    if field.null:
        return "NULL"
    if field.has_default():
        default = field.default
        if callable(default):
            if isinstance(field, models.DateTimeField):
                return "now()"
            default = default()
        params.append(field.get_prep_value(default))
        return "%s"
    if isinstance(field, (models.CharField, models.TextField)):
        return "''"
    if isinstance(field, models.BooleanField):
        return "false"
    raise SystemExit(
        f"bench: no value for {field.model.__name__}.{field.name}; add it to bench/_common.py"
    )


def insert_select(cursor, model, columns, source, params=()):
    """``INSERT INTO <model> (...) SELECT ... FROM <source>``: ``columns`` maps field names to SQL.

    Every other non-pk column gets its default (or NULL / ''), so new fields on the model do
    not break the loader.
    """
    names, exprs, all_params = [], [], []
    for field in model._meta.concrete_fields:
        if field.primary_key:
            continue
        key = field.attname if field.attname in columns else field.name
        if key in columns:
            spec = columns[key]
            expr, expr_params = spec if isinstance(spec, tuple) else (spec, ())
            all_params.extend(expr_params)
        else:
            expr = _filler(field, all_params)
        names.append(f'"{field.column}"')
        exprs.append(expr)
    unknown = (
        set(columns)
        - {f.name for f in model._meta.concrete_fields}
        - {f.attname for f in model._meta.concrete_fields}
    )
    if unknown:
        raise SystemExit(f"bench: {model.__name__} has no fields {sorted(unknown)}")
    sql = (
        f'INSERT INTO "{model._meta.db_table}" ({", ".join(names)}) '
        f"SELECT {', '.join(exprs)} FROM {source}"
    )
    cursor.execute(sql, [*all_params, *params])
    return cursor.rowcount


NAMES = ["张伟", "王芳", "李娜", "刘洋", "陈静", "杨磊", "赵敏", "欧阳娜娜"]
PHONES = [
    "13812345678",
    "13911112222",
    "13700001111",
    "15012348888",
    "18600007777",
    "13566669999",
    "18912340000",
    "17700002222",
]
STREETS = [
    "中山路 88 号",
    "人民大道 1 号",
    "建设街 12 号",
    "长安街 7 号",
    "解放路 200 号",
    "南京东路 300 号",
    "滨江大道 66 号",
    "学院路 5 号",
]
UNITS = [
    "3 栋 2 单元 501 室",
    "12 号楼 1101",
    "B 座 803",
    "7-2-302",
    "1 单元 101",
    "6 楼 605",
    "A 区 9 号",
    "2 号楼 1203",
]
REGIONS = [
    ("上海市", "上海市", "浦东新区"),
    ("北京市", "北京市", "朝阳区"),
    ("广东省", "深圳市", "南山区"),
    ("浙江省", "杭州市", "西湖区"),
    ("江苏省", "南京市", "鼓楼区"),
    ("四川省", "成都市", "武侯区"),
    ("湖北省", "武汉市", "洪山区"),
    ("陕西省", "西安市", "雁塔区"),
]
STATUSES = ["completed", "completed", "completed", "delivered", "shipped", "paid", "cancelled"]


def load_data(*, orders, merchant_orders, merchants=10, consumers=None):
    """Bulk data with ``INSERT ... SELECT generate_series``: returns the big merchant.

    ``orders`` orders over ``merchants`` merchants, of which the first holds ``merchant_orders``
    spread evenly over the id range (as if its customers ordered all year along with everyone
    else's); one line per order; consumers with users. Personal data columns hold real AES-GCM
    tokens, a few sealed once and reused across rows.
    """
    from django.db import connection, transaction

    from aftersales import clock
    from aftersales.pii import blind_index, encrypt
    from aftersales.tenancy.models import ConsumerProfile, Merchant, User
    from orders.models import Category, Order, OrderLine, Product, Sku

    consumers = consumers or max(1000, orders // 5)
    if not 0 < merchant_orders <= orders:
        raise SystemExit("--merchant-orders must be between 1 and --orders")
    now = clock.now()
    t0 = time.monotonic()
    with transaction.atomic():
        cursor = connection.cursor()
        cursor.execute("SET LOCAL synchronous_commit = off")
        try:  # generated rows are consistent: skip the per-row foreign key triggers
            with transaction.atomic():
                cursor.execute("SET LOCAL session_replication_role = replica")
        except Exception:
            log("  (not superuser: foreign key checks stay on, loading is slower)")

        merchant_rows = [
            Merchant(code=f"bench-m{i:02d}", name=f"基准商家 {i:02d}", created_at=now)
            for i in range(1, merchants + 1)
        ]
        Merchant.objects.bulk_create(merchant_rows)
        big, others = merchant_rows[0], merchant_rows[1:] or merchant_rows[:1]
        category = Category.objects.create(code="bench-appliance", name="家用电器")
        products, skus = [], []
        for m in merchant_rows:
            for p in range(5):
                products.append(
                    Product(merchant=m, category=category, name=f"商品 {m.pk}-{p}", created_at=now)
                )
        Product.objects.bulk_create(products)
        for product in products:
            for s in range(2):
                skus.append(
                    Sku(
                        product=product,
                        code=f"bench-{product.pk}-{s}",
                        spec=["黑色 128G", "白色 256G"][s],
                        price="1999.00",
                        stock=100,
                    )
                )
        Sku.objects.bulk_create(skus)

        # Consumers: users, then profiles with sealed name and phone.
        n = insert_select(
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
        names = [encrypt(v) for v in NAMES]
        phones = [encrypt(v) for v in PHONES]
        phone_indexes = [blind_index(v) for v in PHONES]
        insert_select(
            cursor,
            ConsumerProfile,
            {
                "user_id": "u.id",
                "external_id": "'bench-c-' || u.id",
                "name": ("(%s::text[])[1 + u.id %% 8]", [names]),
                "phone": ("(%s::text[])[1 + u.id %% 8]", [phones]),
                "phone_index": ("(%s::text[])[1 + u.id %% 8]", [phone_indexes]),
                "created_at": ("%s::timestamptz", [now]),
            },
            f'"{User._meta.db_table}" u WHERE u.username LIKE %s',
            ["bench\\_c%"],
        )
        cursor.execute(f'SELECT min(id), max(id), count(*) FROM "{ConsumerProfile._meta.db_table}"')
        cmin, cmax, ccount = cursor.fetchone()
        assert cmax - cmin + 1 == ccount == n, "consumer ids are not contiguous"
        log(f"  {ccount:,} consumers in {time.monotonic() - t0:.1f}s")

        # Orders: the big merchant's evenly spread, the rest round-robin over the others.
        t1 = time.monotonic()
        other_ids = "(ARRAY[" + ",".join(str(m.pk) for m in others) + "]::bigint[])"
        regions = list(zip(*REGIONS, strict=True))
        placed = "%s::timestamptz - (%s - g) * interval '30 seconds'"  # one order every 30 s
        insert_select(
            cursor,
            Order,
            {
                "merchant_id": (
                    f"CASE WHEN (g::bigint * %s) / %s > ((g::bigint - 1) * %s) / %s THEN {big.pk} "
                    f"ELSE {other_ids}[1 + g %% {len(others)}] END",
                    [merchant_orders, orders, merchant_orders, orders],
                ),
                "consumer_id": f"{cmin} + (g::bigint * 7919) %% {ccount}",
                "number": "'BO' || lpad(g::text, 12, '0')",
                "status": ("(%s::text[])[1 + g %% 7]", [STATUSES]),
                "placed_at": (placed, [now, orders]),
                "paid_at": (f"{placed} + interval '2 minutes'", [now, orders]),
                "total_amount": "round(((g %% 50000) / 100.0 + 9.9)::numeric, 2)",
                "ship_name": ("(%s::text[])[1 + g %% 8]", [names]),
                "ship_phone": ("(%s::text[])[1 + g %% 8]", [phones]),
                "ship_province": ("(%s::text[])[1 + g %% 8]", [list(regions[0])]),
                "ship_city": ("(%s::text[])[1 + g %% 8]", [list(regions[1])]),
                "ship_district": ("(%s::text[])[1 + g %% 8]", [list(regions[2])]),
                "ship_street": ("(%s::text[])[1 + g %% 8]", [[encrypt(v) for v in STREETS]]),
                "ship_unit": ("(%s::text[])[1 + g %% 8]", [[encrypt(v) for v in UNITS]]),
                "created_at": (placed, [now, orders]),
                **{  # milestones matching STATUSES[g % 7], where the model has them
                    name: (
                        f"CASE WHEN g %% 7 {cond} THEN {placed} + interval '3 days' END",
                        [now, orders],
                    )
                    for name, cond in (
                        ("delivered_at", "<= 3"),
                        ("completed_at", "<= 2"),
                        ("cancelled_at", "= 6"),
                    )
                    if name in {f.name for f in Order._meta.concrete_fields}
                },
            },
            "generate_series(1, %s) g",
            [orders],
        )
        log(f"  {orders:,} orders in {time.monotonic() - t1:.1f}s")

        # One line per order, on one of its merchant's SKUs.
        t1 = time.monotonic()
        cursor.execute(
            "CREATE TEMP TABLE bench_sku (merchant_id bigint, idx int, sku_id bigint, "
            "product_name text, spec text) ON COMMIT DROP"
        )
        rows = []
        for m in merchant_rows:
            mine = [s for s in skus if s.product.merchant_id == m.pk]
            rows += [(m.pk, i, s.pk, s.product.name, s.spec) for i, s in enumerate(mine)]
        cursor.executemany("INSERT INTO bench_sku VALUES (%s, %s, %s, %s, %s)", rows)
        insert_select(
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
            f'"{Order._meta.db_table}" o JOIN bench_sku s ON s.merchant_id = o.merchant_id '
            "AND s.idx = o.id %% 10",
        )
        log(f"  {orders:,} order lines in {time.monotonic() - t1:.1f}s")
    t1 = time.monotonic()
    with connection.cursor() as cursor:
        for model in (User, ConsumerProfile, Order, OrderLine):
            cursor.execute(f'VACUUM ANALYZE "{model._meta.db_table}"')
    t2 = time.monotonic()
    log(f"  VACUUM ANALYZE in {t2 - t1:.1f}s; data loaded in {t2 - t0:.1f}s")
    return big


def merchant_api_key(merchant):
    """A new merchant-scoped key (stored hashed, like any integrator's); returns the raw key."""
    from aftersales.tenancy.models import ApiKey

    prefix, raw = ApiKey.new_raw_key()
    ApiKey.objects.create(
        name="benchmark",
        prefix=prefix,
        hashed_key=ApiKey.hash(raw),
        scope=ApiKey.Scope.MERCHANT,
        merchant=merchant,
    )
    return raw


# -- gunicorn ---------------------------------------------------------------------------------


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Gunicorn:
    """``gunicorn config.wsgi`` on a free loopback port, stopped (SIGTERM) on exit.

    Sync workers by default, like ``config/gunicorn.py`` (threads=1): on 2 cores gthread
    workers gave the same throughput within the noise with a longer tail (GIL contention inside a
    worker), for the orders list and for return requests alike.
    """

    def __init__(self, env, *, workers, worker_class, threads):
        self.port = free_port()
        self.cmd = [
            os.path.join(VENV_BIN, "gunicorn"),
            "config.wsgi",
            "--chdir",
            REPO,
            "--bind",
            f"127.0.0.1:{self.port}",
            "--workers",
            str(workers),
            "--worker-class",
            worker_class,
            "--keep-alive",
            "30",
            "--log-level",
            "warning",
            "--preload",  # as config/gunicorn.py; no access log (it would cost the same to both)
        ]
        if worker_class == "gthread":
            self.cmd += ["--threads", str(threads)]
        self.env = env
        self.proc = None
        self.logfile = tempfile.NamedTemporaryFile(
            prefix="bench-gunicorn-", suffix=".log", delete=False
        )

    def __enter__(self):
        self.proc = subprocess.Popen(
            self.cmd, cwd=REPO, env=self.env, stdout=self.logfile, stderr=subprocess.STDOUT
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit(f"gunicorn exited; see {self.logfile.name}:\n{self.tail()}")
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
                conn.request("GET", "/api/v1/me/")
                conn.getresponse().read()
                conn.close()
                return self
            except OSError:
                time.sleep(0.2)
        raise SystemExit(f"gunicorn did not answer within 60 s; see {self.logfile.name}")

    def tail(self, lines=30):
        with open(self.logfile.name, errors="replace") as fh:
            return "".join(fh.readlines()[-lines:])

    def __exit__(self, *exc):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.logfile.close()
        return False


def reference_loop_ms():
    """CPU milliseconds of a fixed pure-Python loop (2,000,000 additions; best of 3): how fast
    this machine's cores run Python, to compare figures taken on different machines."""
    best = None
    for _ in range(3):
        t, x = time.process_time(), 0
        for i in range(2_000_000):
            x += i
        spent = (time.process_time() - t) * 1000
        best = spent if best is None else min(best, spent)
    return best


class CpuSplit:
    """Where the machine's CPU went during a scenario (Linux ``/proc``): the web server's
    processes (``root``'s tree), PostgreSQL's backends, this process (the load driver) and the
    whole machine (``/proc/stat``, so other work running at the same time shows up there).

    ``with CpuSplit(gunicorn.proc.pid) as cpu: ...`` then ``cpu.per(n)`` → milliseconds per
    request of each."""

    TICK = os.sysconf("SC_CLK_TCK")

    def __init__(self, root_pid):
        self.root = root_pid

    @staticmethod
    def _stat(pid):
        try:
            with open(f"/proc/{pid}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
        except OSError:
            return None
        return int(fields[1]), int(fields[11]) + int(fields[12])  # ppid, utime + stime

    def _sample(self):
        stats, names = {}, {}
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                stat = self._stat(entry)
                if stat is not None:
                    stats[int(entry)] = stat
                    try:
                        with open(f"/proc/{entry}/comm") as fh:
                            names[int(entry)] = fh.read().strip()
                    except OSError:
                        names[int(entry)] = ""
        tree, grew = {self.root}, True
        while grew:
            grew = False
            for pid, (ppid, _t) in stats.items():
                if ppid in tree and pid not in tree:
                    tree.add(pid)
                    grew = True
        web = sum(stats[p][1] for p in tree if p in stats)
        pg = sum(t for pid, (_pp, t) in stats.items() if names.get(pid, "").startswith("postgres"))
        with open("/proc/stat") as fh:
            cpu = [int(x) for x in fh.readline().split()[1:]]
        busy = sum(cpu) - cpu[3] - cpu[4]  # minus idle and iowait
        return {"web": web, "postgres": pg, "machine": busy}, time.process_time()

    def __enter__(self):
        self.start, self.client_start = self._sample()
        return self

    def __exit__(self, *exc):
        self.end, self.client_end = self._sample()
        return False

    def per(self, n):
        """Milliseconds of CPU per request: web, postgres, client, machine."""
        out = {k: (self.end[k] - self.start[k]) / self.TICK * 1000 / n for k in self.start}
        out["client"] = (self.client_end - self.client_start) * 1000 / n
        return out


# -- load -------------------------------------------------------------------------------------


class Result:
    def __init__(self, name):
        self.name = name
        self.samples = []  # (seconds, page depth)
        self.errors = []
        self.elapsed = 0.0
        self.max_depth = 0
        self.client_cpu = 0.0  # CPU seconds the load driver itself used

    def summary(self):
        lat = sorted(s for s, _ in self.samples)
        first = [s for s, d in self.samples if d == 0]
        deep = [s for s, d in self.samples if d >= 10]
        return {
            "requests": len(lat),
            "errors": len(self.errors),
            "rps": len(lat) / self.elapsed if self.elapsed else 0.0,
            "median_ms": percentile(lat, 50) * 1000,
            "p95_ms": percentile(lat, 95) * 1000,
            "p99_ms": percentile(lat, 99) * 1000,
            "first_page_median_ms": statistics.median(first) * 1000 if first else float("nan"),
            "deep_page_median_ms": statistics.median(deep) * 1000 if deep else float("nan"),
            "max_depth": self.max_depth,
            "client_cores": self.client_cpu / self.elapsed if self.elapsed else 0.0,
        }


def percentile(sorted_values, q):
    if not sorted_values:
        return float("nan")
    k = (len(sorted_values) - 1) * q / 100
    lo = int(k)
    hi = min(lo + 1, len(sorted_values) - 1)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (k - lo)


def drive(name, port, start_path, headers, *, clients, duration, depth):
    """``clients`` threads for ``duration`` seconds, each on one HTTP/1.1 connection.

    The connection is reopened when the server closes it (sync gunicorn workers do).

    Each client reads the first page, follows ``next`` for up to ``depth`` pages, then starts
    again. Any answer other than 200 is an error.
    """
    result = Result(name)
    lock = threading.Lock()
    stop_at = time.monotonic() + duration
    barrier = threading.Barrier(clients + 1)

    def client():
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        samples, errors, deepest = [], [], 0
        path, page = start_path, 0
        barrier.wait()
        while time.monotonic() < stop_at:
            t = time.perf_counter()
            try:
                conn.request("GET", path, headers=headers)
                resp = conn.getresponse()
                body = resp.read()
            except (OSError, http.client.HTTPException) as exc:
                errors.append(f"{type(exc).__name__}: {exc}")
                conn.close()
                path, page = start_path, 0
                continue
            samples.append((time.perf_counter() - t, page))
            if resp.status != 200:
                errors.append(f"{resp.status} {path}: {body[:200]!r}")
                path, page = start_path, 0
                continue
            deepest = max(deepest, page)
            nxt = json.loads(body).get("next")
            if nxt and page + 1 < depth:
                parts = urlsplit(nxt)
                path, page = parts.path + ("?" + parts.query if parts.query else ""), page + 1
            else:
                path, page = start_path, 0
        conn.close()
        with lock:
            result.samples += samples
            result.errors += errors
            result.max_depth = max(result.max_depth, deepest)

    threads = [threading.Thread(target=client, daemon=True) for _ in range(clients)]
    for th in threads:
        th.start()
    barrier.wait()
    t0, cpu0 = time.monotonic(), time.process_time()
    for th in threads:
        th.join()
    result.elapsed = time.monotonic() - t0
    result.client_cpu = time.process_time() - cpu0
    return result


def fetch(port, path, headers):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("GET", path, headers=headers)
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()
