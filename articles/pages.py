"""Public pages, rendered on the server: a page per company (names, charts of its figures, timeline, conflicts).

Everything a page shows is in the page itself (inline SVG charts and styles): it loads nothing from another host.
"""

from django.db.models import Prefetch
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_safe

from . import charts, selectors
from .models import Alias, Company, EventParticipant, Figure, MergedCompany


@require_safe
def company_page(request: HttpRequest, slug: str) -> HttpResponse:
    """A company's names and aliases, a chart per metric of its figures over time, its timeline and the places
    where its numbers conflict; a merged company's old address leads to the survivor's page."""
    company = Company.objects.select_related("parent").filter(slug=slug).first()
    if company is None:
        merged = MergedCompany.objects.select_related("into").filter(slug=slug).first()
        if merged is None:
            raise Http404(f"No company {slug}.")
        return redirect(merged.into, permanent=True)
    points = selectors.figure_series(company=company)
    events = (
        selectors.company_events(company)
        .select_related("article")
        .prefetch_related(Prefetch("participants", EventParticipant.objects.filter(company=company), to_attr="roles"))
    )
    return render(
        request,
        "articles/company.html",
        {
            "company": company,
            "aliases": sorted(Alias.objects.filter(company=company), key=lambda alias: alias.name),
            "charts": charts.series_charts(points),
            "points": points,
            "events": [
                (event, selectors.date_name(event.date, event.date_precision, event.end_date)) for event in events
            ],
            "findings": selectors.consistency_findings(company=company, points=points),
            "undated": Figure.objects.facts()
            .filter(company=company, period_start__isnull=True)
            .select_related("article")
            .order_by("article__published_on", "id"),
        },
    )
