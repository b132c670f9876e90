"""Results every process reads often and writers change rarely, kept in the shared cache.

The cache is Django's (``CACHES``: Redis in production, files under ``var/`` on the embedded
default). What is kept here is a *result* of the ORM (the policy values in force for a scope,
a merchant's active webhook endpoints), never a query: the code that computes it is the same
code that runs without a cache.

A writer calls ``forget_after_commit(key)`` in its transaction: the entry is dropped at once
(this process reads the database again) and once more when the transaction commits (what
another process cached in between, from the rows before the change, goes too). Entries also
expire after ``TIMEOUT`` seconds, the bound on staleness if a writer rolls back after reading
its own uncommitted rows into the cache.
"""

from django.core.cache import cache
from django.db import transaction

TIMEOUT = 300


def cached_many(keys, compute):
    """``{key: value}`` for every key of ``keys``: what the cache holds, plus ``compute(missing)``
    (a ``{key: value}`` for the missing keys, read in one go) stored for the next reader."""
    found = cache.get_many(keys)
    missing = [k for k in keys if k not in found]
    if missing:
        computed = compute(missing)
        cache.set_many(computed, TIMEOUT)
        found.update(computed)
    return found


def forget_after_commit(*keys):
    """Drop ``keys`` now and again when the current transaction commits."""
    cache.delete_many(keys)
    transaction.on_commit(lambda: cache.delete_many(keys))
