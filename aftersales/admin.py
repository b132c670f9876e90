"""Staff console for the kernel's models (Chinese by default).

Personal data shows masked everywhere (RULES.md D2); "查看完整信息" asks for a reason and goes
through ``reveal.pii_reveal``, which logs the access (D3). Writes go through services.
"""

from django import forms
from django.apps import apps
from django.contrib import admin, messages
from django.contrib.admin import ActionLocation
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.core.exceptions import PermissionDenied
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from aftersales.api.models import IdempotencyRecord
from aftersales.casefile.models import ActorKind, DomainEvent, TimelineEvent
from aftersales.casefile.timeline import (
    status_display,
    subject_display,
    subject_type_display,
    timeline_verb_label,
)
from aftersales.errors import DomainError
from aftersales.pii import blind_index
from aftersales.policies import policy_keys, policy_set, policy_value_clean
from aftersales.policies.models import PolicyVersion
from aftersales.tenancy import reveal, services
from aftersales.tenancy.actors import actor_for_user
from aftersales.tenancy.models import (
    ApiKey,
    ConsumerAddress,
    ConsumerProfile,
    Merchant,
    MerchantMember,
    PiiAccessLog,
    User,
)


class ReadOnlyAdmin(admin.ModelAdmin):
    """Append-only records: viewable, never added, changed or deleted from the console."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class SubjectTypeFilter(admin.SimpleListFilter):
    """Subjects by the name of their kind ("售后申请"), not the stored model label."""

    title = _("对象类型")
    parameter_name = "subject_type"

    def lookups(self, request, model_admin):
        stored = model_admin.get_queryset(request).values_list("subject_type", flat=True)
        return sorted(
            ((value, subject_type_display(value)) for value in stored.distinct().order_by()),
            key=lambda pair: pair[1],
        )

    def queryset(self, request, queryset):
        if self.value():
            return queryset.filter(subject_type=self.value())
        return queryset


class VerbFilter(admin.SimpleListFilter):
    """Timeline steps by their name, with the verb code beside it for staff."""

    title = _("动作")
    parameter_name = "verb"

    def lookups(self, request, model_admin):
        stored = model_admin.get_queryset(request).values_list("verb", flat=True)
        return [(verb, _verb_name(verb)) for verb in sorted(stored.distinct().order_by())]

    def queryset(self, request, queryset):
        if self.value():
            return queryset.filter(verb=self.value())
        return queryset


def _named_code(name, code):
    """A name for people with its code beside it, for staff ("设定期限（deadline.scheduled）")."""
    return _("%(name)s（%(code)s）") % {"name": name, "code": code} if name else code


def _verb_name(verb):
    return _named_code(timeline_verb_label(verb), verb)


def _actor_name(obj):
    """The actor as recorded, or "系统" for the platform's own steps (stored as ``system``)."""
    if obj.actor_kind == ActorKind.SYSTEM:
        return ActorKind.SYSTEM.label
    return obj.actor_label


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    list_display = ["username", "email", "is_staff", "is_active", "group_names", "last_login"]
    list_filter = ["is_staff", "is_superuser", "is_active", "groups"]

    @admin.display(description=_("平台分组"))
    def group_names(self, obj):
        return "、".join(g.name for g in obj.groups.all())

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("groups")


class MemberInline(admin.TabularInline):
    """Read-only list of the staff; seats are managed on 商家员工, through the services, so that
    every added, re-roled or removed member leaves a timeline event."""

    model = MerchantMember
    extra = 0
    fields = ["user", "role", "created_at"]
    readonly_fields = fields
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Merchant)
class MerchantAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "contact_email", "is_active", "created_at"]
    list_filter = ["is_active"]
    search_fields = ["code", "name", "contact_email"]
    date_hierarchy = "created_at"
    inlines = [MemberInline]

    def save_model(self, request, obj, form, change):
        actor = actor_for_user(request.user)
        if change:
            services.merchant_update(
                merchant=obj,
                actor=actor,
                **{
                    f: form.cleaned_data[f]
                    for f in form.changed_data
                    if f in ("name", "contact_email", "is_active")
                },
            )
        else:
            created = services.merchant_create(
                code=obj.code,
                name=obj.name,
                contact_email=obj.contact_email,
                is_active=obj.is_active,
                actor=actor,
            )
            obj.pk, obj.created_at = created.pk, created.created_at


@admin.register(MerchantMember)
class MerchantMemberAdmin(admin.ModelAdmin):
    list_display = ["user", "merchant", "role", "created_at"]
    list_filter = ["role", "merchant"]
    search_fields = ["user__username", "merchant__code", "merchant__name"]
    list_select_related = ["user", "merchant"]
    raw_id_fields = ["user"]

    def get_readonly_fields(self, request, obj=None):
        return ["merchant", "user"] if obj is not None else []

    def save_model(self, request, obj, form, change):
        actor = actor_for_user(request.user)
        if change:
            services.member_update(member=obj, role=form.cleaned_data["role"], actor=actor)
        else:
            created = services.member_add(
                merchant=obj.merchant, username=obj.user.username, role=obj.role, actor=actor
            )
            obj.pk, obj.created_at = created.pk, created.created_at

    def delete_model(self, request, obj):
        services.member_remove(member=obj, actor=actor_for_user(request.user))

    def delete_queryset(self, request, queryset):
        actor = actor_for_user(request.user)
        for member in queryset.order_by("pk"):
            services.member_remove(member=member, actor=actor)


# -- personal data ------------------------------------------------------------------------

REVEAL_FIELDS = [("name", _("姓名")), ("phone", _("手机号")), ("addresses", _("收货地址"))]


class RevealForm(forms.Form):
    fields_ = forms.MultipleChoiceField(
        label=_("查看字段"),
        choices=REVEAL_FIELDS,
        widget=forms.CheckboxSelectMultiple,
        initial=["name", "phone"],
    )
    reason = forms.CharField(
        label=_("查看原因"),
        max_length=200,
        help_text=_("将记录查看人、字段、时间和原因。"),
        widget=forms.TextInput(attrs={"size": 60}),
    )


class AddressInline(admin.TabularInline):
    model = ConsumerAddress
    extra = 0
    fields = ["masked", "is_default"]
    readonly_fields = ["masked", "is_default"]
    can_delete = False
    show_change_link = False

    @admin.display(description=_("地址（已脱敏）"))
    def masked(self, obj):
        return obj.masked

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(ConsumerProfile)
class ConsumerAdmin(admin.ModelAdmin):
    """Consumers with masked name and phone; full values only through "查看完整信息"."""

    list_display = [
        "id",
        "user",
        "masked_name_col",
        "masked_phone_col",
        "credit_score",
        "external_id",
        "created_at",
    ]
    list_filter = ["preferred_language"]
    search_fields = ["user__username", "external_id"]
    fields = [
        "user",
        "external_id",
        "masked_name_col",
        "masked_phone_col",
        "credit_score",
        "preferred_language",
        "reveal_link",
    ]
    readonly_fields = [
        "user",
        "external_id",
        "masked_name_col",
        "masked_phone_col",
        "preferred_language",
        "reveal_link",
    ]
    list_select_related = ["user"]
    date_hierarchy = "created_at"
    inlines = [AddressInline]
    actions = ["reveal_pii"]

    def save_model(self, request, obj, form, change):
        if "credit_score" in form.changed_data:
            services.consumer_update(
                consumer=obj,
                credit_score=form.cleaned_data["credit_score"],
                actor=actor_for_user(request.user),
            )

    @admin.display(description=_("姓名（已脱敏）"))
    def masked_name_col(self, obj):
        return obj.masked_name

    @admin.display(description=_("手机号（已脱敏）"))
    def masked_phone_col(self, obj):
        return obj.masked_phone

    @admin.display(description=_("完整信息"))
    def reveal_link(self, obj):
        if obj is None or obj.pk is None:
            return "-"
        url = reverse("admin:aftersales_consumerprofile_reveal", args=[obj.pk])
        return format_html('<a class="button" href="{}">{}</a>', url, _("查看完整信息"))

    def has_add_permission(self, request):
        return False  # consumers are created through the API or the sign-up page

    def _may_reveal(self, request):
        return reveal.staff_may_reveal(actor_for_user(request.user))

    def get_fields(self, request, obj=None):
        fields = super().get_fields(request, obj)
        return fields if self._may_reveal(request) else [f for f in fields if f != "reveal_link"]

    def get_actions(self, request, action_location=ActionLocation.CHANGE_LIST):
        actions = super().get_actions(request, action_location)
        if not self._may_reveal(request):
            actions.pop("reveal_pii", None)
        return actions

    def get_search_results(self, request, queryset, search_term):
        """Also find a consumer by exact phone, through the blind index (RULES.md D1)."""
        queryset, distinct = super().get_search_results(request, queryset, search_term)
        digits = "".join(c for c in search_term if c.isdigit())
        if len(digits) >= 7:
            queryset |= self.model.objects.filter(phone_index=blind_index(search_term))
        return queryset, distinct

    def get_urls(self):
        return [
            path(
                "<int:pk>/reveal/",
                self.admin_site.admin_view(self.reveal_view),
                name="aftersales_consumerprofile_reveal",
            ),
            *super().get_urls(),
        ]

    def _reveal(self, request, consumers, form):
        actor = actor_for_user(request.user)
        results = []
        for consumer in consumers:
            try:
                values = reveal.pii_reveal(
                    actor=actor,
                    subject=consumer,
                    fields=form.cleaned_data["fields_"],
                    reason=form.cleaned_data["reason"],
                )
            except DomainError as exc:
                raise PermissionDenied(exc.message) from exc
            results.append((consumer, values))
        return results

    def _render(self, request, form, consumers, results=None, action=False):
        context = {
            **self.admin_site.each_context(request),
            "title": _("查看完整个人信息"),
            "opts": self.model._meta,
            "form": form,
            "consumers": consumers,
            "results": results,
            "is_action": action,
            "action_checkbox_name": ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "admin/aftersales/consumer_reveal.html", context)

    def reveal_view(self, request, pk):
        consumer = self.get_object(request, str(pk))
        if consumer is None or not self.has_view_permission(request, consumer):
            raise PermissionDenied
        if not self._may_reveal(request):
            raise PermissionDenied(_("查看完整个人信息须由平台管理员单独授权。"))
        form = RevealForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            return self._render(request, form, [consumer], self._reveal(request, [consumer], form))
        return self._render(request, form, [consumer])

    @admin.action(description=_("查看完整信息（需填写原因）"), permissions=["view"])
    def reveal_pii(self, request, queryset):
        consumers = list(queryset.select_related("user")[:50])
        if "apply" in request.POST:
            form = RevealForm(request.POST)
            if form.is_valid():
                return self._render(
                    request, form, consumers, self._reveal(request, consumers, form), action=True
                )
        else:
            form = RevealForm()
        return self._render(request, form, consumers, action=True)


@admin.register(ConsumerAddress)
class ConsumerAddressAdmin(admin.ModelAdmin):
    list_display = ["id", "consumer", "masked_col", "is_default"]
    list_filter = ["province", "is_default"]
    search_fields = ["consumer__user__username", "city"]
    fields = ["consumer", "masked_col", "province", "city", "district", "is_default"]
    readonly_fields = ["consumer", "masked_col", "province", "city", "district"]
    list_select_related = ["consumer__user"]

    @admin.display(description=_("地址（已脱敏）"))
    def masked_col(self, obj):
        return obj.masked

    def has_add_permission(self, request):
        return False


@admin.register(PiiAccessLog)
class PiiAccessLogAdmin(ReadOnlyAdmin):
    """Who saw which unmasked values, when and why (RULES.md D3): read only."""

    list_display = [
        "occurred_at",
        "actor",
        "actor_kind",
        "subject",
        "fields",
        "reason",
    ]
    list_filter = ["actor_kind", SubjectTypeFilter, "occurred_at"]
    search_fields = ["actor_label", "reason", "=subject_id"]
    date_hierarchy = "occurred_at"
    list_select_related = ["actor_user", "actor_api_key"]

    @admin.display(description=_("操作者"), ordering="actor_label")
    def actor(self, obj):
        return _actor_name(obj)

    @admin.display(description=_("对象"), ordering="subject_type")
    def subject(self, obj):
        return subject_display(obj.subject_type, obj.subject_id)


# -- integrators ----------------------------------------------------------------------------


class ApiKeyForm(forms.ModelForm):
    class Meta:
        model = ApiKey
        fields = ["name", "scope", "merchant"]


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "prefix",
        "scope",
        "merchant",
        "created_by",
        "created_at",
        "last_used_at",
        "revoked_at",
    ]
    list_filter = ["scope", ("revoked_at", admin.EmptyFieldListFilter), "merchant"]
    search_fields = ["name", "prefix", "merchant__code", "merchant__name"]
    list_select_related = ["merchant", "created_by"]
    form = ApiKeyForm
    actions = ["revoke"]

    def get_readonly_fields(self, request, obj=None):
        if obj is not None:
            return [
                "name",
                "scope",
                "merchant",
                "prefix",
                "created_by",
                "created_at",
                "last_used_at",
                "revoked_at",
            ]
        return []

    def has_delete_permission(self, request, obj=None):
        return False  # revoke instead: the timeline keeps the key's history

    def save_model(self, request, obj, form, change):
        if change:
            return
        try:
            key, raw = services.api_key_create(
                name=obj.name,
                scope=obj.scope,
                merchant=obj.merchant,
                actor=actor_for_user(request.user),
            )
        except DomainError as exc:
            raise PermissionDenied(exc.message) from exc
        obj.pk = key.pk
        messages.warning(
            request,
            format_html("{} <code>{}</code>", _("新密钥（仅显示这一次，请立即保存）："), raw),
        )

    @admin.action(description=_("吊销所选密钥"), permissions=["change"])
    def revoke(self, request, queryset):
        actor = actor_for_user(request.user)
        done = 0
        for key in queryset.filter(revoked_at__isnull=True):
            services.api_key_revoke(api_key=key, actor=actor, reason="admin")
            done += 1
        self.message_user(request, _("已吊销 %(n)d 个密钥。") % {"n": done})


# -- policies ------------------------------------------------------------------------------


class PolicyVersionForm(forms.ModelForm):
    key = forms.ChoiceField(label=_("策略"), choices=())

    class Meta:
        model = PolicyVersion
        fields = ["key", "scope", "scope_id", "value", "note"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["key"].choices = [
            (k, f"{k} — {spec.description}") for k, spec in sorted(policy_keys().items())
        ]

    def clean(self):
        """The service's own checks (type, range, law cap) shown as form errors."""
        data = super().clean()
        self._clean_scope(data)
        if "key" in data and "value" in data:
            try:
                data["value"] = policy_value_clean(data["key"], data["value"])
            except DomainError as exc:
                self.add_error("value", exc.message)
        return data

    def _clean_scope(self, data):
        """Platform versions name no object; category and merchant versions name one that
        exists (a form error, not a refused save)."""
        scope, scope_id = data.get("scope"), data.get("scope_id")
        if scope == PolicyVersion.Scope.PLATFORM:
            if scope_id is not None:
                self.add_error("scope_id", _("平台范围不填写范围对象。"))
            return
        model = {
            PolicyVersion.Scope.MERCHANT: Merchant,
            PolicyVersion.Scope.CATEGORY: apps.get_model("orders", "Category"),
        }.get(scope)
        if model is not None and (
            scope_id is None or not model._default_manager.filter(pk=scope_id).exists()
        ):
            self.add_error(
                "scope_id",
                _("请填写存在的%(what)s编号。") % {"what": model._meta.verbose_name},
            )


@admin.register(PolicyVersion)
class PolicyVersionAdmin(admin.ModelAdmin):
    """Policies are changed by adding a version (who and when are recorded); versions are
    never edited or deleted."""

    list_display = [
        "policy",
        "scope",
        "scope_id",
        "value",
        "version",
        "note",
        "created_by",
        "created_at",
    ]
    list_filter = ["key", "scope"]
    search_fields = ["key", "note"]
    list_select_related = ["created_by"]
    form = PolicyVersionForm

    @admin.display(description=_("策略"), ordering="key")
    def policy(self, obj):
        spec = policy_keys().get(obj.key)
        return _named_code(spec.description if spec else "", obj.key)

    def has_change_permission(self, request, obj=None):
        return obj is None and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        try:
            row = policy_set(
                key=obj.key,
                value=obj.value,
                scope=obj.scope,
                scope_id=obj.scope_id,
                note=obj.note,
                actor=actor_for_user(request.user),
            )
        except DomainError as exc:
            raise PermissionDenied(exc.message) from exc
        obj.pk, obj.version, obj.created_at = row.pk, row.version, row.created_at


# -- records -------------------------------------------------------------------------------


@admin.register(TimelineEvent)
class TimelineEventAdmin(ReadOnlyAdmin):
    list_display = [
        "occurred_at",
        "subject",
        "step",
        "status_move",
        "actor_kind",
        "actor",
        "merchant",
    ]
    list_filter = [SubjectTypeFilter, "actor_kind", VerbFilter]
    search_fields = ["verb", "actor_label", "=subject_id", "reason"]
    date_hierarchy = "occurred_at"
    list_select_related = ["merchant"]

    @admin.display(description=_("对象"), ordering="subject_type")
    def subject(self, obj):
        return subject_display(obj.subject_type, obj.subject_id)

    @admin.display(description=_("动作"), ordering="verb")
    def step(self, obj):
        return _verb_name(obj.verb)

    @admin.display(description=_("状态变化"))
    def status_move(self, obj):
        if not (obj.from_status or obj.to_status):
            return ""
        return _("%(from)s → %(to)s") % {
            "from": status_display(obj.subject_type, obj.from_status) or "—",
            "to": status_display(obj.subject_type, obj.to_status),
        }

    @admin.display(description=_("操作者"), ordering="actor_label")
    def actor(self, obj):
        return _actor_name(obj)


@admin.register(DomainEvent)
class DomainEventAdmin(ReadOnlyAdmin):
    list_display = ["occurred_at", "name", "subject", "merchant"]
    list_filter = ["name", SubjectTypeFilter]
    search_fields = ["name", "=subject_id"]
    date_hierarchy = "occurred_at"
    list_select_related = ["merchant"]

    @admin.display(description=_("对象"), ordering="subject_type")
    def subject(self, obj):
        return subject_display(obj.subject_type, obj.subject_id)


@admin.register(IdempotencyRecord)
class IdempotencyRecordAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "owner", "key", "method", "path", "status_code"]
    list_filter = ["status_code", "method"]
    search_fields = ["key", "owner", "path"]
    exclude = ["response_body"]


import aftersales.deadlines.admin  # noqa: E402,F401
import aftersales.messaging.admin  # noqa: E402,F401
import aftersales.tenancy.admin  # noqa: E402,F401
