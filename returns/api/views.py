"""Viewsets of returns, exchanges, refunds and arbitration (standard 6.3; RULES.md R1–R19).

Each endpoint parses its input, calls one service (or selector) of ``returns`` and answers with
the case as the caller may see it. Scope: a consumer sees their own requests, merchant staff and
merchant keys their merchant's, platform staff and platform keys all, a mediator those granted
(``returns.view_returnrequest``); anything else is 404. Who may do what is the services' (403
``consumer_only`` / ``platform_only`` / ``read_only_role``; 409 for a conflicting state).
"""

from django.db.models import Exists, OuterRef, Prefetch
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy
from django.utils.translation import gettext_lazy as _
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.views import APIView

from aftersales.api.base import IDEMPOTENCY_PARAMETER, ActorViewMixin
from aftersales.api.pagination import IdCursorPagination
from aftersales.casefile.files import private_file_response
from aftersales.deadlines.engine import deadlines_for_many
from aftersales.deadlines.models import Deadline
from aftersales.errors import InvalidInput, NotFound
from aftersales.tenancy.scope import access
from orders import services as order_services
from orders.models import OrderLine

from .. import rules, selectors, services
from ..models import Arbitration, RefundPart, ReturnAddress, ReturnEvidence, ReturnRequest
from ..services import payments
from ..uploads import EVIDENCE_ACCEPT
from . import filters
from .serializers import (
    ArbitrationDecideSerializer,
    ArbitrationDetailSerializer,
    ArbitrationSerializer,
    LineReturnOptionsSerializer,
    ReturnAddressSerializer,
    ReturnApproveSerializer,
    ReturnCreateSerializer,
    ReturnEvidenceSerializer,
    ReturnEvidenceUploadSerializer,
    ReturnNoteSerializer,
    ReturnOverrideSerializer,
    ReturnParcelEventSerializer,
    ReturnPayDifferenceSerializer,
    ReturnPickupBookSerializer,
    ReturnReceiveSerializer,
    ReturnRefundInputSerializer,
    ReturnRejectSerializer,
    ReturnRequestDetailSerializer,
    ReturnRequestListSerializer,
    ReturnShipBackSerializer,
    ReturnStatementSerializer,
    ReturnTrackingSerializer,
)

# -- helpers --------------------------------------------------------------------------------------


def attach_countdowns(requests):
    """Each request's soonest pending deadline (its countdown), for a whole page in one query
    on the deadlines' subject index."""
    soonest = {}
    for deadline in deadlines_for_many(requests):
        if deadline.state == Deadline.State.PENDING:
            soonest.setdefault(deadline.subject_id, deadline)
    for request in requests:
        request.next_deadline = soonest.get(request.pk)
    return requests


def attach_evidence(request):
    """The case's evidence, oldest first: read only when its row says it has some
    (``has_evidence``, annotated by ``_detail_queryset``)."""
    request.evidence_rows = (
        list(request.evidence.order_by("created_at", "id")) if request.has_evidence else []
    )
    return request


def attach_deadlines(request):
    """The case's open deadlines (soonest first) and its countdown."""
    request.open_deadlines = selectors.return_request_deadlines(request)
    request.next_deadline = next(
        (d for d in request.open_deadlines if d.state == Deadline.State.PENDING), None
    )
    return request


def _is_multipart(request):
    return (request.content_type or "").startswith("multipart/")


def _body(request):
    """The body as a plain dict: multipart file parts go to the evidence, not the serializer."""
    if not _is_multipart(request):
        return request.data
    return {k: v for k, v in request.data.items() if k not in ("evidence", "file")}


def _evidence(request, validated, *, kind=None, note=""):
    """Evidence for a service: JSON items (base64) or multipart ``evidence``/``file`` parts."""
    items = list(validated.pop("evidence", None) or [])
    if _is_multipart(request):
        for upload in request.FILES.getlist("evidence") + request.FILES.getlist("file"):
            items.append({"file": upload, "kind": kind, "note": note})
    return items


def _parse(serializer_class, request):
    s = serializer_class(data=_body(request), context={"request": request})
    s.is_valid(raise_exception=True)
    return dict(s.validated_data)


def _post(request_serializer, description, responses=None, examples=None):
    """The schema of an action: Idempotency-Key, its body and the case it answers with."""
    return extend_schema(
        examples=examples or [],
        parameters=[IDEMPOTENCY_PARAMETER],
        request={
            "application/json": request_serializer,
            "multipart/form-data": request_serializer,
        }
        if request_serializer is not None
        else None,
        responses=responses or ReturnRequestDetailSerializer,
        description=description,
    )


CREATE_EXAMPLE = OpenApiExample(
    gettext_lazy("七天无理由退货，同意后上门取件"),
    request_only=True,
    value={
        "line": 42,
        "kind": "return_refund",
        "reason": "no_reason",
        "quantity": 1,
        "description": gettext_lazy("尺码不合适"),
        "pickup_slot_start": "2026-11-30T09:00:00+08:00",
        "pickup_slot_end": "2026-11-30T11:00:00+08:00",
    },
)
QUALITY_EXAMPLE = OpenApiExample(
    gettext_lazy("质量问题换货，附照片（JSON，base64）"),
    request_only=True,
    value={
        "line": 42,
        "kind": "exchange",
        "reason": "quality",
        "quantity": 1,
        "description": gettext_lazy("屏幕有坏点"),
        "evidence": [{"filename": "screen.jpg", "content_base64": "/9j/4AAQSkZJRg..."}],
    },
)


# -- what a line allows now -----------------------------------------------------------------------


class LineReturnOptionsView(ActorViewMixin, APIView):
    """What the consumer can do on an order line right now and why."""

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "id", int, OpenApiParameter.PATH, description=gettext_lazy("订单行 id")
            )
        ],
        responses=LineReturnOptionsSerializer,
        description=gettext_lazy(
            "该订单行现在可以申请什么售后、为什么：每个选项给出依据的规则编号、稳定代码、"
            "引用法律条文或平台规则的说明和决定它的日期（如“七天无理由退货可申请至 "
            "2026-11-28 24:00（《消费者权益保护法》第二十五条，…）”）。"
        ),
    )
    def get(self, request, pk):
        options = selectors.line_return_options(actor=self.actor, line=pk)
        rows = [
            {
                "kind": o.kind,
                "available": o.available,
                "rule": o.rule,
                "code": o.code,
                "message": o.message,
                "decided_by": o.decided_by,
                "decided_by_display": o.decided_by_display,
                "min_quantity": o.min_quantity,
                "max_quantity": o.max_quantity,
                "instant": o.instant,
                "request_kinds": list(o.request_kinds),
                "reasons": list(o.reasons),
            }
            for o in options
        ]
        line = OrderLine.objects.select_related("order", "sku__product").get(pk=pk)
        shipping = {}
        for kind in (rules.NO_REASON, rules.QUALITY):
            payer = services.line_shipping_payer(line, kind)
            shipping[kind] = {
                "payer": payer.payer,
                "rule": payer.rule,
                "code": payer.code,
                "message": payer.message,
                "reimbursed_with_refund": payer.reimbursed_with_refund,
            }
        data = {
            "line": line.pk,
            "available": any(o.available for o in options),
            "shipping": shipping,
            "insured": rules.is_insured(
                line.unit_paid_price, order_services.high_value_threshold(line)
            ),
            "options": rows,
        }
        return Response(LineReturnOptionsSerializer(data).data)


# -- requests -------------------------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(
        responses=ReturnRequestListSerializer(many=True),
        description=gettext_lazy(
            "售后申请列表（游标分页，最新在前）：消费者看自己的，商家看本店的（含最近期限"
            "倒计时 next_deadline_at），平台看全部。"
        ),
    ),
    retrieve=extend_schema(
        responses=ReturnRequestDetailSerializer,
        description=gettext_lazy(
            "售后申请详情：待执行期限、各支付方式的退款进度、时间线、凭证、仲裁。"
        ),
    ),
)
class ReturnRequestViewSet(
    ActorViewMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """Return, exchange and refund requests and their actions (standard 6.3)."""

    filterset_class = filters.ReturnRequestFilter
    filter_backends = [DjangoFilterBackend]
    pagination_class = IdCursorPagination
    http_method_names = ["get", "post", "head", "options"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return ReturnRequest.objects.none()
        if self.action == "list":
            return selectors.return_request_list(actor=self.actor)
        return self._detail_queryset()

    def _detail_queryset(self):
        # Few joins (the planner's time grows with them); refund parts come prefetched; the
        # evidence, the ledger and the arbitration are read only by cases that have them.
        return (
            selectors.return_request_list(actor=self.actor)
            .select_related("return_address")
            .annotate(has_evidence=Exists(ReturnEvidence.objects.filter(request_id=OuterRef("pk"))))
            .prefetch_related(
                Prefetch(
                    "refund__parts",
                    queryset=RefundPart.objects.select_related("tender", "gateway_refund"),
                ),
            )
            .order_by("-id")
        )

    def list(self, request):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        attach_countdowns(page)
        return self.get_paginated_response(ReturnRequestListSerializer(page, many=True).data)

    def retrieve(self, request, pk=None):
        obj = attach_evidence(attach_deadlines(self.get_object()))
        return Response(ReturnRequestDetailSerializer(obj).data)

    def get_serializer_class(self):
        if self.action == "list":
            return ReturnRequestListSerializer
        return ReturnRequestDetailSerializer

    def _target(self):
        """The request of the URL, if the caller may see it (404 otherwise), unlocked: the
        service locks it."""
        return access(
            ReturnRequest.objects.all(),
            self.actor,
            self.kwargs["pk"],
            grant_perm=services.RETURN_GRANT,
        )

    def _answer(self, request_obj, code=status.HTTP_200_OK):
        fresh = self._detail_queryset().filter(pk=request_obj.pk).first()
        if fresh is None:  # the service's scope check makes this unreachable
            raise NotFound()
        fresh = attach_evidence(attach_deadlines(fresh))
        return Response(ReturnRequestDetailSerializer(fresh).data, status=code)

    @_post(
        ReturnCreateSerializer,
        gettext_lazy(
            "消费者申请仅退款、退货退款、换货或换规格（R1–R4、R8–R11、R15、R17、R18）。"
            "先按该订单行当前可申请的选项检查资格，不符合时返回 400 和规则代码（如 "
            "`no_reason_window_closed`、`no_reason_excluded_by_law`、`quantity_exceeds_refundable`、"
            "`evidence_required`）。未发货的仅退款立即同意并原路退款（R11），返回的 refund 为 "
            "pending 或 succeeded。平台写权限可代消费者提交；商家不能提交（403）。"
        ),
        responses={201: ReturnRequestDetailSerializer},
        examples=[CREATE_EXAMPLE, QUALITY_EXAMPLE],
    )
    def create(self, request):
        d = _parse(ReturnCreateSerializer, request)
        evidence = _evidence(request, d)
        line = d.pop("line")
        quantity = d.pop("quantity", None)
        start, end = d.pop("pickup_slot_start", None), d.pop("pickup_slot_end", None)
        pickup = {"slot_start": start, "slot_end": end} if start or end else None
        created = services.return_request_create(
            line=line,
            quantity=quantity,
            actor=self.actor,
            evidence=evidence,
            pickup=pickup,
            **d,
        )
        return self._answer(created, code=status.HTTP_201_CREATED)

    @_post(
        ReturnApproveSerializer,
        gettext_lazy(
            "商家同意申请（仅退款即原路退款）；退货或换货寄回 `return_address`"
            "（本店启用中的退货地址，缺省为默认地址）。"
            "409 `invalid_status_transition`；400 `return_address_invalid`。"
        ),
    )
    @action(detail=True, methods=["post"])
    def approve(self, request, pk=None):
        d = _parse(ReturnApproveSerializer, request)
        target = self._target()
        done = services.return_request_approve(
            request=target,
            actor=self.actor,
            note=d["reason"],
            return_address=d.get("return_address"),
        )
        return self._answer(done)

    @_post(
        ReturnRejectSerializer,
        gettext_lazy("商家拒绝申请，须说明理由，可附凭证；消费者可申请平台仲裁（R19）。"),
    )
    @action(detail=True, methods=["post"])
    def reject(self, request, pk=None):
        d = _parse(ReturnRejectSerializer, request)
        evidence = _evidence(request, d)
        target = self._target()
        done = services.return_request_reject(
            request=target, actor=self.actor, reason=d["reason"], evidence=evidence
        )
        return self._answer(done)

    @_post(
        ReturnNoteSerializer,
        gettext_lazy("消费者撤销仍在处理中的申请（寄回前）。409 `return_not_cancellable`。"),
    )
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        d = _parse(ReturnNoteSerializer, request)
        target = self._target()
        done = services.return_request_cancel(request=target, actor=self.actor, reason=d["reason"])
        return self._answer(done)

    @_post(
        ReturnShipBackSerializer,
        gettext_lazy(
            "消费者自行寄回：承运商与运单号、实付运费；退货运费承担见 shipping_payer（R8、R9），"
            "商家承担时运费随退款报销（不超过策略上限）。"
        ),
    )
    @action(detail=True, methods=["post"], url_path="ship-back")
    def ship_back(self, request, pk=None):
        d = _parse(ReturnShipBackSerializer, request)
        target = self._target()
        done = services.return_ship_back(request=target, actor=self.actor, **d)
        return self._answer(done)

    @_post(
        ReturnPickupBookSerializer,
        gettext_lazy(
            "预约上门取件时段（R16）；联系人默认为订单收货人。承运商稍后确认或拒绝该时段"
            "（沙箱：08:00 前或 20:00 起的时段 `no_courier_in_slot`）。"
        ),
    )
    @action(detail=True, methods=["post"], url_path="book-pickup")
    def book_pickup(self, request, pk=None):
        d = _parse(ReturnPickupBookSerializer, request)
        contact_keys = ("contact_name", "contact_phone", "province", "city", "district", "street")
        contact = None
        if any(k in d for k in contact_keys):
            contact = {k.removeprefix("contact_"): d.get(k, "") for k in contact_keys}
        target = self._target()
        services.return_pickup_book(
            request=target,
            actor=self.actor,
            slot_start=d["slot_start"],
            slot_end=d["slot_end"],
            contact=contact,
            shipping_fee=d.get("shipping_fee"),
        )
        return self._answer(target)

    @_post(
        ReturnPayDifferenceSerializer,
        gettext_lazy(
            "消费者支付换规格的正差价（R18），经支付网关异步扣款（difference_payment.status："
            "pending → succeeded / failed）。重复或并发调用只扣款一次；失败后可再次支付。"
            "未支付前商家发出换货返回 422 `price_difference_unpaid`。"
        ),
    )
    @action(detail=True, methods=["post"], url_path="pay-difference")
    def pay_difference(self, request, pk=None):
        d = _parse(ReturnPayDifferenceSerializer, request)
        target = self._target()
        payments.exchange_difference_pay(request=target, actor=self.actor, method=d["method"])
        return self._answer(target)

    @_post(
        ReturnReceiveSerializer,
        gettext_lazy(
            "商家确认收到退货并给出验货结果（R5、R6）：完好则 7 天内退款；不完好须附照片等凭证，"
            "申请进入异议（disputed），消费者可申请仲裁。"
        ),
    )
    @action(detail=True, methods=["post"])
    def receive(self, request, pk=None):
        d = _parse(ReturnReceiveSerializer, request)
        evidence = _evidence(request, d)
        target = self._target()
        done = services.return_receive(
            request=target, actor=self.actor, intact=d["intact"], note=d["note"], evidence=evidence
        )
        return self._answer(done)

    @_post(
        ReturnRefundInputSerializer,
        gettext_lazy(
            "按原支付方式按比例原路退款（R7），异步到账（refund.status：pending → succeeded / "
            "failed / partly_failed）。一个申请只退款一次：重复或并发调用返回同一笔退款。"
        ),
    )
    @action(detail=True, methods=["post"])
    def refund(self, request, pk=None):
        d = _parse(ReturnRefundInputSerializer, request)
        target = self._target()
        services.return_refund(request=target, actor=self.actor, amount=d.get("amount"))
        return self._answer(target)

    @_post(
        ReturnTrackingSerializer,
        gettext_lazy("商家发出换货（R17 高价值保价；R18 差价多退少补）。"),
    )
    @action(detail=True, methods=["post"], url_path="ship-exchange")
    def ship_exchange(self, request, pk=None):
        d = _parse(ReturnTrackingSerializer, request)
        target = self._target()
        done = services.exchange_ship(request=target, actor=self.actor, **d)
        return self._answer(done)

    @_post(
        ReturnStatementSerializer,
        gettext_lazy("商家拒绝或验货有异议后，消费者申请平台仲裁（R19），附陈述与凭证。"),
    )
    @action(detail=True, methods=["post"])
    def escalate(self, request, pk=None):
        d = _parse(ReturnStatementSerializer, request)
        evidence = _evidence(request, d)
        target = self._target()
        services.return_escalate(
            request=target, actor=self.actor, statement=d["statement"], evidence=evidence
        )
        return self._answer(target)

    @_post(
        ReturnOverrideSerializer,
        gettext_lazy("平台人工干预：把申请改到任一状态，须说明理由（记入时间线）。"),
    )
    @action(detail=True, methods=["post"])
    def override(self, request, pk=None):
        d = _parse(ReturnOverrideSerializer, request)
        target = self._target()
        done = services.return_override(request=target, actor=self.actor, **d)
        return self._answer(done)

    @_post(
        ReturnParcelEventSerializer,
        gettext_lazy(
            "退货包裹的承运商轨迹（商家密钥或平台推送）：首次揽收可能触发极速退款（R12），"
            "签收即商家收货（R6 期限开始）。"
        ),
    )
    @action(detail=True, methods=["post"], url_path="parcel-events")
    def parcel_events(self, request, pk=None):
        d = _parse(ReturnParcelEventSerializer, request)
        target = self._target()
        done = services.return_parcel_scan_record(request=target, actor=self.actor, **d)
        return self._answer(done)

    @_post(
        ReturnEvidenceUploadSerializer,
        format_lazy(
            _(
                "上传凭证：multipart 的 file 部分（可多个，附 kind、note），或 JSON 的 evidence "
                "列表（base64）。接受{accepted}。按文件内容校验：类型不受支持返回 "
                "`upload_unsupported_type`，过大返回 `upload_too_large`，损坏或内容与扩展名不符"
                "返回 `upload_corrupt`；被拒的请求不保存任何文件。"
            ),
            accepted=EVIDENCE_ACCEPT["add"].description,
        ),
        responses={201: ReturnEvidenceSerializer(many=True)},
    )
    @action(detail=True, methods=["post"])
    def evidence(self, request, pk=None):
        d = _parse(ReturnEvidenceUploadSerializer, request)
        items = _evidence(request, d, kind=d.get("kind"), note=d["note"])
        if not items:
            raise InvalidInput(
                _("请上传凭证文件。"),
                code="evidence_required",
                fields={"file": "required"},
            )
        target = self._target()
        rows = services.evidence_add(
            request=target, actor=self.actor, evidence=items, note=d["note"]
        )
        return Response(
            ReturnEvidenceSerializer(rows, many=True).data, status=status.HTTP_201_CREATED
        )

    @extend_schema(
        parameters=[OpenApiParameter("evidence_pk", int, OpenApiParameter.PATH)],
        responses={
            (200, "application/octet-stream"): OpenApiResponse(description=gettext_lazy("文件内容"))
        },
        description=gettext_lazy("下载一份凭证（与查看申请同样的权限）。"),
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
        target = self._target()
        item = target.evidence.filter(pk=_int_or_404(evidence_pk)).first()
        if item is None or not item.file:
            raise NotFound()
        return private_file_response(item.file, filename=item.original_name)


def _int_or_404(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        raise NotFound() from None


# -- arbitration ----------------------------------------------------------------------------------


class QueuePagination(IdCursorPagination):
    """The arbitration queue: oldest first."""

    ordering = "id"


@extend_schema_view(
    list=extend_schema(
        responses=ArbitrationSerializer(many=True),
        description=gettext_lazy(
            "仲裁队列（最早发起的在前；默认只列未裁决的）：平台人员看全部，"
            "获授权的调解员看授权给他的，商家和消费者看自己的。"
        ),
    ),
    retrieve=extend_schema(
        responses=ArbitrationDetailSerializer,
        description=gettext_lazy("仲裁详情：双方陈述与凭证、第三方检测、申请的完整时间线。"),
    ),
)
class ArbitrationViewSet(
    ActorViewMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """Platform arbitration of rejected or disputed requests (R19; standard 6.3.3)."""

    filterset_class = filters.ArbitrationFilter
    filter_backends = [DjangoFilterBackend]
    http_method_names = ["get", "post", "head", "options"]

    pagination_class = QueuePagination

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Arbitration.objects.none()
        qs = selectors.arbitration_queue(actor=self.actor, filters={"all": True})
        qs = qs.select_related("request__merchant", "request__consumer")
        if self.action == "list" and "status" not in self.request.query_params:
            qs = qs.exclude(status=Arbitration.Status.DECIDED)
        return qs

    def get_serializer_class(self):
        return ArbitrationSerializer if self.action == "list" else ArbitrationDetailSerializer

    def _answer(self, arbitration):
        fresh = self.get_queryset().get(pk=arbitration.pk)
        return Response(ArbitrationDetailSerializer(fresh).data)

    def _target(self):
        arbitration = self.get_object()
        return arbitration, arbitration.request

    @_post(
        ReturnStatementSerializer,
        gettext_lazy("商家在仲裁中答辩，附凭证（R19）。"),
        responses=ArbitrationDetailSerializer,
    )
    @action(detail=True, methods=["post"])
    def answer(self, request, pk=None):
        d = _parse(ReturnStatementSerializer, request)
        evidence = _evidence(request, d)
        arbitration, target = self._target()
        services.arbitration_answer(
            request=target, actor=self.actor, statement=d["statement"], evidence=evidence
        )
        return self._answer(arbitration)

    @_post(
        None,
        gettext_lazy(
            "平台申请第三方检测（检测适配器，沙箱实现异步出具报告）；报告记入凭证，仲裁回到待裁决。"
        ),
        responses=ArbitrationDetailSerializer,
    )
    @action(detail=True, methods=["post"], url_path="request-inspection")
    def request_inspection(self, request, pk=None):
        arbitration, target = self._target()
        services.arbitration_inspection_request(request=target, actor=self.actor)
        return self._answer(arbitration)

    @_post(
        ArbitrationDecideSerializer,
        gettext_lazy(
            "平台裁决（对本案具有约束力）：全额退款、部分退款（amount）或驳回（申请关闭）。"
        ),
        responses=ArbitrationDetailSerializer,
    )
    @action(detail=True, methods=["post"])
    def decide(self, request, pk=None):
        d = _parse(ArbitrationDecideSerializer, request)
        arbitration, target = self._target()
        services.arbitration_decide(
            request=target,
            actor=self.actor,
            decision=d["decision"],
            reason=d["reason"],
            amount=d.get("amount"),
        )
        return self._answer(arbitration)


class ReturnAddressViewSet(ActorViewMixin, viewsets.ModelViewSet):
    """A merchant's return addresses, one per warehouse (the approval of a return picks one,
    the default unless told). Merchant staff and keys manage their own merchant's; platform
    writers any merchant's (``merchant`` required); DELETE archives (requests approved with the
    address keep it)."""

    serializer_class = ReturnAddressSerializer
    pagination_class = IdCursorPagination
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return ReturnAddress.objects.none()
        if self.actor.merchant_id is None and not self.actor.platform_read:
            raise NotFound()  # consumers and providers have no return addresses to manage
        return selectors.return_address_list(actor=self.actor).order_by("-id")

    def create(self, request):
        s = ReturnAddressSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        d = dict(s.validated_data)
        merchant = d.pop("merchant", None)
        merchant_id = self.actor.merchant_id or getattr(merchant, "pk", None)
        if merchant_id is None:
            raise InvalidInput(
                _("请指定商家。"), code="merchant_required", fields={"merchant": "required"}
            )
        address = services.return_address_create(actor=self.actor, merchant_id=merchant_id, **d)
        return Response(ReturnAddressSerializer(address).data, status=status.HTTP_201_CREATED)

    def partial_update(self, request, pk=None):
        address = self.get_object()
        s = ReturnAddressSerializer(address, data=request.data, partial=True)
        s.is_valid(raise_exception=True)
        d = dict(s.validated_data)
        d.pop("merchant", None)
        address = services.return_address_update(address=address, actor=self.actor, **d)
        return Response(ReturnAddressSerializer(address).data)

    def destroy(self, request, pk=None):
        services.return_address_archive(address=self.get_object(), actor=self.actor)
        return Response(status=status.HTTP_204_NO_CONTENT)
