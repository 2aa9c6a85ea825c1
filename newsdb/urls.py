"""URL wiring: the admin, the API under /api/, and a root that points to both."""

from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

from articles.pages import company_page

urlpatterns = [
    path("", RedirectView.as_view(url="/api/", permanent=False)),
    path("admin/", admin.site.urls),
    path("api/", include("articles.urls")),
    # The browsable API's "Log in" link (django-axes locks it out like the admin's).
    path("api-auth/", include("rest_framework.urls")),
    path("companies/<slug:slug>/", company_page, name="company-page"),
]

handler400 = "articles.api.errors.bad_request"
handler404 = "articles.api.errors.page_not_found"
handler500 = "articles.api.errors.server_error"
