"""Viewsets of the repairs API (三包, standard 6.5): parse, call one service or selector, shape."""

from django.utils.text import format_lazy
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from aftersales.api.base import (
    IDEMPOTENCY_PARAMETER,
    ActorViewMixin,
    no_store,
    require_platform_read,
)
from aftersales.api.pagination import IdCursorPagination
from aftersales.casefile.files import private_file_response
from aftersales.errors import NotFound, PermissionDenied

from .. import selectors, services
from ..models import SanbaoCatalogEntry
from ..selectors import evidence_of
from ..uploads import FAULT_PHOTOS, MAX_FAULT_PHOTOS
from . import filters
from .serializers import (
    AlternativeRefusedSerializer,
    CatalogChangeSerializer,
    CatalogEntrySerializer,
    ContactRevealSerializer,
    EntitlementsSerializer,
    EscalationResolveSerializer,
    FaultReoccurredSerializer,
    InstallationSerializer,
    OccurredSerializer,
    PartsWaitStartSerializer,
    ReasonRequiredSerializer,
    ReasonSerializer,
    RemedyChooseSerializer,
    RepairAssignSerializer,
    RepairDiagnoseSerializer,
    RepairFinishSerializer,
    RepairOrderDetailSerializer,
    RepairOrderListSerializer,
    RepairProviderApplySerializer,
    RepairProviderSerializer,
    RepairRequestSerializer,
    RevealedContactSerializer,
    WarrantyCardCreateSerializer,
    WarrantyCardDetailSerializer,
    WarrantyCardSerializer,
    WarrantyEscalationSerializer,
)

READ = (mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet)


@extend_schema_view(
    create=extend_schema(
        parameters=[IDEMPOTENCY_PARAMETER],
        request=CatalogEntrySerializer,
        responses={200: CatalogEntrySerializer, 201: CatalogEntrySerializer},
        description=gettext_lazy(
            "按 code 新建或修改三包目录条目（仅平台），每次变更保存一个版本。"
        ),
    ),
    partial_update=extend_schema(request=CatalogEntrySerializer, responses=CatalogEntrySerializer),
)
class CatalogEntryViewSet(ActorViewMixin, *READ):
    """The 三包 catalog (standard 6.5.2): periods, main parts, depreciation, parts limit."""

    serializer_class = CatalogEntrySerializer
    filterset_fields = ["code"]
    search_fields = ["code", "name"]
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self):
        return SanbaoCatalogEntry.objects.order_by("-id")

    def _save(self, code, data):
        data = dict(data)
        data.pop("code", None)
        if "main_parts" in data:
            data["main_parts"] = [dict(p) for p in data["main_parts"]]
        entry, _change = services.catalog_entry_save(code=code, actor=self.actor, **data)
        return entry

    def create(self, request):
        s = CatalogEntrySerializer(data=request.data)
        s.is_valid(raise_exception=True)
        code = s.validated_data["code"]
        existed = SanbaoCatalogEntry.objects.filter(code=code).exists()
        entry = self._save(code, s.validated_data)
        return Response(
            CatalogEntrySerializer(entry).data,
            status=status.HTTP_200_OK if existed else status.HTTP_201_CREATED,
        )

    def partial_update(self, request, pk=None):
        entry = self.get_object()
        s = CatalogEntrySerializer(entry, data=request.data, partial=True)
        s.is_valid(raise_exception=True)
        return Response(CatalogEntrySerializer(self._save(entry.code, s.validated_data)).data)

    @extend_schema(responses=CatalogChangeSerializer(many=True))
    @action(detail=True, methods=["get"], pagination_class=None)
    def changes(self, request, pk=None):
        """Every saved version of the entry, newest first: who, when, what changed (platform)."""
        require_platform_read(self.actor)
        entry = self.get_object()
        rows = entry.changes.order_by("-version")
        return Response(CatalogChangeSerializer(rows, many=True).data)


def _platform_writer(actor):
    """Provider admission is the platform's (standard 6.5.1): others who may call it get 403."""
    if actor.platform_write:
        return
    if actor.platform_read:
        raise PermissionDenied(_("只读角色不能修改数据。"), code="read_only_role")
    raise PermissionDenied(_("只有平台可以执行此操作。"), code="platform_only")


def _post(request_serializer, response_serializer=None, *, status_code=200, description=""):
    """The schema of a POST action: its body, its answer and the Idempotency-Key header."""
    return extend_schema(
        parameters=[IDEMPOTENCY_PARAMETER],
        request=request_serializer,
        responses={status_code: response_serializer},
        description=description,
    )


# -- warranty cards -----------------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(description=gettext_lazy("三包凭证（游标分页，最新在前）。")),
    retrieve=extend_schema(responses=WarrantyCardDetailSerializer),
)
class WarrantyCardViewSet(ActorViewMixin, *READ):
    """Warranty cards (one per sold unit) and what the 三包 engine grants on them now."""

    serializer_class = WarrantyCardSerializer
    filterset_class = filters.WarrantyCardFilter
    filter_backends = [DjangoFilterBackend]

    def get_queryset(self):
        return selectors.warranty_card_list(actor=self.actor).select_related("order_line")

    def get_object(self):
        return selectors.warranty_card_get(actor=self.actor, pk=self.kwargs["pk"])

    def get_serializer_class(self):
        return WarrantyCardDetailSerializer if self.action == "retrieve" else WarrantyCardSerializer

    def _detail(self, card):
        card = selectors.warranty_card_get(actor=self.actor, pk=card.pk)
        return WarrantyCardDetailSerializer(card, context={"request": self.request}).data

    @_post(
        WarrantyCardCreateSerializer,
        WarrantyCardSerializer(many=True),
        status_code=201,
        description=gettext_lazy(
            "为已签收的订单行发放三包凭证（每件一张，已有的跳过）；可带序列号。平台或该商家。"
        ),
    )
    def create(self, request):
        s = WarrantyCardCreateSerializer(data=request.data, context={"request": request})
        s.is_valid(raise_exception=True)
        d = s.validated_data
        cards = services.warranty_card_create(
            line=d["order_line"],
            actor=self.actor,
            signed_at=d.get("signed_at"),
            serial_numbers=d.get("serial_numbers"),
        )
        rows = selectors.warranty_card_list(actor=self.actor).filter(pk__in=[c.pk for c in cards])
        return Response(
            WarrantyCardSerializer(rows, many=True).data, status=status.HTTP_201_CREATED
        )

    @extend_schema(
        responses=EntitlementsSerializer,
        description=gettext_lazy(
            "三包引擎的答复：现在报修可获得的补救（退货、换货、免费或付费维修）、给出每项的规则（G1–G12）与决定它的日期、折旧退款金额（G8）或不能计算的原因。"
        ),
    )
    @action(detail=True, methods=["get"])
    def entitlements(self, request, pk=None):
        card = self.get_object()
        answer = selectors.card_entitlements(card=card)
        return Response(EntitlementsSerializer((card, answer)).data)

    @_post(
        RemedyChooseSerializer,
        WarrantyCardDetailSerializer,
        description=gettext_lazy("消费者选择三包引擎当前给出的换货或退货，转入退换货流程。"),
    )
    @action(detail=True, methods=["post"], url_path="choose-remedy")
    def choose_remedy(self, request, pk=None):
        card = self.get_object()
        s = RemedyChooseSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        card = services.warranty_remedy_choose(card=card, actor=self.actor, **s.validated_data)
        return Response(self._detail(card))

    @_post(
        AlternativeRefusedSerializer,
        WarrantyCardDetailSerializer,
        description=gettext_lazy("记录消费者不接受其他型号（G7：无同型号时全额退货）。"),
    )
    @action(detail=True, methods=["post"], url_path="refuse-alternative")
    def refuse_alternative(self, request, pk=None):
        card = self.get_object()
        s = AlternativeRefusedSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        card = services.warranty_card_refuse_alternative(
            card=card, actor=self.actor, **s.validated_data
        )
        return Response(self._detail(card))

    @_post(
        InstallationSerializer,
        WarrantyCardDetailSerializer,
        description=gettext_lazy("记录安装完成：需安装商品的三包期自此起算（G9）。"),
    )
    @action(detail=True, methods=["post"])
    def installed(self, request, pk=None):
        card = self.get_object()
        s = InstallationSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        card = services.warranty_installation_complete(
            card=card, actor=self.actor, **s.validated_data
        )
        return Response(self._detail(card))


# -- repair providers -----------------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(description=gettext_lazy("维修服务商：平台看全部，其他人只看已准入的。")),
)
class RepairProviderViewSet(ActorViewMixin, *READ):
    """Repair providers and their admission (standard 6.5.1): platform staff review them."""

    serializer_class = RepairProviderSerializer
    filterset_class = filters.RepairProviderFilter
    filter_backends = [DjangoFilterBackend]

    def get_queryset(self):
        return selectors.provider_list(actor=self.actor)

    def get_object(self):
        return selectors.provider_get(actor=self.actor, pk=self.kwargs["pk"])

    def _answer(self, provider):
        return Response(
            RepairProviderSerializer(selectors.provider_get(actor=self.actor, pk=provider.pk)).data
        )

    @_post(
        RepairProviderApplySerializer,
        RepairProviderSerializer,
        status_code=201,
        description=gettext_lazy("记录维修服务商的准入申请（资质、类目、地区），待审核。"),
    )
    def create(self, request):
        _platform_writer(self.actor)
        s = RepairProviderApplySerializer(data=request.data)
        s.is_valid(raise_exception=True)
        provider = services.provider_apply(actor=self.actor, **s.validated_data)
        return Response(
            RepairProviderSerializer(selectors.provider_get(actor=self.actor, pk=provider.pk)).data,
            status=status.HTTP_201_CREATED,
        )

    def _review(self, approve):
        provider = self.get_object()
        _platform_writer(self.actor)
        s = ReasonSerializer(data=self.request.data)
        s.is_valid(raise_exception=True)
        provider = services.provider_review(
            provider=provider, actor=self.actor, approve=approve, note=s.validated_data["reason"]
        )
        return self._answer(provider)

    @_post(ReasonSerializer, RepairProviderSerializer, description=gettext_lazy("审核通过，准入。"))
    @action(detail=True, methods=["post"])
    def approve(self, request, pk=None):
        return self._review(True)

    @_post(
        ReasonSerializer,
        RepairProviderSerializer,
        description=gettext_lazy("驳回申请（须说明原因）。"),
    )
    @action(detail=True, methods=["post"])
    def reject(self, request, pk=None):
        return self._review(False)

    @_post(
        ReasonRequiredSerializer,
        RepairProviderSerializer,
        description=gettext_lazy("暂停（须说明原因）。"),
    )
    @action(detail=True, methods=["post"])
    def suspend(self, request, pk=None):
        provider = self.get_object()
        _platform_writer(self.actor)
        s = ReasonRequiredSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        provider = services.provider_suspend(
            provider=provider, actor=self.actor, reason=s.validated_data["reason"]
        )
        return self._answer(provider)

    @_post(
        ReasonSerializer, RepairProviderSerializer, description=gettext_lazy("恢复暂停的服务商。")
    )
    @action(detail=True, methods=["post"])
    def reinstate(self, request, pk=None):
        provider = self.get_object()
        _platform_writer(self.actor)
        s = ReasonSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        provider = services.provider_reinstate(
            provider=provider, actor=self.actor, note=s.validated_data["reason"]
        )
        return self._answer(provider)


# -- repair orders --------------------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(
        responses=RepairOrderListSerializer(many=True),
        description=gettext_lazy("维修单（游标分页，最新在前）。服务商员工只看派给本服务商的。"),
    ),
    retrieve=extend_schema(responses=RepairOrderDetailSerializer),
)
class RepairOrderViewSet(ActorViewMixin, *READ):
    """Repair orders (standard 6.5): requested, assigned, received (送修), diagnosed, waiting
    for parts, repaired, finished, returned — each step an action."""

    filterset_class = filters.RepairOrderFilter
    filter_backends = [DjangoFilterBackend]

    def get_queryset(self):
        return selectors.repair_order_list(actor=self.actor)

    def get_object(self):
        return selectors.repair_order_get(actor=self.actor, pk=self.kwargs["pk"])

    def get_serializer_class(self):
        return RepairOrderListSerializer if self.action == "list" else RepairOrderDetailSerializer

    def _detail(self, repair, status_code=status.HTTP_200_OK):
        repair = selectors.repair_order_get(actor=self.actor, pk=repair.pk)
        data = RepairOrderDetailSerializer(repair, context={"request": self.request}).data
        return Response(data, status=status_code)

    def _step(self, serializer_class, service):
        """Parse the body, call ``service(repair=..., actor=..., **body)``, answer the repair."""
        repair = self.get_object()
        s = serializer_class(data=self.request.data)
        s.is_valid(raise_exception=True)
        return self._detail(service(repair=repair, actor=self.actor, **s.validated_data))

    @_post(
        RepairRequestSerializer,
        RepairOrderDetailSerializer,
        status_code=201,
        description=format_lazy(
            gettext_lazy(
                "消费者按三包凭证或订单行报修（故障描述、送修或上门）；三包引擎决定免费"
                "（G3、G12）或付费（G11、G9）。故障照片：multipart 的 photos 文件，最多 {n} 张，"
                "接受{accepted}；按文件内容校验，被拒时返回 `upload_unsupported_type`、"
                "`upload_too_large` 或 `upload_corrupt`，不保存任何文件。"
            ),
            n=MAX_FAULT_PHOTOS,
            accepted=FAULT_PHOTOS.description,
        ),
    )
    def create(self, request):
        s = RepairRequestSerializer(data=request.data, context={"request": request})
        s.is_valid(raise_exception=True)
        d = dict(s.validated_data)
        repair = services.repair_request(
            actor=self.actor,
            card=d.pop("card", None),
            line=d.pop("order_line", None),
            evidence=request.FILES.getlist("photos"),
            **d,
        )
        return self._detail(repair, status.HTTP_201_CREATED)

    @extend_schema(
        parameters=[OpenApiParameter("evidence_pk", int, OpenApiParameter.PATH)],
        responses={
            (200, "application/octet-stream"): OpenApiResponse(description=gettext_lazy("文件内容"))
        },
        description=gettext_lazy("下载一份维修凭证（与查看维修单同样的权限）。"),
    )
    @action(
        detail=True,
        methods=["get"],
        url_path=r"evidence/(?P<evidence_pk>[^/.]+)",
        url_name="evidence-file",
        pagination_class=None,
        filter_backends=[],
    )
    def evidence_file(self, request, pk=None, evidence_pk=None):
        item = evidence_of(self.get_object(), evidence_pk)
        if item is None:
            raise NotFound()
        return private_file_response(item.file, filename=item.original_name)

    @_post(
        RepairAssignSerializer,
        RepairOrderDetailSerializer,
        description=gettext_lazy("派单给已准入的服务商。"),
    )
    @action(detail=True, methods=["post"])
    def assign(self, request, pk=None):
        repair = self.get_object()
        s = RepairAssignSerializer(data=request.data, context={"request": request})
        s.is_valid(raise_exception=True)
        return self._detail(
            services.repair_assign(repair=repair, actor=self.actor, **s.validated_data)
        )

    @_post(
        OccurredSerializer,
        RepairOrderDetailSerializer,
        description=gettext_lazy("服务商收到商品（送修时间 occurred_at）。"),
    )
    @action(detail=True, methods=["post"])
    def receive(self, request, pk=None):
        return self._step(OccurredSerializer, services.repair_receive)

    @_post(
        RepairDiagnoseSerializer,
        RepairOrderDetailSerializer,
        description=gettext_lazy("记录检测结论。"),
    )
    @action(detail=True, methods=["post"])
    def diagnose(self, request, pk=None):
        data = {"diagnosis", "paid_reason", "occurred_at"}
        repair = self.get_object()
        s = RepairDiagnoseSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        body = {k: v for k, v in s.validated_data.items() if k in data}
        return self._detail(services.repair_diagnose(repair=repair, actor=self.actor, **body))

    @_post(
        PartsWaitStartSerializer,
        RepairOrderDetailSerializer,
        description=gettext_lazy("开始等待厂家配件（G5；不计入修理者 30 日）。"),
    )
    @action(detail=True, methods=["post"], url_path="parts-wait-start")
    def parts_wait_start(self, request, pk=None):
        return self._step(PartsWaitStartSerializer, services.repair_parts_wait_start)

    @_post(
        OccurredSerializer,
        RepairOrderDetailSerializer,
        description=gettext_lazy("配件到货，继续维修。"),
    )
    @action(detail=True, methods=["post"], url_path="parts-wait-end")
    def parts_wait_end(self, request, pk=None):
        return self._step(OccurredSerializer, services.repair_parts_wait_end)

    @_post(OccurredSerializer, RepairOrderDetailSerializer, description=gettext_lazy("开始维修。"))
    @action(detail=True, methods=["post"])
    def start(self, request, pk=None):
        return self._step(OccurredSerializer, services.repair_start)

    @_post(
        RepairFinishSerializer,
        RepairOrderDetailSerializer,
        description=gettext_lazy(
            "维修结果（修好/未修好）、更换部件、人工费、免费或付费（付费须有 G11 原因）。"
        ),
    )
    @action(detail=True, methods=["post"])
    def finish(self, request, pk=None):
        return self._step(RepairFinishSerializer, services.repair_finish)

    @_post(
        OccurredSerializer,
        RepairOrderDetailSerializer,
        description=gettext_lazy("商品已返还消费者。"),
    )
    @action(detail=True, methods=["post"], url_path="return", url_name="return")
    def return_to_consumer(self, request, pk=None):
        return self._step(OccurredSerializer, services.repair_return_to_consumer)

    @_post(
        FaultReoccurredSerializer,
        RepairOrderDetailSerializer,
        status_code=201,
        description=gettext_lazy(
            "修复后再次故障：30 日内视为未修好并免费重修（G12）；"
            "第三次故障可换货或退货（G4）。返回新的维修单。"
        ),
    )
    @action(detail=True, methods=["post"], url_path="fault-reoccurred")
    def fault_reoccurred(self, request, pk=None):
        repair = self.get_object()
        s = FaultReoccurredSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        d = s.validated_data
        new = services.repair_fault_reoccurred(
            repair=repair,
            actor=self.actor,
            fault_description=d["fault_description"],
            fault_reported_at=d.get("occurred_at"),
        )
        return self._detail(new, status.HTTP_201_CREATED)

    @_post(ReasonSerializer, RepairOrderDetailSerializer, description=gettext_lazy("送修前取消。"))
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        return self._step(ReasonSerializer, services.repair_cancel)

    @_post(
        ReasonSerializer,
        RepairOrderDetailSerializer,
        description=gettext_lazy("关闭已完成的维修单。"),
    )
    @action(detail=True, methods=["post"])
    def close(self, request, pk=None):
        return self._step(ReasonSerializer, services.repair_close)

    @_post(
        ContactRevealSerializer,
        RevealedContactSerializer,
        description=gettext_lazy(
            "查看消费者完整电话与地址（上门服务，须填原因，记录查看日志）："
            "仅限承修服务商员工、上门维修、维修单未结束；其他人 404。"
        ),
    )
    @action(detail=True, methods=["post"], url_path="reveal-contact", url_name="reveal-contact")
    def reveal_contact(self, request, pk=None):
        repair = self.get_object()
        s = ContactRevealSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        values = services.repair_consumer_reveal(
            repair=repair, actor=self.actor, **s.validated_data
        )
        return no_store(Response({"id": repair.pk, "values": values}))


# -- escalations ---------------------------------------------------------------------------------


class OldestFirstPagination(IdCursorPagination):
    ordering = ("raised_at", "id")


@extend_schema_view(
    list=extend_schema(
        description=gettext_lazy(
            "三包升级队列（G4、G5、G6），最早发起的在前；?status=open 为待处理。"
        )
    ),
)
class WarrantyEscalationViewSet(ActorViewMixin, *READ):
    """The platform's 三包 escalation queue; consumers and merchants see their own cases."""

    serializer_class = WarrantyEscalationSerializer
    filterset_class = filters.WarrantyEscalationFilter
    filter_backends = [DjangoFilterBackend]
    pagination_class = OldestFirstPagination

    def get_queryset(self):
        return selectors.escalation_queue(actor=self.actor)

    def get_object(self):
        return selectors.escalation_get(actor=self.actor, pk=self.kwargs["pk"])

    @_post(
        EscalationResolveSerializer,
        WarrantyEscalationSerializer,
        description=gettext_lazy(
            "平台处理升级案件：exchange / refund / repair / dismissed（不成立须说明）。"
        ),
    )
    @action(detail=True, methods=["post"])
    def resolve(self, request, pk=None):
        escalation = self.get_object()
        s = EscalationResolveSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        escalation = services.escalation_resolve(
            escalation=escalation, actor=self.actor, **s.validated_data
        )
        return Response(
            WarrantyEscalationSerializer(
                selectors.escalation_get(actor=self.actor, pk=escalation.pk)
            ).data
        )
