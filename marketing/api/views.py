"""Marketing API: one small view per operation (parse, call one service, serialize)."""

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema, extend_schema_serializer
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import APIView

from marketing import selectors
from marketing.api import serializers as out
from marketing.models import ABTest, Campaign, Goal, Segment, SegmentSnapshot, Suppression
from marketing.services import abtests, campaigns, segments, suppressions

# Campaign variants per request: an A/B/n test with more arms never reaches significance.
MAX_VARIANTS = 10


class MarketingApi(APIView):
    api_scope = "marketing"
    throttle_scope = "marketing"


class _Paginated(MarketingApi):
    """List views: the project's page-number pagination (`pagination_class` also puts it in the schema).

    A plain APIView, not a GenericAPIView without a serializer_class: on the latter
    DRF's OPTIONS metadata asks for the serializer and answers 500.
    """

    pagination_class = api_settings.DEFAULT_PAGINATION_CLASS


def _paginated(view: _Paginated, request, queryset, serializer_class) -> Response:
    paginator = view.pagination_class()
    page = paginator.paginate_queryset(queryset, request, view=view)
    return paginator.get_paginated_response(serializer_class(page, many=True).data)


def _name_free(model, name: str, *, exclude_pk: int | None = None) -> None:
    if model.objects.filter(name=name).exclude(pk=exclude_pk).exists():
        raise serializers.ValidationError({"name": [f"A {model._meta.verbose_name} with this name exists."]})


# --- segments ---------------------------------------------------------------


class SegmentListCreateApi(_Paginated):
    @extend_schema_serializer(component_name="MarketingSegmentListCreateInput")
    class InputSerializer(serializers.Serializer):
        name = serializers.CharField(max_length=120)
        description = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")
        rules = serializers.JSONField(help_text=out.RULES_HELP)

    @extend_schema(responses=out.SegmentSerializer(many=True), summary="List segments")
    def get(self, request):
        return _paginated(self, request, Segment.objects.order_by("name"), out.SegmentSerializer)

    @extend_schema(
        request=InputSerializer, responses={201: out.SegmentSerializer}, summary="Create a segment"
    )
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        _name_free(Segment, data.validated_data["name"])
        segment = segments.segment_create(**data.validated_data)
        return Response(out.SegmentSerializer(segment).data, status=status.HTTP_201_CREATED)


class SegmentDetailApi(MarketingApi):
    @extend_schema_serializer(component_name="MarketingSegmentDetailInput")
    class InputSerializer(serializers.Serializer):
        name = serializers.CharField(max_length=120, required=False)
        description = serializers.CharField(max_length=2000, required=False, allow_blank=True)
        rules = serializers.JSONField(required=False, help_text=out.RULES_HELP)

    @extend_schema(responses=out.SegmentSerializer, summary="A segment")
    def get(self, request, segment_id: int):
        return Response(out.SegmentSerializer(get_object_or_404(Segment, pk=segment_id)).data)

    @extend_schema(request=InputSerializer, responses=out.SegmentSerializer, summary="Change a segment")
    def patch(self, request, segment_id: int):
        segment = get_object_or_404(Segment, pk=segment_id)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        if "name" in data.validated_data:
            _name_free(Segment, data.validated_data["name"], exclude_pk=segment.pk)
        segment = segments.segment_update(segment=segment, **data.validated_data)
        return Response(out.SegmentSerializer(segment).data)

    @extend_schema(
        request=SegmentListCreateApi.InputSerializer,
        responses=out.SegmentSerializer,
        summary="Replace a segment",
    )
    def put(self, request, segment_id: int):
        segment = get_object_or_404(Segment, pk=segment_id)
        data = SegmentListCreateApi.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        _name_free(Segment, data.validated_data["name"], exclude_pk=segment.pk)
        segment = segments.segment_update(segment=segment, **data.validated_data)
        return Response(out.SegmentSerializer(segment).data)

    @extend_schema(responses={204: None}, summary="Delete a segment (409 while a campaign uses it)")
    def delete(self, request, segment_id: int):
        segments.segment_delete(segment=get_object_or_404(Segment, pk=segment_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


class SegmentPreviewApi(MarketingApi):
    @extend_schema_serializer(component_name="MarketingSegmentPreviewQuery")
    class QuerySerializer(serializers.Serializer):
        sample_size = serializers.IntegerField(
            min_value=0, max_value=200, default=20, help_text="Customers in the sample."
        )

    @extend_schema(
        # The serializer itself, so the schema gives the bounds it enforces.
        parameters=[QuerySerializer],
        responses=out.AudiencePreviewSerializer,
        summary="Audience preview: how many customers match now, and a sample",
    )
    def get(self, request, segment_id: int):
        segment = get_object_or_404(Segment, pk=segment_id)
        # A plain dict: with the QueryDict DRF would read "sample_size=" as "not given".
        query = self.QuerySerializer(data=request.query_params.dict())
        query.is_valid(raise_exception=True)
        preview = segments.segment_preview(segment=segment, **query.validated_data)
        return Response(out.AudiencePreviewSerializer(preview).data)


class SegmentSnapshotListCreateApi(_Paginated):
    @extend_schema(responses=out.SegmentSnapshotSerializer(many=True), summary="A segment's snapshots")
    def get(self, request, segment_id: int):
        get_object_or_404(Segment, pk=segment_id)
        snapshots = SegmentSnapshot.objects.filter(segment_id=segment_id).defer("members_blob")
        return _paginated(self, request, snapshots, out.SegmentSnapshotSerializer)

    @extend_schema(
        request=None, responses={201: out.SegmentSnapshotSerializer}, summary="Take a snapshot now"
    )
    def post(self, request, segment_id: int):
        snapshot = segments.segment_snapshot_take(segment=get_object_or_404(Segment, pk=segment_id))
        return Response(out.SegmentSnapshotSerializer(snapshot).data, status=status.HTTP_201_CREATED)


class SegmentChangesApi(MarketingApi):
    @extend_schema_serializer(component_name="MarketingSegmentChangesQuery")
    class QuerySerializer(serializers.Serializer):
        from_snapshot = serializers.IntegerField(
            required=False, help_text="Default: the second most recent snapshot."
        )
        to_snapshot = serializers.IntegerField(required=False, help_text="Default: the most recent snapshot.")

    @extend_schema(
        parameters=[QuerySerializer],
        responses=out.MembershipChangeSerializer,
        summary="Who entered and who left the segment between two snapshots",
    )
    def get(self, request, segment_id: int):
        get_object_or_404(Segment, pk=segment_id)
        query = self.QuerySerializer(data=request.query_params.dict())
        query.is_valid(raise_exception=True)
        given = {"from_snapshot", "to_snapshot"} & set(query.validated_data)
        if len(given) == 1:
            raise serializers.ValidationError(
                {"snapshots": ["Give both from_snapshot and to_snapshot, or neither."]}
            )
        if given:
            snaps = SegmentSnapshot.objects.filter(segment_id=segment_id)
            pair = (
                get_object_or_404(snaps, pk=query.validated_data["from_snapshot"]),
                get_object_or_404(snaps, pk=query.validated_data["to_snapshot"]),
            )
        else:
            pair = selectors.snapshot_latest_pair(segment_id=segment_id)
            if pair is None:
                raise serializers.ValidationError({"snapshots": ["Take at least two snapshots first."]})
        change = segments.snapshot_diff(older=pair[0], newer=pair[1])
        return Response(out.MembershipChangeSerializer(change).data)


# --- campaigns --------------------------------------------------------------


class CampaignListCreateApi(_Paginated):
    @extend_schema_serializer(component_name="MarketingCampaignListCreateInput")
    class InputSerializer(serializers.Serializer):
        name = serializers.CharField(max_length=160)
        goal = serializers.ChoiceField(choices=Goal.choices, default=Goal.WIN_BACK)
        channel = serializers.ChoiceField(
            choices=Campaign._meta.get_field("channel").choices, default="email"
        )
        segment = serializers.PrimaryKeyRelatedField(queryset=Segment.objects.all())
        variants = out.VariantInputSerializer(many=True, allow_empty=False, max_length=MAX_VARIANTS)

    @extend_schema(responses=out.CampaignSerializer(many=True), summary="List campaigns")
    def get(self, request):
        queryset = Campaign.objects.select_related("ab_test").prefetch_related("variants").order_by("-id")
        return _paginated(self, request, queryset, out.CampaignSerializer)

    @extend_schema(
        request=InputSerializer, responses={201: out.CampaignSerializer}, summary="Create a campaign"
    )
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        _name_free(Campaign, data.validated_data["name"])
        campaign = campaigns.campaign_create(**data.validated_data)
        return Response(out.CampaignSerializer(campaign).data, status=status.HTTP_201_CREATED)


class CampaignDetailApi(MarketingApi):
    @extend_schema(responses=out.CampaignSerializer, summary="A campaign")
    def get(self, request, campaign_id: int):
        return Response(out.CampaignSerializer(get_object_or_404(Campaign, pk=campaign_id)).data)


class CampaignScheduleApi(MarketingApi):
    @extend_schema_serializer(component_name="MarketingCampaignScheduleInput")
    class InputSerializer(serializers.Serializer):
        scheduled_at = serializers.DateTimeField(help_text="ISO 8601; sent by the beat task from then on.")

    @extend_schema(request=InputSerializer, responses=out.CampaignSerializer, summary="Schedule a campaign")
    def post(self, request, campaign_id: int):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        campaign = campaigns.campaign_schedule(
            campaign=get_object_or_404(Campaign, pk=campaign_id), **data.validated_data
        )
        return Response(out.CampaignSerializer(campaign).data)


class CampaignSendApi(MarketingApi):
    @extend_schema(
        request=None,
        responses={202: out.SendAcceptedSerializer},
        summary="Send now (queued; safe to repeat: nobody gets a message twice)",
    )
    def post(self, request, campaign_id: int):
        campaign = campaigns.campaign_send_enqueue(campaign=get_object_or_404(Campaign, pk=campaign_id))
        body = {"campaign_id": campaign.pk, "status": campaign.status}
        return Response(out.SendAcceptedSerializer(body).data, status=status.HTTP_202_ACCEPTED)


class CampaignCancelApi(MarketingApi):
    @extend_schema(
        request=None,
        responses={200: out.CampaignSerializer},
        summary="Cancel a scheduled or sending campaign (its pending messages are not sent; 409 once sent)",
    )
    def post(self, request, campaign_id: int):
        campaign = campaigns.campaign_cancel(campaign=get_object_or_404(Campaign, pk=campaign_id))
        return Response(out.CampaignSerializer(campaign).data)


class CampaignResultsApi(MarketingApi):
    @extend_schema(responses=out.CampaignResultsSerializer, summary="Delivery counts per status and variant")
    def get(self, request, campaign_id: int):
        results = selectors.campaign_results(campaign=get_object_or_404(Campaign, pk=campaign_id))
        return Response(out.CampaignResultsSerializer(results).data)


# --- A/B tests --------------------------------------------------------------


class ABTestListCreateApi(_Paginated):
    @extend_schema_serializer(component_name="MarketingABTestListCreateInput")
    class InputSerializer(serializers.Serializer):
        campaign = serializers.PrimaryKeyRelatedField(queryset=Campaign.objects.all())
        name = serializers.CharField(max_length=160, required=False, default="")
        conversion_window_days = serializers.IntegerField(min_value=1, max_value=365, default=14)
        alpha = serializers.FloatField(min_value=0.0001, max_value=0.5, default=0.05)

    @extend_schema(responses=out.ABTestSerializer(many=True), summary="List A/B tests")
    def get(self, request):
        return _paginated(self, request, ABTest.objects.order_by("-id"), out.ABTestSerializer)

    @extend_schema(
        request=InputSerializer, responses={201: out.ABTestSerializer}, summary="Create an A/B test"
    )
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        ab_test = abtests.abtest_create(**data.validated_data)
        return Response(out.ABTestSerializer(ab_test).data, status=status.HTTP_201_CREATED)


class ABTestResultsApi(MarketingApi):
    @extend_schema(
        responses=out.ABTestResultSerializer,
        summary="Conversion per variant, z-test against the control, winner when significant",
    )
    def get(self, request, ab_test_id: int):
        result = abtests.abtest_evaluate(ab_test=get_object_or_404(ABTest, pk=ab_test_id))
        return Response(out.ABTestResultSerializer(result).data)


# --- suppressions -----------------------------------------------------------


class SuppressionListCreateApi(_Paginated):
    @extend_schema_serializer(component_name="MarketingSuppressionQuery")
    class QuerySerializer(serializers.Serializer):
        email = serializers.EmailField(
            max_length=254, required=False, help_text="Only this address (any case)."
        )

    @extend_schema_serializer(component_name="MarketingSuppressionCreateInput")
    class InputSerializer(serializers.Serializer):
        email = serializers.EmailField(max_length=254)
        reason = serializers.ChoiceField(
            choices=Suppression.Reason.choices, default=Suppression.Reason.MANUAL
        )

    @extend_schema(
        parameters=[QuerySerializer],
        responses=out.SuppressionSerializer(many=True),
        summary="List suppressed addresses (newest first)",
    )
    def get(self, request):
        query = self.QuerySerializer(data=request.query_params.dict())
        query.is_valid(raise_exception=True)
        rows = Suppression.objects.order_by("-created_at", "-id")
        if "email" in query.validated_data:
            rows = rows.filter(email=suppressions.email_normalize(query.validated_data["email"]))
        return _paginated(self, request, rows, out.SuppressionSerializer)

    @extend_schema(
        request=InputSerializer,
        responses={201: out.SuppressionSerializer, 200: out.SuppressionSerializer},
        summary="Suppress an address (201; 200 with the existing row when already suppressed)",
    )
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        row, created = suppressions.suppression_add(**data.validated_data)
        return Response(
            out.SuppressionSerializer(row).data,
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )


class SuppressionDetailApi(MarketingApi):
    @extend_schema(responses=out.SuppressionSerializer, summary="A suppressed address")
    def get(self, request, suppression_id: int):
        return Response(out.SuppressionSerializer(get_object_or_404(Suppression, pk=suppression_id)).data)

    @extend_schema(responses={204: None}, summary="Lift a suppression: later sends reach the address again")
    def delete(self, request, suppression_id: int):
        suppressions.suppression_remove(suppression=get_object_or_404(Suppression, pk=suppression_id))
        return Response(status=status.HTTP_204_NO_CONTENT)
