"""The policies of price protection (RULES.md P2, P6), registered with the kernel from
``PricingGuardConfig.ready``."""

from django.utils.translation import gettext_lazy as _

from aftersales.policies import PolicyKey, policy_keys_register

policy_keys_register(
    {
        "pricing.protection_window_days": PolicyKey(
            7, _("价格保护期（天，7/15/30）P2"), choices=(7, 15, 30)
        ),
        "pricing.auto_claims": PolicyKey(False, _("降价自动补差 P6")),
    }
)
