"""The session store (``SESSION_ENGINE``): Django's database sessions, the signed-in request's
session row read with a query compiled once per connection (``aftersales.fixedsql``)."""

from datetime import UTC, datetime

from django.contrib.sessions.backends.db import SessionStore as DatabaseSessionStore
from django.contrib.sessions.models import Session
from django.utils import timezone

from .fixedsql import FixedQuery

_LIVE_SESSION = FixedQuery(
    lambda key, now: Session.objects.filter(session_key=key, expire_date__gt=now)[:1],
    samples=("\x00session-key", datetime(2000, 1, 1, tzinfo=UTC)),
)


class SessionStore(DatabaseSessionStore):
    """The same rows, expiry and behaviour as ``django.contrib.sessions.backends.db``."""

    def _get_session_from_db(self):
        found = _LIVE_SESSION.first(self.session_key, timezone.now())
        if found is None:
            self._session_key = None
        return found
