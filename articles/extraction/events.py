"""Events: sentences (or clauses) that state a happening, with its date, type, participants and quote.

Rules, each tested in tests/test_extraction.py:
- a trigger word gives the type (founded -> founding, IPO / go public / listing -> ipo_listing, raised ->
  funding_round, suspended -> sales_suspension, ban / crack down -> regulation_ban, tariffs / detained /
  urged -> government_action, ordered / contract / agreed to sell -> order_contract, launched / shipped /
  goes on sale -> product_launch, fell / slipped / price peak -> market_move, published / reported ->
  publication, said / stated / refused to comment / hearing / interview -> statement); the most specific
  type found wins;
- a sentence with a financial figure (net loss, profit, revenue, margin) and its period is a financial report
  dated to that period ("respectively" periods make a span);
- the date is the sentence's most precise date expression, the nearest the trigger first, resolved against
  the publication date with its precision; a sentence with none is dated to the publication's month (a low
  confidence says so); a statement dated after the publication speaks of the future: it is dated to the
  publication;
- "X reported that ..." / "according to a report by X" adds a publication event to the sentence's own;
- "the 2018 <Document>" dates a document: a publication event in that year;
- a sentence whose clauses ("..., and ...") each carry their own date, or each open with their own subject
  and event word, gives one event per clause, quoted by the clause;
- a sentence with an explicit date and no trigger is an "other" event with a low confidence;
- participants come from the names in the quote: media are reporters, research organisations analysts,
  governments regulators (in bans and government actions), a person next to a speech verb a speaker, the
  names after "founded by" founders, a name after "from" a supplier, after "to" (selling) a customer, a
  name called competitor or rival a competitor, the first other company the subject.
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import date

from ..choices import DatePrecision, EventType, Metric, ParticipantRole
from . import EventProposal, FigureProposal, ParticipantProposal
from .dates import DateMention, label_for
from .figures import Context, _is_headline
from .mentions import _Match
from .text import Sentence

FINANCIAL = {Metric.NET_LOSS, Metric.NET_PROFIT, Metric.REVENUE, Metric.GROSS_MARGIN}

# Most specific first: the first type whose pattern matches is the event's type.
TRIGGERS: list[tuple[str, re.Pattern]] = [
    (
        EventType.FOUNDING,
        re.compile(r"\b(?:founded|co-founded|was established|were established|incorporated in)\b", re.I),
    ),
    (
        EventType.IPO_LISTING,
        re.compile(
            r"\b(?:(?:filed|files|file|applied|plans?|planned|planning|launch(?:ed|es)?|complet(?:ed|es|ion of)|"
            r"priced|for)\s+(?:an?\s+|the\s+|its\s+)?(?:[\w-]+\s+)?(?:IPO|initial public offering)|"
            r"go(?:es|ing)? public|went public|public listing|listing plan|listing application|to list|"
            r"filed to list|listed on|debut(?:ed)? on)\b",
            re.I,
        ),
    ),
    (
        EventType.FUNDING_ROUND,
        re.compile(
            r"\b(?:raised|raises|funding round|round of funding|series [a-f] round|placement of shares|share placement|"
            r"seed round)\b",
            re.I,
        ),
    ),
    (
        EventType.SALES_SUSPENSION,
        re.compile(r"\b(?:suspend(?:s|ed)?|halt(?:s|ed)?|stopped selling|stops selling)\b", re.I),
    ),
    (
        EventType.REGULATION_BAN,
        re.compile(
            r"\b(?:ban(?:s|ned)?|prohibit(?:s|ed)?|crack(?:s|ing)?\s+down|crackdown|outlaw(?:s|ed)?|"
            r"(?:heavily\s+)?restricted|advised\s+[\w\s,]{0,40}\s+not\s+to)\b",
            re.I,
        ),
    ),
    (
        EventType.GOVERNMENT_ACTION,
        re.compile(
            r"\b(?:imposed|tariffs|sanctions|sanctioned|detained|seized|urged|(?:was|were)\s+asked\s+to|"
            r"asked\s+[\w\s]{0,50}\s+to\s+(?:move|sell|leave|remove|divest|stop)|released\s+detailed\s+steps|"
            r"stepping\s+up\s+efforts|executive\s+order)\b",
            re.I,
        ),
    ),
    (
        EventType.ORDER_CONTRACT,
        re.compile(
            r"\b(?:(?<!in )order(?:s|ed)?\s+(?:[\w,.$-]+\s+){0,3}(?:from|equipment|machines|rigs|units)|"
            r"contracts?\s+signed|"
            r"signed\s+(?:a|an|the)\s+\w*\s*(?:contract|agreement|deal)|procurement\s+agreement|purchase\s+agreement|"
            r"agree(?:s|d)?\s+to\s+(?:buy|sell|supply|acquire)|cooperated\s+with|to\s+place\s+(?:a|an)\s+\w*\s*order|"
            r"paid\b[^.;]{0,60}?\bas\s+(?:a\s+)?prepayment|purchased\s+from|bought\s+from)\b",
            re.I,
        ),
    ),
    (
        EventType.PRODUCT_LAUNCH,
        re.compile(
            r"\b(?:launch(?:es|ed)?|unveil(?:s|ed)?|goes\s+on\s+sale|went\s+on\s+sale|mass[- ]produc(?:tion|ing|es|ed)|"
            r"shipped|started\s+shipping|start\s+of\s+(?:mass\s+)?production)\b",
            re.I,
        ),
    ),
    (
        EventType.INVESTMENT_STAKE,
        re.compile(
            r"\b(?:invested|acquired\s+a\s+stake|took\s+a\s+stake|holds\s+\d+\s*%|became\s+a\s+shareholder)\b", re.I
        ),
    ),
    (
        EventType.MARKET_MOVE,
        re.compile(
            r"\b(?:fell|slipped|dropped|plunged|nosedive|tumbled|surged|rallied|soared|price\s+peak|peaked|"
            r"hit\s+a\s+[\w-]+\s+(?:low|high)|sell(?:ing)?\s+off|selling\s+machines|sold\s+off|falling\s+below|"
            r"fall\s+in\s+value)\b",
            re.I,
        ),
    ),
    (
        EventType.PUBLICATION,
        re.compile(
            r"\b(?:published|report(?:ed|s)?\s+that|(?:a|the|an)\s+(?:[\w-]+\s+){0,3}report\s+(?:by|that|from)|"
            r"according\s+to\s+(?:a|the|an)\s+(?:[\w-]+\s+){0,3}report|announced\s+by|rich\s+list|ranking)\b",
            re.I,
        ),
    ),
    (
        EventType.STATEMENT,
        re.compile(
            r"\b(?:said|says|stated|statement|told|tells|claims|claimed|emphasi[sz]es|emphasi[sz]ed|writes|wrote|"
            r"predicted|warned|argued|explained|commented|comment|refused\s+to\s+(?:respond|disclose|comment|reveal)|"
            r"declined\s+to|hearing|speech|interview|testified|pressured|announced|promised|pledged|vowed|"
            r"compared\s+it|did\s+say|according\s+to\s+(?:a|an|the)\s+(?:[\w-]+\s+){0,2}(?:dealer|person|source|"
            r"analyst|insider|spokesman|spokesperson|official|executive|expert)s?)\b",
            re.I,
        ),
    ),
    # "According to Taras Kulyk, ...": a named source speaks (capitalised, so matched with case).
    (EventType.STATEMENT, re.compile(r"\b[Aa]ccording to (?!(?:a|an|the|data|various|some)\b)[A-Z][\w'’.-]+")),
]
REPORTING = re.compile(
    r"\b(?:report(?:ed|s)?\s+that|(?:a|the)\s+(?:[\w-]+\s+){0,3}report\s+by|according\s+to\s+(?:a|the)\s+"
    r"(?:[\w-]+\s+){0,3}report\s+by|published)\b",
    re.I,
)
SPEECH = re.compile(
    r"\b(?:said|says|stated|told|claims|claimed|according\s+to|writes|wrote|predicted|warned|argued|explained|"
    r"commented|refused|declined|pressured|asked|emphasi[sz]es|testified|speech|interview|saying)\b",
    re.I,
)
DOCUMENT = re.compile(r"\bthe\s+((?:19|20)\d\d)\s+(?:[A-Z][\w-]+\s*){1,3}")
CLAUSE_BREAK = re.compile(r",\s+(?:and|but|while)\s+|;\s+")
LEADING_CONNECTIVE = re.compile(r"^(?:however|but|and|meanwhile|thus|so|also|even so|therefore|moreover),?\s+", re.I)
PAST_VERB = re.compile(r"\b(?:was|were|had|did|\w{3,}ed)\b", re.I)

REGULATOR_TYPES = {EventType.REGULATION_BAN, EventType.GOVERNMENT_ACTION}


def _type_of(text: str) -> tuple[str, re.Match] | None:
    for event_type, pattern in TRIGGERS:
        match = pattern.search(text)
        if match:
            return event_type, match
    return None


def _starts_with_name(clause: str, names: list[_Match], offset: int) -> bool:
    """Does the clause open with a known name ("Marathon Digital raised ..."), after a connective?"""
    lead = len(clause) - len(LEADING_CONNECTIVE.sub("", clause))
    return any(m.start == offset + lead for m in names)


def _units(sentence: Sentence, dates: list[DateMention], names: list[_Match]) -> list[tuple[int, int]]:
    """The sentence, or its clauses when two or more of them carry their own explicit date, or their own
    subject and event word ("X ordered ..., and Y raised ...")."""
    breaks = [m for m in CLAUSE_BREAK.finditer(sentence.text)]
    if not breaks:
        return [(sentence.start, sentence.end)]
    bounds = []
    start = 0
    for match in breaks:
        bounds.append((start, match.start() + 1 if match.group().startswith(",") else match.start()))
        start = match.end()
    bounds.append((start, len(sentence.text)))
    separate = 0
    own: list[bool] = []
    for a, b in bounds:
        clause_dates = [d for d in dates if a <= d.start - sentence.start < b and d.anchor != "publication"]
        triggered = _type_of(sentence.text[a:b]) is not None
        subject = triggered and _starts_with_name(sentence.text[a:b], names, sentence.start + a)
        own.append(bool(clause_dates) or subject)
        separate += bool(triggered and (clause_dates or subject))
    if separate < 2:
        return [(sentence.start, sentence.end)]
    # A clause with neither a date nor a subject of its own stays with the one before it.
    units: list[tuple[int, int]] = []
    for (a, b), has_own in zip(bounds, own, strict=True):
        if units and not has_own:
            units[-1] = (units[-1][0], sentence.start + b)
        else:
            units.append((sentence.start + a, sentence.start + b))
    return units


PRECISION_RANK = {DatePrecision.DAY: 0, DatePrecision.MONTH: 1, DatePrecision.QUARTER: 2, DatePrecision.YEAR: 3}


def _nearest_date(dates: list[DateMention], position: int, documents: list[tuple[int, int]] = ()) -> DateMention | None:
    """The date of an event: an explicit date before one that only says "now"; among explicit dates the most
    precise, then the nearest the trigger. A year inside a document's name ("the 2018 Annual Report", spans in
    ``documents``) dates the document, not the event. A "now" more precise than the only explicit year, and
    inside it, wins ("At TechCrunch 2018 this past Tuesday")."""
    explicit = [d for d in dates if d.anchor != "publication" and not any(a <= d.start < b for a, b in documents)]
    anchored = [d for d in dates if d.anchor == "publication"]
    if explicit:
        if all(d.precision == DatePrecision.YEAR for d in explicit):
            inside = [a for a in anchored if any(a.date.year == y.date.year for y in explicit)]
            if inside:
                return inside[0]
        return min(explicit, key=lambda d: (PRECISION_RANK[d.precision], abs(d.start - position)))
    return anchored[0] if anchored else None


def _participants(ctx: Context, start: int, end: int, event_type: str) -> list[ParticipantProposal]:
    text = ctx.text
    found: list[ParticipantProposal] = []
    seen: set[tuple[str, str]] = set()
    subject_given = False
    matches: list[_Match] = [m for m in ctx.known if start <= m.start and m.end <= end]
    for match in matches:
        entry = match.entry
        key = (entry.kind, entry.slug)
        if key in seen:
            continue
        seen.add(key)
        before = text[max(start, match.start - 40) : match.start].lower()
        after = text[match.end : min(end, match.end + 30)].lower()
        role = ParticipantRole.OTHER
        if match.nested:
            role = ParticipantRole.OTHER
        elif entry.kind == "person":
            if event_type == EventType.FOUNDING and re.search(r"founded by[\w\s,]*$|and\s+$", before):
                role = ParticipantRole.FOUNDER
            elif event_type in REGULATOR_TYPES and not entry.affiliation:
                role = ParticipantRole.REGULATOR
            elif SPEECH.search(before[-25:]) or SPEECH.search(after[:25]):
                role = ParticipantRole.SPEAKER
            elif event_type == EventType.STATEMENT and not any(p.role == ParticipantRole.SPEAKER for p in found):
                role = ParticipantRole.SPEAKER
        else:
            kind = ctx.dictionary.company_kind(entry.slug)
            if kind == "media":
                role = ParticipantRole.REPORTER
            elif kind == "research":
                role = ParticipantRole.ANALYST
            elif kind == "government":
                role = (
                    ParticipantRole.REGULATOR
                    if event_type in REGULATOR_TYPES
                    else (
                        ParticipantRole.SPEAKER
                        if event_type == EventType.STATEMENT and SPEECH.search(after[:25])
                        else ParticipantRole.SUBJECT
                        if not subject_given
                        else ParticipantRole.OTHER
                    )
                )
                subject_given = subject_given or role == ParticipantRole.SUBJECT
            elif re.match(r"(?:'s|’s)\s+(?:\w+\s+)?(?:competitor|rival)s?\b", after) or re.search(
                r"\b(?:competitors?|rivals?)\s+(?:of|to)\s+(?:the\s+)?$", before
            ):
                role = ParticipantRole.COMPETITOR
            elif re.search(r"\b(?:from|by)\s+(?:the\s+)?$", before) and event_type == EventType.ORDER_CONTRACT:
                role = ParticipantRole.SUPPLIER
            elif re.search(r"\bto\s+$", before) and event_type == EventType.ORDER_CONTRACT:
                role = ParticipantRole.CUSTOMER
            elif re.search(r"\binvestors?\b", after) or re.search(r"\binvest", before[-20:]):
                role = ParticipantRole.INVESTOR
            elif re.search(r"\bcustomers?\b", before[-30:] + after[:20]):
                role = ParticipantRole.CUSTOMER
            elif not subject_given:
                role = ParticipantRole.SUBJECT
                if event_type == EventType.ORDER_CONTRACT and re.search(r"\border", after):
                    role = ParticipantRole.CUSTOMER
                subject_given = True
        found.append(ParticipantProposal(kind=entry.kind, slug=entry.slug, role=role))
    return found


TITLE_WORDS = {
    EventType.FINANCIAL_REPORT: "financial results",
    EventType.IPO_LISTING: "listing or IPO",
    EventType.FUNDING_ROUND: "raises funds",
    EventType.PRODUCT_LAUNCH: "product launch",
    EventType.ORDER_CONTRACT: "order or contract",
    EventType.INVESTMENT_STAKE: "investment or stake",
    EventType.SALES_SUSPENSION: "suspends sales",
    EventType.REGULATION_BAN: "ban or regulation",
    EventType.GOVERNMENT_ACTION: "government action",
    EventType.STATEMENT: "statement",
    EventType.MARKET_MOVE: "market move",
    EventType.FOUNDING: "founded",
    EventType.PUBLICATION: "report",
    EventType.OTHER: "event",
}


def _title(ctx: Context, event_type: str, participants: list[ParticipantProposal], when: str) -> str:
    label = TITLE_WORDS[event_type]
    names = [p for p in participants if p.role in (ParticipantRole.SUBJECT, ParticipantRole.SPEAKER)]
    names = names or [p for p in participants if p.role not in (ParticipantRole.REPORTER, ParticipantRole.OTHER)]
    if names:
        entry = ctx.dictionary.entry(names[0].kind, names[0].slug)
        if entry:
            return f"{entry.name}: {label} ({when})"
    return f"{label[0].upper()}{label[1:]} ({when})"


def _event(
    ctx: Context,
    start: int,
    end: int,
    event_type: str,
    when: date,
    precision: str,
    end_date: date | None,
    confidence: float,
    reason: str,
) -> EventProposal:
    quote = ctx.text[start:end]
    # Quote the words, without the clause's trailing comma or connective.
    stripped = quote.rstrip(" ,;")
    end = start + len(stripped)
    participants = _participants(ctx, start, end, event_type)
    return EventProposal(
        date=when,
        date_precision=precision,
        end_date=end_date,
        type=event_type,
        title=_title(ctx, event_type, participants, label_for(when, precision, end_date)),
        quote=stripped,
        quote_start=start,
        quote_end=end,
        participants=participants,
        confidence=round(confidence, 2),
        reason=reason,
    )


def extract_events(ctx: Context, figures: list[FigureProposal]) -> list[EventProposal]:  # noqa: C901
    events: list[EventProposal] = []
    pub_date, pub_precision = ctx.resolver.publication()
    by_sentence: dict[int, list[FigureProposal]] = {}
    for figure in figures:
        by_sentence.setdefault(figure.quote_start, []).append(figure)
    for index, sentence in enumerate(ctx.sentences):
        if _is_headline(sentence, index) or len(sentence.text) < 12:
            continue
        dates = ctx.dates(sentence)
        financial = [
            f for f in by_sentence.get(sentence.start, []) if f.metric in FINANCIAL and f.period_start is not None
        ]
        if financial:
            first = financial[0]
            precision = _precision_of(first.period_start, first.period_end)
            same = sorted(
                {f.period_start for f in financial if _precision_of(f.period_start, f.period_end) == precision}
            )
            end_date = same[-1] if len(same) > 1 and same[0] == first.period_start else None
            event = _event(
                ctx,
                sentence.start,
                sentence.end,
                EventType.FINANCIAL_REPORT,
                first.period_start,
                precision,
                end_date,
                0.7,
                f"a financial figure ({first.metric}, {first.as_reported}) for "
                f"{', '.join(dict.fromkeys(f.period_label for f in financial))}",
            )
            events.append(_with_subject(ctx, event, first.company))
            if REPORTING.search(sentence.text):
                events.append(_publication(ctx, sentence, dates, pub_date, pub_precision))
            continue
        units = _units(sentence, dates, [m for m in ctx.known if sentence.start <= m.start < sentence.end])
        produced = False
        for start, end in units:
            unit_text = ctx.text[start:end]
            found = _type_of(unit_text)
            unit_dates = [d for d in dates if start <= d.start < end]
            if found is None:
                continue
            event_type, trigger = found
            documents = [
                (sentence.start + m.start(), sentence.start + m.end()) for m in DOCUMENT.finditer(sentence.text)
            ]
            nearest = _nearest_date(unit_dates, start + trigger.start(), documents)
            if nearest is not None and event_type == EventType.STATEMENT and nearest.date > ctx.resolver.published_on:
                nearest = None  # a statement is not made in the future: its date is what it speaks of
            if nearest is not None and nearest.anchor != "publication":
                when, precision, end_date = nearest.date, nearest.precision, nearest.end_date
                confidence = 0.65 if not nearest.relative else 0.6
                reason = f'"{trigger.group()}" ({event_type}) dated by "{nearest.text}"'
            elif nearest is not None:
                when, precision, end_date = nearest.date, nearest.precision, nearest.end_date
                confidence = 0.45
                reason = f'"{trigger.group()}" ({event_type}); "{nearest.text}" dates it around the publication'
            else:
                when, precision, end_date = pub_date, pub_precision, None
                confidence = 0.35
                reason = f'"{trigger.group()}" ({event_type}); no date in the sentence: dated to the publication'
            events.append(_event(ctx, start, end, event_type, when, precision, end_date, confidence, reason))
            produced = True
            if event_type != EventType.PUBLICATION and len(units) == 1 and REPORTING.search(unit_text):
                events.append(_publication(ctx, sentence, dates, pub_date, pub_precision))
        document = DOCUMENT.search(sentence.text)
        if document:
            year = int(document.group(1))
            events.append(
                _event(
                    ctx,
                    sentence.start,
                    sentence.end,
                    EventType.PUBLICATION,
                    date(year, 1, 1),
                    DatePrecision.YEAR,
                    None,
                    0.4,
                    f'a dated document: "{document.group().strip()}"',
                )
            )
            produced = True
        if not produced:
            explicit = [d for d in dates if d.anchor != "publication"]
            if explicit and PAST_VERB.search(sentence.text):
                d = explicit[0]
                events.append(
                    _event(
                        ctx,
                        sentence.start,
                        sentence.end,
                        EventType.OTHER,
                        d.date,
                        d.precision,
                        d.end_date,
                        0.3,
                        f'no event word, but a date ("{d.text}") and a verb in the past',
                    )
                )
    return events


def _precision_of(start: date, end: date | None) -> str:
    """The precision of a figure's period from its bounds (a half year counts in quarters)."""
    if end is None or end == start:
        return DatePrecision.DAY
    months = (end.year - start.year) * 12 + end.month - start.month + 1
    if months == 1:
        return DatePrecision.MONTH
    if months in (3, 6) and start.month % 3 == 1:
        return DatePrecision.QUARTER
    return DatePrecision.YEAR if months == 12 and start.month == 1 else DatePrecision.MONTH


def _with_subject(ctx: Context, event: EventProposal, company: str | None) -> EventProposal:
    """A financial report is about its figure's company, named in the sentence or not."""
    if not company or any(p.slug == company and p.kind == "company" for p in event.participants):
        return event
    participants = [ParticipantProposal("company", company, ParticipantRole.SUBJECT), *event.participants]
    title = _title(ctx, event.type, participants, label_for(event.date, event.date_precision, event.end_date))
    return replace(event, participants=participants, title=title)


def _publication(ctx: Context, sentence: Sentence, dates, pub_date: date, pub_precision: str) -> EventProposal:
    match = REPORTING.search(sentence.text)
    nearest = _nearest_date(dates, sentence.start + match.start()) if match else None
    if nearest is not None and abs(nearest.start - (sentence.start + match.start())) < 30:
        when, precision, end_date = nearest.date, nearest.precision, nearest.end_date
        reason = f'"{match.group()}": a publication, dated by "{nearest.text}"'
        confidence = 0.55
    else:
        when, precision, end_date = pub_date, pub_precision, None
        reason = f'"{match.group()}": a publication, not dated in the text: dated to the article'
        confidence = 0.35
    return _event(
        ctx, sentence.start, sentence.end, EventType.PUBLICATION, when, precision, end_date, confidence, reason
    )
