"""``/api/reconcile/``: the Reconciliation API (W3C Entity Reconciliation Community Group, version 0.2), for
OpenRefine and any other client of it. The matching itself is in ``articles.reconcile``.

- ``GET`` without ``queries``: the service manifest.
- ``GET ?queries={...}`` or ``POST`` with the form field ``queries`` (as OpenRefine sends it) or a JSON body
  (``{"queries": {...}}`` or the batch itself): the candidates for each query.
- ``callback`` (GET only): JSONP, as OpenRefine asks for the manifest of a service on another host.

Reads only, open to anyone, and without the session's CSRF check (nothing is written).
"""

import json
import re
from typing import Any

from django.http import HttpResponse
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import AllowAny
from rest_framework.renderers import BrowsableAPIRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from articles.reconcile import MAX_LIMIT, MAX_QUERIES, PROPERTIES, TYPES, ReconcileError, reconcile

from . import schema
from .renderers import JSONRenderer, dumps

#: A JavaScript name or dotted path (``jQuery123_456``, ``cb.done``): nothing else is written before the JSON.
CALLBACK = re.compile(r"[A-Za-z_$][A-Za-z0-9_$]*(\.[A-Za-z_$][A-Za-z0-9_$]*)*")

MANIFEST_SCHEMA = {
    "type": "object",
    "description": "The service manifest (Reconciliation API 0.2).",
    "properties": {
        "versions": {"type": "array", "items": {"type": "string"}, "example": ["0.2"]},
        "name": {"type": "string"},
        "identifierSpace": {"type": "string", "format": "uri"},
        "schemaSpace": {"type": "string", "format": "uri"},
        "documentation": {"type": "string", "format": "uri"},
        "defaultTypes": {
            "type": "array",
            "items": {"type": "object", "properties": {"id": {"type": "string"}, "name": {"type": "string"}}},
        },
        "view": {"type": "object", "properties": {"url": {"type": "string"}}},
    },
    "required": ["versions", "name", "identifierSpace", "schemaSpace"],
}
CANDIDATE_SCHEMA = {
    "type": "object",
    "properties": {
        "id": {"type": "string", "description": "companies/<slug> or people/<slug>: its path under /api/."},
        "name": {"type": "string"},
        "description": {"type": "string"},
        "score": {"type": "number", "description": "0 to 100."},
        "match": {"type": "boolean", "description": "Whether this candidate is certainly the one meant."},
        "type": {
            "type": "array",
            "items": {"type": "object", "properties": {"id": {"type": "string"}, "name": {"type": "string"}}},
        },
        "features": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"id": {"type": "string"}, "value": {"oneOf": [{"type": "number"}, {"type": "boolean"}]}},
            },
        },
    },
    "required": ["id", "name", "score", "match", "type", "features"],
}
RESULTS_SCHEMA = {
    "type": "object",
    "description": "For each query's key, its candidates, best first.",
    "additionalProperties": {
        "type": "object",
        "properties": {"result": {"type": "array", "items": CANDIDATE_SCHEMA}},
        "required": ["result"],
    },
}
QUERIES_DESCRIPTION = (
    'A batch of queries as JSON: {"q0": {"query": "Bitmian", "type": "company", "limit": 3, "properties": '
    f'[{{"pid": "country", "v": "CN"}}]}}}}. Types: {", ".join(TYPES)} (both when left out). Properties: '
    + "; ".join(f"{t}: {', '.join(PROPERTIES[t])}" for t in TYPES)
    + f". At most {MAX_QUERIES} queries, and {MAX_LIMIT} candidates a query."
)
QUERIES_EXAMPLE = {"q0": {"query": "Bitmian", "type": "company", "limit": 3}, "q1": {"query": "Wu Jihan"}}


class ReconcileView(APIView):
    """Reconciliation (OpenRefine, W3C Reconciliation API 0.2): which newsdb companies and people a list of
    names stands for. Without `queries`, the service manifest; with them, scored candidates for each name,
    garbled spellings included."""

    authentication_classes = ()
    permission_classes = (AllowAny,)
    renderer_classes = (JSONRenderer, BrowsableAPIRenderer)

    @extend_schema(
        operation_id="reconcile",
        summary="The service manifest, or candidates for a batch of queries",
        parameters=[
            OpenApiParameter("queries", {"type": "string", "minLength": 1}, description=QUERIES_DESCRIPTION),
            OpenApiParameter(
                "callback", OpenApiTypes.STR, description="JSONP: the answer wrapped in a call to this function."
            ),
        ],
        responses={
            200: OpenApiResponse(
                {"oneOf": [MANIFEST_SCHEMA, RESULTS_SCHEMA]},
                description="Without queries, the manifest; with them, the candidates for each.",
            ),
            400: schema.BAD_REQUEST,
        },
    )
    def get(self, request: Request) -> Response | HttpResponse:
        self._check_parameters(request, {"queries", "callback", "format"})
        callback = request.query_params.get("callback")
        if callback is not None and not CALLBACK.fullmatch(callback[:200]):
            raise ValidationError({"callback": ["A JavaScript function name, such as jsonp123 or cb.done."]})
        if "queries" in request.query_params:
            data = self._reconcile(_parse_json(request.query_params["queries"]))
        else:
            data = self.manifest(request)
        if callback:
            return HttpResponse(
                b"/**/" + callback.encode() + b"(" + dumps(data) + b");",
                content_type="application/javascript; charset=utf-8",
            )
        return Response(data)

    @extend_schema(
        operation_id="reconcile_batch",
        summary="Candidates for a batch of queries",
        request={
            "application/x-www-form-urlencoded": {
                "type": "object",
                "properties": {"queries": {"type": "string", "minLength": 1, "description": QUERIES_DESCRIPTION}},
                "required": ["queries"],
            },
            "application/json": {
                "type": "object",
                "description": '{"queries": {...}} or the batch itself. ' + QUERIES_DESCRIPTION,
                "example": {"queries": QUERIES_EXAMPLE},
            },
        },
        responses={200: OpenApiResponse(RESULTS_SCHEMA), 400: schema.BAD_REQUEST},
        examples=[OpenApiExample("A batch", value={"queries": QUERIES_EXAMPLE}, request_only=True)],
    )
    def post(self, request: Request) -> Response:
        self._check_parameters(request, {"format"})
        data = request.data
        if hasattr(data, "getlist"):  # a form
            if "queries" not in data:
                raise ValidationError({"queries": ["Required: the batch of queries as JSON."]})
            batch = _parse_json(data["queries"])
        elif isinstance(data, dict) and "queries" in data:
            batch = data["queries"]
            batch = _parse_json(batch) if isinstance(batch, str) else batch
        else:
            batch = data
        return Response(self._reconcile(batch))

    @staticmethod
    def _reconcile(batch: Any) -> dict:
        try:
            return reconcile(batch)
        except ReconcileError as exc:
            raise ValidationError({"queries": exc.problems}) from None

    @staticmethod
    def _check_parameters(request: Request, accepted: set[str]) -> None:
        unknown = [name for name in request.query_params if name not in accepted]
        if unknown:
            listing = ", ".join(sorted(accepted))
            raise ValidationError({name[:100]: [f"Unknown query parameter; accepted: {listing}."] for name in unknown})

    @staticmethod
    def manifest(request: Request) -> dict:
        api = request.build_absolute_uri(reverse("api-root"))
        return {
            "versions": ["0.2"],
            "name": "newsdb: companies and people in the crypto-mining hardware news",
            "identifierSpace": api,
            "schemaSpace": request.build_absolute_uri(reverse("api-schema")),
            "documentation": request.build_absolute_uri(reverse("api-docs")),
            "defaultTypes": [{"id": type_id, "name": name} for type_id, name in TYPES.items()],
            "view": {"url": api + "{{id}}/"},
        }


def _parse_json(text: str) -> Any:
    try:
        return json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise ValidationError({"queries": [f"Not valid JSON: {str(exc)[:200]}."]}) from None
