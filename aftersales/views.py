"""Pages of the kernel: the landing redirect and the portals' home pages (the merchant's
workbench)."""

from django.shortcuts import redirect, render

from aftersales.casefile.workbench import workbench_counts, workbench_total
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
    """The merchant's after-sales workbench: where merchant staff land, with the counts of the
    cases waiting for them, each linking to the list of those cases (issue 14)."""
    counts = workbench_counts(actor=request.actor)
    return render(
        request,
        "aftersales/merchant_workbench.html",
        {"nav": "workbench", "counts": counts, "waiting": workbench_total(counts)},
    )
