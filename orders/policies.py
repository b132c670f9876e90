"""The policies of orders, registered with the kernel from ``OrdersConfig.ready``."""

from django.utils.translation import gettext_lazy

from aftersales.policies import PolicyKey, policy_keys_register

policy_keys_register(
    {
        # At most a year: the hours are added to every tracking node's time (orders.logistics).
        "logistics.stale_tracking_hours": PolicyKey(
            72,
            gettext_lazy("揽收后无物流更新多久发出预警（小时；标准 6.2.1.2）"),
            value_range=(1, 24 * 366),
        ),
    }
)
