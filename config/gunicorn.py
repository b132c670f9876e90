"""Gunicorn settings for ``manage.py serve``, docker compose and production.

Everything can be overridden from the environment: ``GUNICORN_BIND`` (or ``PORT``),
``WEB_CONCURRENCY`` (worker processes), ``GUNICORN_THREADS``, ``GUNICORN_TIMEOUT``.
"""

import os

wsgi_app = "config.wsgi:application"
bind = os.environ.get("GUNICORN_BIND") or f"0.0.0.0:{os.environ.get('PORT', '8000')}"
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
# Sync workers by default (GUNICORN_THREADS=1). On 2 cores gthread workers of 2 threads (kept-
# alive connections) created return requests as fast within the machine's noise (±15 % between
# runs minutes apart) with a longer tail (p95 ~1.5×: the GIL shared by a worker's threads);
# bench/README.md, "Returns". GUNICORN_THREADS=2 switches to them, e.g. behind a load balancer
# that keeps connections to the app alive.
threads = int(os.environ.get("GUNICORN_THREADS", "1"))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = 10
# Keep-alive behind a load balancer; the app itself is stateless.
keepalive = 5
accesslog = os.environ.get("GUNICORN_ACCESSLOG", "-")
# The path without its query string, and no referer: a query or a referring page's URL may
# carry personal data (a phone, a name in ?q=), and the access log is kept apart from the
# database's protections (issue 19).
access_log_format = '%(h)s %(l)s %(u)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(b)s %(L)s "%(a)s"'
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOGLEVEL", "info")
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
# Load the app before forking workers: import errors show once, memory is shared.
preload_app = True
# Requests gunicorn refuses itself (a header or request line over its limits, a malformed one)
# are answered in the API's JSON error body, not gunicorn's HTML page (config/gunicorn_workers.py).
worker_class = (
    "config.gunicorn_workers.JsonRefusalsSyncWorker"
    if threads == 1
    else "config.gunicorn_workers.JsonRefusalsThreadWorker"
)
