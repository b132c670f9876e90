"""Pages of the kernel: the landing redirect and the portals' home pages."""

from django.shortcuts import redirect, render

from aftersales.tenancy.actors import actor_from_request
from aftersales.tenancy.decorators import consumer_required, merchant_required


def home(request):
    """Send each signed-in user to their own place."""
    if not request.user.is_authenticated:
        return redirect("login")
    actor = actor_from_request(request)
    if actor.is_consumer:
        return redirect("my:home")
    if actor.kind == "merchant":
        return redirect("merchant:home")
    if actor.is_platform_staff:
        return redirect("admin:index")
    if actor.is_provider:  # repair providers' staff (repairs app, /provider/)
        return redirect("provider:home")
    return render(request, "aftersales/no_role.html", status=403)


@consumer_required
def my_home(request):
    return redirect("my:order-list")


@merchant_required
def merchant_home(request):
    return redirect("merchant:order-list")
