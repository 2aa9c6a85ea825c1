"""The editors' way in for new articles: "Add an article from its text", and the review desk for its proposals.

- ``ingest_view`` (``/admin/articles/article/ingest/``): paste the text (or choose a file), give what is known about
  it, submit. ``article_ingest`` stores the article, its mentions and the proposals; the editor lands on the desk.
- ``queue_view`` (``/admin/articles/article/review/``): the articles that still have proposals, oldest first.
- ``desk_view`` (``/admin/articles/article/<id>/review/``): the body with every proposal highlighted where its
  words stand, and the proposals beside it in the order of the text, each with its confidence and the reason it
  was proposed, and accept / edit / reject. Keyboard: ``j``/``k`` next/previous, ``a`` accept, ``r`` reject,
  ``x`` select, ``e`` edit; selected ones can be accepted (or rejected) at once with one reason. Every decision
  goes through ``services.proposals`` (the write path's validation, and a history entry with the editor and the
  reason). The near misses and new organisation names the extraction offered can be added to the article's
  mentions or dismissed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.widgets import AutocompleteSelect
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.text import Truncator

from ..choices import ARTICLE_DATE_PRECISIONS, PROPOSAL_STATUSES, ReviewStatus
from ..extraction import NEW_COMPANY
from ..models import Article, Company, Event, Figure, Ingestion, Person
from ..services.articles import article_save
from ..services.base import StaleWriteError
from ..services.ingest import MAX_TEXT_BYTES, article_ingest
from ..services.proposals import ProposalError, proposal_accept, proposal_reject, proposals_accept, proposals_reject

REASON_MAX_LENGTH = 1000


# -- Add an article from its text -------------------------------------------------------------------------------


class IngestForm(forms.Form):
    text = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 18, "cols": 100}),
        required=False,
        strip=False,
        help_text="Paste the article's text, verbatim (headline included if you want it in the body).",
    )
    file = forms.FileField(required=False, help_text="Or choose a UTF-8 text file instead of pasting.")
    title = forms.CharField(max_length=300, required=False, help_text="Default: the text's first line.")
    published_on = forms.CharField(label="Published on", help_text="YYYY-MM-DD; the first day when less is known.")
    precision = forms.ChoiceField(
        choices=[(p.value, p.label) for p in ARTICLE_DATE_PRECISIONS],
        initial="day",
        help_text="How well the publication date is known.",
    )
    publisher = forms.ModelChoiceField(queryset=Company.objects.all(), required=False)
    url = forms.CharField(label="URL", max_length=500, required=False)
    language = forms.CharField(max_length=8, initial="en")

    def __init__(self, *args: Any, admin_site: admin.AdminSite, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        publisher = self.fields["publisher"]
        publisher.widget = AutocompleteSelect(Article._meta.get_field("publisher"), admin_site)
        publisher.widget.choices = publisher.choices

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        upload = cleaned.get("file")
        if upload is not None:
            if upload.size > MAX_TEXT_BYTES:
                self.add_error("file", f"The file is {upload.size / 1024 / 1024:.1f} MB; the limit is 1 MB.")
            else:
                cleaned["raw"] = upload.read()
        else:
            cleaned["raw"] = cleaned.get("text") or ""
        return cleaned


def ingest_view(model_admin: admin.ModelAdmin, request: HttpRequest) -> HttpResponse:
    if not all(request.user.has_perm(f"articles.add_{name}") for name in ("article", "event", "figure")):
        raise PermissionDenied
    form = IngestForm(request.POST or None, request.FILES or None, admin_site=model_admin.admin_site)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            result = article_ingest(
                text=data["raw"],
                title=data["title"],
                published_on=data["published_on"],
                precision=data["precision"],
                publisher=data["publisher"],
                url=data["url"],
                language=data["language"],
                user=request.user,
                source="admin",
            )
        except ValidationError as exc:
            for name, errors in exc.message_dict.items():
                form.add_error("text" if name == "text" and not data.get("file") else _field(name, form), errors)
        else:
            article = result.article
            if result.created:
                model_admin.message_user(
                    request,
                    f"Added “{article.title}”: {len(result.figures)} figures and {len(result.events)} events "
                    "proposed. Nothing proposed is public until you accept it.",
                    messages.SUCCESS,
                )
            else:
                model_admin.message_user(
                    request, f"This text was already added as “{article.title}”; nothing was written.", messages.WARNING
                )
            return HttpResponseRedirect(reverse("admin:articles_article_review", args=[article.pk]))
    context = {
        **model_admin.admin_site.each_context(request),
        "opts": Article._meta,
        "title": "Add an article from its text",
        "form": form,
        "media": model_admin.media + form.media,
    }
    return TemplateResponse(request, "admin/articles/article/ingest.html", context)


def _field(name: str, form: forms.Form) -> str | None:
    if name == "text":
        return "file"
    return name if name in form.fields else None


# -- The queue -----------------------------------------------------------------------------------------------------


def articles_with_proposals() -> QuerySet[Article]:
    """Articles with proposals no editor has decided on, with how many of each kind (partial indexes serve both)."""
    pending_events = Event.objects.filter(article=OuterRef("pk"), status=ReviewStatus.PROPOSED)
    pending_figures = Figure.objects.filter(article=OuterRef("pk"), status=ReviewStatus.PROPOSED)
    return (
        Article.objects.filter(Exists(pending_events) | Exists(pending_figures))
        .select_related("publisher")
        .defer("body", "notes")
        .order_by("id")
    )


def queue_view(model_admin: admin.ModelAdmin, request: HttpRequest) -> HttpResponse:
    if not model_admin.has_view_permission(request):
        raise PermissionDenied
    page = Paginator(articles_with_proposals(), 100).get_page(request.GET.get("p"))
    ids = [article.pk for article in page]
    counts: dict[int, dict[str, int]] = {pk: {"events": 0, "figures": 0} for pk in ids}
    for model, name in ((Event, "events"), (Figure, "figures")):
        rows = (
            model.objects.filter(article_id__in=ids, status=ReviewStatus.PROPOSED)
            .values("article_id")
            .annotate(n=Count("id"))
            .order_by()
        )
        for row in rows:
            counts[row["article_id"]][name] = row["n"]
    context = {
        **model_admin.admin_site.each_context(request),
        "opts": Article._meta,
        "title": "Articles with proposals to review",
        "page": page,
        "rows": [(article, counts[article.pk]) for article in page],
    }
    return TemplateResponse(request, "admin/articles/article/review_queue.html", context)


# -- The desk ------------------------------------------------------------------------------------------------------


@dataclass
class Item:
    """A proposal as the desk shows it."""

    ident: str  # "figure:12"
    record: Event | Figure
    start: int
    end: int
    number: tuple[int, int] | None  # a figure's as_reported within the body
    confidence: float | None
    reason: str
    lines: list[str] = field(default_factory=list)

    @property
    def kind(self) -> str:
        return self.record._meta.model_name

    @property
    def pending(self) -> bool:
        return self.record.status == ReviewStatus.PROPOSED

    @property
    def state(self) -> str:
        if self.record.status == ReviewStatus.PROPOSED:
            return "pending"
        return "rejected" if self.record.status == ReviewStatus.DISMISSED else "accepted"

    @property
    def edit_url(self) -> str:
        return reverse(f"admin:articles_{self.kind}_change", args=[self.record.pk])

    @property
    def dom_id(self) -> str:
        return self.ident.replace(":", "-")


def _value(value: Any) -> str:
    text = f"{value:,f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def _figure_lines(figure: Figure) -> list[str]:
    amount = _value(figure.value) + (f"–{_value(figure.value_high)}" if figure.value_high is not None else "")
    qualifier = "" if figure.qualifier == "exact" else f" ({figure.get_qualifier_display().lower()})"
    about = figure.company.name if figure.company_id else figure.subject
    period = figure.period_label or (
        f"{figure.period_start} – {figure.period_end}" if figure.period_start else "no period"
    )
    return [f"{amount} {figure.unit}{qualifier}", f"{figure.get_metric_display()} · {about} · {period}"]


def _event_lines(event: Event) -> list[str]:
    when = event.date.isoformat() if event.date_precision == "day" else f"{event.date} ({event.date_precision})"
    who = ", ".join(f"{p.company or p.person} ({p.role})" for p in event.participants.all())
    return [event.title, f"{event.get_type_display()} · {when}" + (f" · {who}" if who else "")]


def desk_items(article: Article, ingestion: Ingestion | None) -> list[Item]:
    """The article's proposals, pending or decided, in the order their words stand in the body (3 queries)."""
    proposed = ingestion.proposals if ingestion is not None else {}
    ids = {"event": set(), "figure": set()}
    for ident in proposed:
        kind, _, pk = ident.partition(":")
        if kind in ids and pk.isdigit():
            ids[kind].add(int(pk))
    wanted = {kind: Q(pk__in=pks) | Q(status__in=sorted(PROPOSAL_STATUSES)) for kind, pks in ids.items()}
    figures = Figure.objects.filter(wanted["figure"], article=article).select_related("company")
    events = Event.objects.filter(wanted["event"], article=article).prefetch_related(
        "participants__company", "participants__person"
    )
    items = []
    for record in [*figures, *events]:
        ident = f"{record._meta.model_name}:{record.pk}"
        info = proposed.get(ident, {})
        number = None
        if isinstance(record, Figure):
            at = record.quote.find(record.as_reported)
            if at >= 0:
                number = (record.quote_start + at, record.quote_start + at + len(record.as_reported))
        items.append(
            Item(
                ident=ident,
                record=record,
                start=record.quote_start,
                end=record.quote_end,
                number=number,
                confidence=info.get("confidence"),
                reason=info.get("reason", ""),
                lines=_figure_lines(record) if isinstance(record, Figure) else _event_lines(record),
            )
        )
    items.sort(key=lambda item: (item.start, item.end, item.kind, item.record.pk))
    return items


def highlighted_body(body: str, items: list[Item]) -> SafeString:
    """The body, escaped, with each proposal's words marked: ``<mark data-ids="figure:1 event:2">`` over every
    stretch its quote covers (quotes may overlap), and ``<b class="num">`` over a figure's own words."""
    cuts = {0, len(body)}
    for item in items:
        cuts.update((item.start, item.end))
        if item.number:
            cuts.update(item.number)
    cuts = sorted(c for c in cuts if 0 <= c <= len(body))
    parts = []
    for a, b in zip(cuts, cuts[1:], strict=False):
        text = escape(body[a:b])
        covering = [i for i in items if i.start <= a and b <= i.end]
        if not covering:
            parts.append(text)
            continue
        numbers = [i for i in covering if i.number and i.number[0] <= a and b <= i.number[1]]
        if numbers:
            text = f'<b class="num" data-ids="{" ".join(i.ident for i in numbers)}">{text}</b>'
        states = " ".join(sorted({f"is-{i.state}" for i in covering}))
        parts.append(f'<mark class="{states}" data-ids="{" ".join(i.ident for i in covering)}">{text}</mark>')
    return mark_safe("".join(parts))


class DecisionError(Exception):
    pass


def _records(article: Article, idents: list[str], user: Any) -> list[Event | Figure]:
    """The article's records named ``kind:id``, in that order; refuses what the user may not change."""
    wanted: dict[str, list[int]] = {"event": [], "figure": []}
    for ident in idents:
        kind, _, pk = ident.partition(":")
        if kind not in wanted or not pk.isdigit():
            raise DecisionError(f"{ident!r} is not a proposal of this article.")
        wanted[kind].append(int(pk))
    found: dict[str, Event | Figure] = {}
    for kind, model in (("event", Event), ("figure", Figure)):
        if wanted[kind] and not user.has_perm(f"articles.change_{kind}"):
            raise PermissionDenied
        for record in model.objects.select_related("article").filter(article=article, pk__in=wanted[kind]):
            found[f"{kind}:{record.pk}"] = record
    missing = [ident for ident in idents if ident not in found]
    if missing:
        raise DecisionError(f"No such proposal in this article: {', '.join(missing)}.")
    return [found[ident] for ident in idents]


def _decide(request: HttpRequest, article: Article, ingestion: Ingestion | None) -> tuple[str, str]:
    """Carry out the posted decision; returns the message and the proposal to focus next (or "")."""
    reason = (request.POST.get("reason") or "").strip()[:REASON_MAX_LENGTH]
    decision = request.POST.get("decide", "")
    action, _, target = decision.partition(":")
    user = request.user
    if action in {"accept", "reject"}:
        (record,) = _records(article, [target], user)
        version = request.POST.get(f"version-{target.replace(':', '-')}")
        expected = int(version) if version and version.isdigit() else None
        if action == "accept":
            proposal_accept(record=record, user=user, reason=reason, expected_version=expected)
            return f"Accepted {_label(record)}.", target
        proposal_reject(record=record, user=user, reason=reason, expected_version=expected)
        return f"Rejected {_label(record)}.", target
    if action in {"accept_selected", "reject_selected"}:
        selected = request.POST.getlist("selected")
        if not selected:
            raise DecisionError("Select the proposals first (tick them, or press x on each).")
        records = _records(article, selected, user)
        if action == "accept_selected":
            done = proposals_accept(records=records, user=user, reason=reason)
            return f"Accepted {len(done)} proposal{'s' if len(done) != 1 else ''}.", selected[-1]
        done = proposals_reject(records=records, user=user, reason=reason)
        return f"Rejected {len(done)} proposal{'s' if len(done) != 1 else ''}.", selected[-1]
    if action in {"mention_accept", "mention_dismiss"} and ingestion is not None:
        return _decide_mention(article, ingestion, action, target, user, reason), ""
    raise DecisionError("Choose a decision: accept, reject, or one for the selected proposals.")


def _label(record: Event | Figure) -> str:
    if isinstance(record, Figure):
        return f"the figure “{record.as_reported}” ({record.get_metric_display().lower()})"
    return f"the event “{record.title}”"


def _decide_mention(article: Article, ingestion: Ingestion, action: str, target: str, user: Any, reason: str) -> str:
    mentions = list(ingestion.mentions)
    if not target.isdigit() or int(target) >= len(mentions):
        raise DecisionError("No such name among the extraction's offers.")
    offer = dict(mentions[int(target)])
    if action == "mention_accept":
        if offer["kind"] == NEW_COMPANY or not offer.get("slug"):
            raise DecisionError("Create the company first (the link beside the name), then add it to the mentions.")
        model, name = (Company, "companies") if offer["kind"] == "company" else (Person, "people")
        if not user.has_perm("articles.change_article"):
            raise PermissionDenied
        target_record = model.objects.filter(slug=offer["slug"]).first()
        if target_record is None:
            raise DecisionError(f"{offer['slug']!r} no longer exists.")
        current = list(getattr(article, name).all())
        article_save(
            article=article,
            data={name: [*current, target_record]},
            user=user,
            reason=f"Mention accepted: {offer['name']!r} is {target_record.name}" + (f": {reason}" if reason else ""),
        )
        offer["decision"] = "accepted"
        message = f"{target_record.name} added to the article's mentions."
    else:
        offer["decision"] = "dismissed"
        message = f"Dismissed {offer['name']!r}."
    offer.update({"decided_by": user.get_username(), "decided_at": timezone.now().isoformat(), "why": reason})
    mentions[int(target)] = offer
    Ingestion.objects.filter(pk=ingestion.pk).update(mentions=mentions)
    return message


def desk_view(model_admin: admin.ModelAdmin, request: HttpRequest, object_id: str) -> HttpResponse:
    if not model_admin.has_view_permission(request):
        raise PermissionDenied
    if not str(object_id).isdigit():
        raise Http404("No such article.")
    article = get_object_or_404(Article.objects.select_related("publisher"), pk=object_id)
    ingestion = Ingestion.objects.filter(article=article).first()
    url = reverse("admin:articles_article_review", args=[article.pk])
    if request.method == "POST":
        if not (request.user.has_perm("articles.change_figure") or request.user.has_perm("articles.change_event")):
            raise PermissionDenied
        focus = ""
        try:
            with transaction.atomic():
                message, focus = _decide(request, article, ingestion)
        except (DecisionError, ProposalError, StaleWriteError) as exc:
            model_admin.message_user(request, str(exc), messages.ERROR)
        except ValidationError as exc:
            problems = "; ".join(f"{k}: {' '.join(v)}" for k, v in exc.message_dict.items())
            model_admin.message_user(request, f"Nothing was changed: {problems}", messages.ERROR)
        else:
            model_admin.message_user(request, message, messages.SUCCESS)
        return HttpResponseRedirect(f"{url}?after={focus}" if focus else url)
    items = desk_items(article, ingestion)
    pending = [item for item in items if item.pending]
    # After a decision the desk opens on the next proposal still waiting, after the one just decided.
    after = request.GET.get("after", "")
    order = [item.ident for item in items]
    focus = ""
    if pending:
        start = order.index(after) + 1 if after in order else 0
        later = [item.ident for item in items[start:] if item.pending]
        focus = (later or [pending[0].ident])[0]
    offers = [
        {**offer, "index": index, "company_add_url": reverse("admin:articles_company_add") + f"?name={offer['name']}"}
        for index, offer in enumerate(ingestion.mentions if ingestion is not None else [])
    ]
    context = {
        **model_admin.admin_site.each_context(request),
        "opts": Article._meta,
        "original": article,
        "title": f"Review: {Truncator(article.title).chars(90)}",
        "article": article,
        "ingestion": ingestion,
        "items": items,
        "pending": len(pending),
        "decided": len(items) - len(pending),
        "focus": focus,
        "body": highlighted_body(article.body, items),
        "offers": offers,
        "queue_url": reverse("admin:articles_article_review_queue"),
    }
    return TemplateResponse(request, "admin/articles/article/review.html", context)
