"""The policies of complaints (RULES.md C2, C3), registered with the kernel from
``ComplaintsConfig.ready``."""

from django.utils.translation import gettext_lazy as _

from aftersales.policies import PolicyKey, policy_keys_register

policy_keys_register(
    {
        "complaints.first_response_hours": PolicyKey(
            {"P1": 2, "P2": 8, "P3": 24, "P4": 48}, _("投诉首次响应时限（小时）C2")
        ),
        "complaints.resolution_working_days": PolicyKey(
            10, _("协商解决期限（工作日）C3"), value_range=(1, None)
        ),
    }
)
