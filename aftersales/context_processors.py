from django.conf import settings

from . import clock


def platform(request):
    return {"SANDBOX": settings.SANDBOX, "platform_now": clock.now}
