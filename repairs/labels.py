"""What the steps of 三包 cards, repairs, providers and escalations are called for people: the
pages' and the admin's timelines (``aftersales.casefile.timeline.timeline_verbs_register``)."""

from django.utils.translation import gettext_lazy

from .models import RepairOrder, RepairProvider, WarrantyCard, WarrantyEscalation

VERB_LABELS = {
    "repair.requested": gettext_lazy("提交维修申请"),
    "repair.assigned": gettext_lazy("已派单给维修服务商"),
    "repair.reassigned": gettext_lazy("改派维修服务商"),
    "repair.received": gettext_lazy("维修服务商已收到商品（送修）"),
    "repair.diagnosing": gettext_lazy("完成检测"),
    "repair.waiting_parts": gettext_lazy("开始等待配件"),
    "repair.repairing": gettext_lazy("开始维修"),
    "repair.fixed": gettext_lazy("维修完成：已修好"),
    "repair.not_fixed": gettext_lazy("维修完成：未修好"),
    "repair.returned": gettext_lazy("商品已返还"),
    "repair.closed": gettext_lazy("维修单关闭"),
    "repair.cancelled": gettext_lazy("维修申请已取消"),
    "repair.reopened": gettext_lazy("30 日内再次故障，视为未修好"),
    "repair.timeout": gettext_lazy("维修超期，转平台升级处理"),
    "repair.evidence_added": gettext_lazy("上传凭证"),
    "repair.consumer_revealed": gettext_lazy("维修服务商查看了完整电话与地址（上门服务）"),
    "repair_provider.applied": gettext_lazy("维修服务商申请准入"),
    "repair_provider.member_added": gettext_lazy("添加维修服务商人员"),
    "repair_provider.member_removed": gettext_lazy("移除维修服务商人员"),
    "warranty_card.created": gettext_lazy("生成三包凭证"),
    "warranty_card.installed": gettext_lazy("登记安装日期，三包期自安装日起算"),
    "warranty_card.misuse": gettext_lazy("认定为使用不当，不属三包"),
    "warranty_card.remedy_chosen": gettext_lazy("消费者选择三包处理方式"),
    "warranty_card.remedy_released": gettext_lazy("三包处理方式已释放"),
    "warranty_card.alternative_refused": gettext_lazy("消费者拒绝替代型号"),
    "warranty_escalation.opened": gettext_lazy("维修超期，升级平台处理"),
    "warranty_escalation.remedy_chosen": gettext_lazy("消费者选择升级处理方式"),
    "warranty_escalation.resolved": gettext_lazy("升级处理完成"),
    "sanbao_catalog.created": gettext_lazy("新增三包目录条目"),
    "sanbao_catalog.updated": gettext_lazy("修改三包目录条目"),
}


def timeline_verb_labels():
    """Every verb the repairs app records: the named steps above and each status move —
    ``repair.<status>``, ``warranty_card.<status>`` and ``repair_provider.<status>`` by the
    app's services, ``status.<status>`` by the kernel's move of an escalation."""
    labels = {f"repair.{value}": label for value, label in RepairOrder.Status.choices}
    labels |= {f"warranty_card.{value}": label for value, label in WarrantyCard.Status.choices}
    labels |= {f"repair_provider.{value}": label for value, label in RepairProvider.Status.choices}
    labels |= {f"status.{value}": label for value, label in WarrantyEscalation.Status.choices}
    return labels | VERB_LABELS
