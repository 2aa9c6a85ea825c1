"""API routes (filled in by the REST API)."""

urlpatterns: list = []
