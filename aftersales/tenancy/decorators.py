"""Page guards: each portal admits only its own role; others get a 404 (never a hint)."""

from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.http import Http404

from aftersales.tenancy.actors import actor_from_request


def _role_required(check):
    def decorator(view):
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            actor = actor_from_request(request)
            if not check(actor):
                raise Http404
            request.actor = actor
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


consumer_required = _role_required(lambda a: a.is_consumer)
merchant_required = _role_required(lambda a: a.kind == "merchant")
