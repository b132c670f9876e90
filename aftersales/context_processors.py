from django.conf import settings

from aftersales import clock


def platform(request):
    return {"SANDBOX": settings.SANDBOX, "platform_now": clock.now}
