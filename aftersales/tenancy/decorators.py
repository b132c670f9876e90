"""Page guards: each portal admits only its own role; others get a 404 (never a hint)."""

from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.http import Http404

from aftersales.tenancy.actors import actor_from_request


def role_required(check):
    """A page guard admitting the actors for whom ``check(actor)`` is true (``request.actor`` is
    set for the view); anyone else signed in gets a 404, an anonymous visitor the login page."""

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


consumer_required = role_required(lambda a: a.is_consumer)
merchant_required = role_required(lambda a: a.kind == "merchant")
