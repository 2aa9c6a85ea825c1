"""API routes: one router under /api/ (see newsdb/urls.py), the OpenAPI schema and its interactive docs.

Every other path under /api/ answers a JSON 404, so a client never has to parse an HTML error page.
"""

from django.urls import path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView
from rest_framework import routers
from rest_framework.reverse import reverse

from .api.analytics import ConsistencyReportView
from .api.deletions import DeletionViewSet
from .api.docs import redoc_bundle
from .api.errors import not_found
from .api.reconcile import ReconcileView
from .api.search import SearchView
from .api.views import ArticleViewSet, CompanyViewSet, EventViewSet, FigureViewSet, PersonViewSet


class APIRootView(routers.APIRootView):
    """newsdb: news about the crypto-mining hardware industry, and the companies, people, events and figures
    curated from it. Reads are open to anyone; writes need a token (see the docs)."""

    def get(self, request, *args, **kwargs):
        response = super().get(request, *args, **kwargs)
        response.data["schema"] = reverse("api-schema", request=request)
        response.data["docs"] = reverse("api-docs", request=request)
        response.data["reconcile"] = reverse("api-reconcile", request=request)
        response.data["consistency_report"] = reverse("report-consistency", request=request)
        response.data["search"] = reverse("api-search", request=request)
        return response


class Router(routers.DefaultRouter):
    APIRootView = APIRootView
    include_format_suffixes = False


router = Router()
router.register("articles", ArticleViewSet)
router.register("companies", CompanyViewSet)
router.register("people", PersonViewSet)
router.register("events", EventViewSet)
router.register("figures", FigureViewSet)
router.register("deletions", DeletionViewSet)

urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("redoc/", SpectacularRedocView.as_view(url_name="api-schema"), name="api-redoc"),
    path("redoc/redoc.standalone.js", redoc_bundle, name="api-redoc-bundle"),
    path("reports/consistency/", ConsistencyReportView.as_view(), name="report-consistency"),
    path("reconcile/", ReconcileView.as_view(), name="api-reconcile"),
    path("search/", SearchView.as_view(), name="api-search"),
    *router.urls,
    re_path(r"^.+/$", not_found),
]
