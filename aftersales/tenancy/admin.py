"""The console's pages of sign-in throttling (django-axes): its own admin, with the one column
it leaves unlabelled given a translated heading (its other labels are translated by
``aftersales/locale/zh_Hans``, which holds Chinese for the libraries that ship none)."""

from axes.admin import AccessAttemptAdmin
from axes.models import AccessAttempt
from django.contrib import admin
from django.utils.translation import gettext_lazy as _


class SignInAttemptAdmin(AccessAttemptAdmin):
    @admin.display(description=_("状态"))
    def status(self, obj):
        return super().status(obj)


admin.site.unregister(AccessAttempt)
admin.site.register(AccessAttempt, SignInAttemptAdmin)
