"""Viewsets of the complaints API (standard 6.6): parse, call one service or selector, shape."""

import json

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, permissions, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.views import APIView

from aftersales.api.base import IDEMPOTENCY_PARAMETER, ActorViewMixin
from aftersales.errors import InvalidInput, NotFound

from .. import receipts, selectors, services
from ..services.records import checkpoint_dict, consistency_proof, public_key_text
from .serializers import (
    ComplaintCloseSerializer,
    ComplaintConclusionSerializer,
    ComplaintCreateSerializer,
    ComplaintDetailSerializer,
    ComplaintMessageSerializer,
    ComplaintReasonSerializer,
    ComplaintReceiptSerializer,
    ComplaintRegradeSerializer,
    ComplaintSerializer,
    ConsistencyProofSerializer,
    PublishedCheckpointSerializer,
    ReceiptVerifyResultSerializer,
)


def _post(request_serializer, response_serializer=ComplaintDetailSerializer, *, description=""):
    return extend_schema(
        parameters=[IDEMPOTENCY_PARAMETER],
        request=request_serializer,
        responses={200: response_serializer},
        description=description,
    )


def _related(model_path, pk):
    """The row ``pk`` of the subject's model, or ``None``; scope is checked by the service
    (the consumer must be the subject's own) and by the caller's scope after the write."""
    if pk is None:
        return None
    from django.apps import apps

    row = apps.get_model(model_path)._default_manager.filter(pk=pk).first()
    if row is None:
        raise NotFound()
    return row


@extend_schema_view(
    list=extend_schema(description=_("投诉列表（最新在前），按角色限定可见范围。")),
    retrieve=extend_schema(responses=ComplaintDetailSerializer),
    create=extend_schema(
        parameters=[IDEMPOTENCY_PARAMETER],
        request=ComplaintCreateSerializer,
        responses={200: ComplaintDetailSerializer, 201: ComplaintDetailSerializer},
        description=_(
            "提交投诉（消费者本人，或平台代录入热线、邮件投诉）。同一事项已有处理中的投诉时"
            "计为重复投诉并返回该投诉（200）。"
        ),
    ),
)
class ComplaintViewSet(
    ActorViewMixin,
    mixins.CreateModelMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    """Complaints: intake, grading, handling and the receipt of their records."""

    serializer_class = ComplaintSerializer
    filter_backends = []

    def get_queryset(self):
        params = self.request.query_params
        return selectors.complaint_list(
            actor=self.actor,
            filters={k: params.get(k) for k in ("status", "grade", "issue", "channel")},
        )

    def get_object(self):
        return selectors.complaint_get(actor=self.actor, pk=self.kwargs["pk"])

    def retrieve(self, request, pk=None):
        return Response(ComplaintDetailSerializer(self.get_object()).data)

    def _detail(self, complaint, code=status.HTTP_200_OK):
        complaint = selectors.complaint_get(actor=self.actor, pk=complaint.pk)
        return Response(ComplaintDetailSerializer(complaint).data, status=code)

    def create(self, request):
        s = ComplaintCreateSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        data = dict(s.validated_data)
        complaint, created = services.complaint_create(
            actor=self.actor,
            subject_kind=data["subject_kind"],
            issue=data["issue"],
            description=data["description"],
            order=_related("orders.Order", data.get("order")),
            return_request=_related("returns.ReturnRequest", data.get("return_request")),
            repair=_related("repairs.RepairOrder", data.get("repair")),
            merchant=_related("aftersales.Merchant", data.get("merchant")),
            consumer=_related("aftersales.ConsumerProfile", data.get("consumer")),
            amount=data.get("amount") or 0,
            safety_risk=data.get("safety_risk", False),
            media_or_regulator=data.get("media_or_regulator", False),
            harm_known_on=data.get("harm_known_on"),
            channel=data.get("channel") or "",
            attachment_sha256=data.get("attachment_sha256") or "",
        )
        return self._detail(complaint, status.HTTP_201_CREATED if created else status.HTTP_200_OK)

    def _act(self, serializer_class, service, **fixed):
        complaint = self.get_object()
        s = serializer_class(data=self.request.data)
        s.is_valid(raise_exception=True)
        data = {k: v for k, v in s.validated_data.items() if v not in (None,)}
        return self._detail(service(complaint=complaint, actor=self.actor, **data, **fixed))

    @_post(
        ComplaintMessageSerializer,
        description=_("商家或平台答复投诉；首次答复停止首次响应计时（C2）。"),
    )
    @action(detail=True, methods=["post"])
    def respond(self, request, pk=None):
        return self._act(ComplaintMessageSerializer, services.complaint_respond)

    @_post(
        ComplaintMessageSerializer, description=_("请消费者补充信息：投诉等待消费者，计时暂停。")
    )
    @action(detail=True, methods=["post"], url_path="request-info")
    def request_info(self, request, pk=None):
        return self._act(ComplaintMessageSerializer, services.complaint_request_info)

    @_post(
        ComplaintMessageSerializer, description=_("消费者补充信息：投诉回到原处理方，计时恢复。")
    )
    @action(detail=True, methods=["post"])
    def reply(self, request, pk=None):
        return self._act(ComplaintMessageSerializer, services.complaint_consumer_reply)

    @_post(ComplaintReasonSerializer, description=_("消费者或平台申请平台调解。"))
    @action(detail=True, methods=["post"])
    def escalate(self, request, pk=None):
        return self._act(ComplaintReasonSerializer, services.complaint_escalate)

    @_post(ComplaintConclusionSerializer, description=_("平台记录处理结论：投诉已解决。"))
    @action(detail=True, methods=["post"])
    def resolve(self, request, pk=None):
        return self._act(ComplaintConclusionSerializer, services.complaint_resolve)

    @_post(ComplaintCloseSerializer, description=_("平台关闭已解决的投诉。"))
    @action(detail=True, methods=["post"])
    def close(self, request, pk=None):
        return self._act(ComplaintCloseSerializer, services.complaint_close)

    @_post(ComplaintReasonSerializer, description=_("重新打开已解决或已关闭的投诉。"))
    @action(detail=True, methods=["post"])
    def reopen(self, request, pk=None):
        return self._act(ComplaintReasonSerializer, services.complaint_reopen)

    @_post(ComplaintRegradeSerializer, description=_("平台调整投诉等级，须说明原因（C1）。"))
    @action(detail=True, methods=["post"])
    def regrade(self, request, pk=None):
        return self._act(ComplaintRegradeSerializer, services.complaint_regrade)

    @_post(
        ComplaintReasonSerializer,
        description=_("知道权益受损超过三年的投诉，平台可不予受理并说明原因（C5）。"),
    )
    @action(detail=True, methods=["post"])
    def decline(self, request, pk=None):
        return self._act(ComplaintReasonSerializer, services.complaint_decline)

    @extend_schema(
        responses=ComplaintReceiptSerializer,
        description=_(
            "投诉记录凭证：全部记录、链头在日志中的包含证明与签名检查点，可离线验证（C6）。"
        ),
    )
    @action(detail=True, methods=["get"], pagination_class=None)
    def receipt(self, request, pk=None):
        complaint = self.get_object()
        response = Response(services.complaint_receipt(complaint=complaint))
        response["Content-Disposition"] = f'attachment; filename="complaint-{complaint.pk}.json"'
        return response


class PublicViewMixin:
    authentication_classes = []
    permission_classes = [permissions.AllowAny]


class CheckpointView(PublicViewMixin, APIView):
    """The latest signed checkpoint of the complaint log and the key that signs it (public)."""

    @extend_schema(
        responses=PublishedCheckpointSerializer,
        description=_("投诉记录日志的最新签名检查点与平台公钥（公开）。"),
    )
    def get(self, request):
        checkpoint = selectors.checkpoint_latest()
        key = public_key_text()
        return Response(
            {
                "checkpoint": checkpoint_dict(checkpoint) if checkpoint else None,
                "public_key": key,
                "key_id": receipts.key_id(receipts.public_key_bytes()),
            }
        )


class ReceiptVerifyView(PublicViewMixin, APIView):
    """Check a receipt against the platform's key (public, no account)."""

    @extend_schema(
        request=ComplaintReceiptSerializer,
        responses=ReceiptVerifyResultSerializer,
        description=_("验证投诉记录凭证（公开，无需登录）。"),
    )
    def post(self, request):
        receipt = request.data
        if not isinstance(receipt, dict):
            raise InvalidInput(_("凭证格式无效。"), code="receipt_invalid")
        receipt = json.loads(json.dumps(receipt))
        errors = receipts.receipt_errors(receipt, trusted_public_key=receipts.public_key_bytes())
        latest = selectors.checkpoint_latest()
        if not errors and latest is not None:
            # The log today must still hold the log the receipt was signed against.
            older, newer = receipt["checkpoint"], checkpoint_dict(latest)
            try:
                proof = (
                    consistency_proof(int(older["tree_size"]), latest.tree_size)
                    if int(older["tree_size"]) <= latest.tree_size
                    else []
                )
            except LookupError:
                proof = []
            errors = receipts.consistency_errors(older, newer, proof)
        return Response({"valid": not errors, "errors": errors})


class ConsistencyView(PublicViewMixin, APIView):
    """The proof that the log of ``second`` leaves extends the log of ``first`` (public)."""

    @extend_schema(
        parameters=[
            OpenApiParameter("first", int, required=True),
            OpenApiParameter("second", int, required=False),
        ],
        responses=ConsistencyProofSerializer,
        description=_("两个检查点之间的一致性证明（RFC 9162，公开）：日志只增不改。"),
    )
    def get(self, request):
        latest = selectors.checkpoint_latest()
        try:
            first = int(request.query_params.get("first", ""))
            second = int(request.query_params.get("second") or (latest.tree_size if latest else 0))
        except ValueError:
            raise InvalidInput(
                _("请给出有效的叶数。"), code="tree_size_invalid", fields={"first": ["integer"]}
            ) from None
        size = selectors.log_size()
        if not 1 <= first <= second <= size:
            raise InvalidInput(
                _("请给出有效的叶数。"),
                code="tree_size_invalid",
                fields={"first": [first], "second": [second], "log_size": size},
            )
        return Response(
            {"first": first, "second": second, "proof": consistency_proof(first, second)}
        )
