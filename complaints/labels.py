"""What the steps of complaints are called for people: the timelines of the pages and the
console (``aftersales.casefile.timeline.timeline_verbs_register``)."""

from django.utils.translation import gettext_lazy

from .models import Complaint

VERB_LABELS = {
    "complaint.received": gettext_lazy("受理投诉"),
    "complaint.repeated": gettext_lazy("消费者重复投诉"),
    "complaint.regraded": gettext_lazy("调整投诉等级"),
    "complaint.responded": gettext_lazy("答复投诉"),
    "complaint.consumer_replied": gettext_lazy("消费者补充信息"),
    "complaint.clock_warning": gettext_lazy("处理时限已过 80%"),
    "complaint.clock_breached": gettext_lazy("处理时限已到期"),
    "grading_rule.created": gettext_lazy("新增投诉分级规则"),
    "grading_rule.changed": gettext_lazy("修改投诉分级规则"),
}


def timeline_verb_labels():
    """Every verb the complaints app records: the named steps and each status move
    (``complaint.<status>``)."""
    labels = {f"complaint.{value}": label for value, label in Complaint.Status.choices}
    return labels | VERB_LABELS
