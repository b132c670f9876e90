"""Sign-in throttling (issue 19): per account and per address, through django-axes.

Every failed sign-in (``/accounts/login/``, ``/admin/login/``) and every failed API key is an
``axes`` access attempt, counted per account (the username, or ``api-key:<prefix>``) and per
client address. ``LOGIN_FAILURE_LIMIT`` failures lock that account or address for
``LOGIN_LOCKOUT_MINUTES``; each further failure after a lock locks again for twice as long, up
to ``LOGIN_LOCKOUT_MAX_MINUTES`` (a growing delay, never a permanent lock); tries while locked
are refused and not counted. A sign-in that succeeds clears its account's and address's count;
failures are forgotten ``LOGIN_MEMORY_HOURS`` after the last one. The person is told on
the page (how many tries are left, then for how long they are locked), the lock is logged on
the ``aftersales.signin`` logger (without the username or address, which the attempt row
keeps), and staff unlock in the admin console (Axes › Access attempts: delete the account's
or the address's row) or with ``manage.py axes_reset_username`` / ``axes_reset_ip``. A right
API key is never refused (see ``aftersales.tenancy.auth``).
"""

import logging
import math
from datetime import timedelta

from axes.handlers.database import AxesDatabaseHandler
from axes.handlers.proxy import AxesProxyHandler
from axes.helpers import get_client_ip_address, get_client_username
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.signals import user_login_failed
from django.db.models import Max, Q
from django.http import HttpRequest
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _

log = logging.getLogger("aftersales.signin")

API_KEY_ACCOUNT = "api-key:{prefix}"


def lock_for(failures):
    """The lock after ``failures`` failures in a row: none below the limit, then the base lock
    doubled for each failure past it, capped (below the limit, the base is the window in which
    a failure counts against the lock)."""
    base = timedelta(minutes=settings.LOGIN_LOCKOUT_MINUTES)
    over = max(0, failures - settings.AXES_FAILURE_LIMIT)
    cap = timedelta(minutes=settings.LOGIN_LOCKOUT_MAX_MINUTES)
    return min(base * (2 ** min(over, 32)), cap)


def _recorded(request, credentials=None):
    """``(failures, last failure)`` recorded for the request's account or address."""
    username = get_client_username(request, credentials)
    address = getattr(request, "axes_ip_address", None) or get_client_ip_address(request)
    match = Q(ip_address=address) if address else Q(pk__in=[])
    if username:
        match |= Q(username=username)
    found = AccessAttempt.objects.filter(match).aggregate(
        n=Max("failures_since_start"), last=Max("attempt_time")
    )
    return found["n"] or 0, found["last"]


def cool_off(request=None):
    """``AXES_COOLOFF_TIME``: how long the failures recorded for this account or address keep
    it locked after the last one (``lock_for``)."""
    if request is None:
        return timedelta(minutes=settings.LOGIN_LOCKOUT_MINUTES)
    return lock_for(_recorded(request, getattr(request, "axes_credentials", None))[0])


class SignInAttempts(AxesDatabaseHandler):
    """django-axes' database handler whose attempt rows outlive a lock (``LOGIN_MEMORY_HOURS``
    after the last failure), so that a failure after a lock finds the count and doubles it;
    Axes' own clean-up would forget a row as soon as its lock ends."""

    def clean_expired_user_attempts(self, request=None, credentials=None):
        forget = timezone.now() - timedelta(hours=settings.LOGIN_MEMORY_HOURS)
        count, _ = AccessAttempt.objects.filter(attempt_time__lte=forget).delete()
        return count


def lockout_minutes(request, credentials=None):
    """Whole minutes (at least one) until the account's or address's lock ends."""
    failures, last = _recorded(request, credentials)
    ends = (last or timezone.now()) + lock_for(failures)
    return max(1, math.ceil((ends - timezone.now()).total_seconds() / 60))


def lockout_response(request, original_response=None, credentials=None):
    """``AXES_LOCKOUT_CALLABLE``: the page that says the sign-in is locked and for how long."""
    minutes = lockout_minutes(request, credentials)
    log.warning(
        "sign-in locked: path=%s failures=%s lock_minutes=%s",
        request.path,
        _recorded(request, credentials)[0],
        minutes,
    )
    return render(
        request,
        "registration/locked_out.html",
        {"minutes": minutes, "failure_limit": settings.AXES_FAILURE_LIMIT},
        status=429,
    )


def attempts_left(request):
    """Failed sign-ins this account or address may still make before it is locked."""
    failures = getattr(request, "axes_failures_since_start", None)
    if failures is None:
        return None
    return max(0, settings.AXES_FAILURE_LIMIT - failures)


class AttemptsLeftMixin:
    """A sign-in form that also says how many tries are left before the lock."""

    @property
    def attempts_left(self):
        return attempts_left(self.request) if self.request is not None else None

    def get_invalid_login_error(self):
        error = super().get_invalid_login_error()
        if self.attempts_left:
            error.message = f"{error.message} {attempts_left_message(self.attempts_left)}"
        return error


class SignInForm(AttemptsLeftMixin, AuthenticationForm):
    """The sign-in form of /accounts/login/."""


class AdminSignInForm(AttemptsLeftMixin, AdminAuthenticationForm):
    """The sign-in form of /admin/login/ (staff only, as Django's)."""


def attempts_left_message(left):
    return _("再失败 %(left)s 次将暂时锁定登录。") % {"left": left}


# -- API keys ------------------------------------------------------------------------------------


def api_key_allowed(request, prefix):
    """False while the key prefix or the caller's address is locked by failed keys or sign-ins."""
    return AxesProxyHandler.is_allowed(_attempt(request), _api_credentials(prefix))


def api_key_failed(request, prefix):
    """Count one failed API key against the prefix and the address (as a failed sign-in)."""
    user_login_failed.send(
        sender=__name__, credentials=_api_credentials(prefix), request=_attempt(request)
    )


def api_key_lockout_seconds(request, prefix):
    return lockout_minutes(_attempt(request), _api_credentials(prefix)) * 60


def _api_credentials(prefix):
    return {"username": API_KEY_ACCOUNT.format(prefix=prefix) if prefix else None}


def _attempt(request):
    """The API call as an attempt: its address, agent and path, never its body or query (an
    attempt row keeps what it is given, and a body may carry personal data)."""
    attempt = HttpRequest()
    attempt.META = {
        name: request.META[name]
        for name in ("REMOTE_ADDR", "HTTP_USER_AGENT", "HTTP_ACCEPT")
        if name in request.META
    }
    attempt.method = request.method
    attempt.path = attempt.path_info = request.path
    return attempt
