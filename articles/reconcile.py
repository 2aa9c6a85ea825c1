"""Reconciliation: which newsdb company or person a name from someone else's data stands for.

newsdb speaks the Reconciliation API of the W3C Entity Reconciliation Community Group, version 0.2 (what
OpenRefine uses), so that a journalist can match a spreadsheet column of company or person names against newsdb.
``reconcile(batch)`` answers a batch of queries ``{"q0": {"query": "Bitmian", "type": "company", "limit": 3,
"properties": [{"pid": "country", "v": "CN"}]}}`` with scored candidates for each.

How a candidate is scored (0 to 100):

- Its name and every alias, garbled ones included ("Betland" is Bitmain), are compared with the query after
  normalisation (case, accents, punctuation, a trailing legal form such as Inc. or Ltd.). A name or alias equal to
  the query, but for spaces, scores 100 (``exact_name``: "Micro BT" is MicroBT). Otherwise RapidFuzz compares
  them: the better of the whole-string similarity (so "Bitmian" is 86% Bitmain) and a word-by-word one that weighs
  the query's words found in the name against the name's words found in the query (so "Bitmain Delaware" prefers
  Bitmain Technologies Delaware Ltd. to Bitmain). A candidate's score is that of its best name; names scoring
  below 60 are no candidates.
- Each property given with the query adds 5 when the candidate has that value and takes 15 off when it does not.
- ``match`` is true only when the top candidate is certain: none of the properties contradicts it, and either its
  name or an alias equals the query and no other candidate's does, or it scores 80 or more and at least 10 more
  than the next candidate.

Everything is read in three queries (companies, people, aliases) however many queries a batch holds.
"""

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from rapidfuzz import fuzz, process

from .choices import CompanyKind
from .countries import country_code
from .models import Alias, Company, Person

#: The types a query may name, with their names as the manifest gives them.
TYPES = {"company": "Company", "person": "Person"}
#: The properties a query may give, per type (``pid``: what it is).
PROPERTIES = {
    "company": {
        "country": "Country: an ISO 3166-1 alpha-2 code such as CN or US",
        "kind": f"Kind: {', '.join(CompanyKind.values)}",
        "founded_year": "Year founded",
        "parent": "Parent company: its newsdb id (companies/<slug>), slug, name or alias",
    },
    "person": {
        "affiliation": "The company they belong to: its newsdb id (companies/<slug>), slug, name or alias",
        "title": 'What they are, e.g. "CEO of Auradine"',
    },
}
MAX_QUERIES = 100
MAX_QUERY_LENGTH = 500
DEFAULT_LIMIT = 5
MAX_LIMIT = 100

PROPERTY_MATCH_BONUS = 5
PROPERTY_MISMATCH_PENALTY = 15
#: Names scoring below this are not candidates at all.
MIN_NAME_SCORE = 60
#: A candidate that is not an exact name is a match from this score on, this far ahead of the next one.
MATCH_SCORE, MATCH_MARGIN = 80, 10
#: How many of the best names (by RapidFuzz's WRatio, over every name at once) are scored in full.
SHORTLIST = 50

QUERY_KEYS = {"query", "type", "limit", "properties", "type_strict"}
#: Words that say little about which name is meant (left out of the word-by-word comparison).
STOP_WORDS = {"the", "of", "and", "for", "de", "la", "le", "du", "der"}
LEGAL_FORMS = {"inc", "ltd", "llc", "co", "corp", "corporation", "limited", "plc", "gmbh", "ag", "sa", "srl", "bv"}


class ReconcileError(ValueError):
    """The batch is malformed; ``problems`` name each place (``q0.limit: ...``)."""

    def __init__(self, problems: list[str]):
        super().__init__("; ".join(problems))
        self.problems = problems


def normalise(text: str) -> str:
    """Lower case without accents or punctuation, initials run together and without a trailing legal form:
    "Block, Inc." is "block", "U.S. Treasury" is "us treasury"."""
    text = unicodedata.normalize("NFKD", text)
    text = "".join(c for c in text if not unicodedata.combining(c)).casefold()
    words: list[str] = []
    initials = False
    for word in re.sub(r"[\W_]+", " ", text).split():
        if len(word) == 1 and word.isalpha():
            if initials:
                words[-1] += word
            else:
                words.append(word)
            initials = True
        else:
            words.append(word)
            initials = False
    while len(words) > 1 and words[-1] in LEGAL_FORMS:
        words.pop()
    return " ".join(words)


# --------------------------------------------------------------------------------------------------
# Queries


@dataclass(frozen=True)
class Query:
    key: str
    text: str
    types: tuple[str, ...]
    limit: int
    #: ``(pid, values)``; a value is a string, a number, a boolean or an entity id (``{"id": ...}``).
    properties: tuple[tuple[str, tuple[Any, ...]], ...]


def _is_value(v: Any) -> bool:
    if isinstance(v, Mapping):
        return isinstance(v.get("id"), str)
    return isinstance(v, (str, int, float, bool))


def queries_parse(batch: Any) -> list[Query]:
    """The batch's queries, every one validated; a ``ReconcileError`` lists every problem found."""
    if not isinstance(batch, Mapping) or not batch:
        raise ReconcileError(['Give an object of queries, e.g. {"q0": {"query": "Bitmain"}}.'])
    if len(batch) > MAX_QUERIES:
        raise ReconcileError([f"At most {MAX_QUERIES} queries per batch, not {len(batch)}."])
    problems: list[str] = []
    queries = []
    for key, raw in batch.items():
        where = str(key)[:40]
        if not isinstance(raw, Mapping):
            problems.append(f'{where}: a query is an object such as {{"query": "Bitmain"}}.')
            continue
        found = _query_parse(where, raw, problems)
        if found is not None:
            queries.append(Query(str(key), *found))
    if problems:
        raise ReconcileError(problems)
    return queries


def _query_parse(where: str, raw: Mapping, problems: list[str]) -> tuple | None:
    before = len(problems)
    unknown = sorted(str(k)[:40] for k in raw if k not in QUERY_KEYS)
    if unknown:
        accepted = ", ".join(sorted(QUERY_KEYS))
        problems.append(f"{where}: unknown keys {', '.join(unknown)}; a query may have {accepted}.")
    text = raw.get("query", "")
    if not isinstance(text, str):
        problems.append(f"{where}.query: a string.")
        text = ""
    elif len(text) > MAX_QUERY_LENGTH:
        problems.append(f"{where}.query: at most {MAX_QUERY_LENGTH} characters.")
    types = _types_parse(where, raw.get("type", ""), problems)
    limit = raw.get("limit", DEFAULT_LIMIT)
    if isinstance(limit, float) and limit.is_integer():
        limit = int(limit)
    if not isinstance(limit, int) or isinstance(limit, bool) or limit < 1:
        problems.append(f"{where}.limit: a positive whole number, not {str(limit)[:40]!r}.")
        limit = DEFAULT_LIMIT
    type_strict = raw.get("type_strict", "any")
    if not isinstance(type_strict, str) or type_strict not in {"any", "should", "all"}:
        problems.append(f"{where}.type_strict: one of any, should, all.")
    properties = _properties_parse(where, raw.get("properties", []), types, problems)
    if not text.strip() and not properties and len(problems) == before:
        problems.append(f"{where}: give a query, properties, or both.")
    if len(problems) > before:
        return None
    return text, types, min(limit, MAX_LIMIT), properties


def _types_parse(where: str, raw: Any, problems: list[str]) -> tuple[str, ...]:
    if raw == [] or raw == "":
        return tuple(TYPES)
    given = [raw] if isinstance(raw, str) else raw
    if not isinstance(given, list) or not all(isinstance(t, str) for t in given):
        problems.append(f"{where}.type: a type or a list of types ({', '.join(TYPES)}).")
        return tuple(TYPES)
    types = []
    for name in given:
        if name.strip().casefold() not in TYPES:
            problems.append(f"{where}.type: unknown type {name[:40]!r}; the types are {', '.join(TYPES)}.")
        elif name.strip().casefold() not in types:
            types.append(name.strip().casefold())
    return tuple(types)


def _properties_parse(where: str, raw: Any, types: tuple[str, ...], problems: list[str]) -> tuple:
    if not isinstance(raw, list):
        problems.append(f'{where}.properties: a list such as [{{"pid": "country", "v": "CN"}}].')
        return ()
    accepted = {pid for t in types for pid in PROPERTIES[t]}
    properties = []
    for i, item in enumerate(raw):
        at = f"{where}.properties[{i}]"
        if not isinstance(item, Mapping) or "pid" not in item or "v" not in item:
            problems.append(f'{at}: an object with a pid and a value v, such as {{"pid": "country", "v": "CN"}}.')
            continue
        pid, value = item["pid"], item["v"]
        if not isinstance(pid, str) or pid not in accepted:
            listing = "; ".join(f"{t}: {', '.join(PROPERTIES[t])}" for t in types)
            problems.append(f"{at}.pid: unknown property {str(pid)[:40]!r}; the properties are {listing}.")
            continue
        values = value if isinstance(value, list) else [value]
        if not values or not all(_is_value(v) for v in values):
            problems.append(f'{at}.v: a string, number, boolean or {{"id": ...}}, or a list of them.')
            continue
        properties.append((pid, tuple(values)))
    return tuple(properties)


# --------------------------------------------------------------------------------------------------
# What is matched against: every company and person with their names, read once


@dataclass
class Entity:
    id: str
    type: str
    name: str
    description: str
    #: The name and every alias: ``(original, normalised, is a garbled alias)``.
    names: list[tuple[str, str, bool]] = field(default_factory=list)
    #: Property values, normalised as ``_property_matches`` compares them.
    values: dict[str, Any] = field(default_factory=dict)


class Index:
    """Every company and person, with their names and property values: three queries."""

    def __init__(self) -> None:
        companies = list(
            Company.objects.order_by().values_list("id", "slug", "name", "kind", "country", "founded_year", "parent_id")
        )
        people = list(Person.objects.order_by().values_list("id", "slug", "name", "title", "affiliation_id"))
        aliases = list(Alias.objects.order_by().values_list("company_id", "person_id", "name", "garbled"))

        kinds = dict(CompanyKind.choices)
        by_company: dict[int, Entity] = {}
        by_person: dict[int, Entity] = {}
        for pk, slug, name, kind, country, _founded, _parent in companies:
            where = ", ".join(part for part in (str(kinds.get(kind, kind)), country) if part)
            entity = Entity(f"companies/{slug}", "company", name, where)
            by_company[pk] = entity
        for pk, slug, name, title, _affiliation in people:
            by_person[pk] = Entity(f"people/{slug}", "person", name, title)
        for entity in [*by_company.values(), *by_person.values()]:
            entity.names.append((entity.name, normalise(entity.name), False))
        for company_id, person_id, name, garbled in aliases:
            owner = by_company.get(company_id) if company_id else by_person.get(person_id)
            if owner is not None:
                owner.names.append((name, normalise(name), garbled))

        def company_keys(pk: int | None) -> frozenset[str]:
            """How a property value may name a company: its id, slug, or a name or alias (normalised)."""
            if pk is None or pk not in by_company:
                return frozenset()
            entity = by_company[pk]
            return frozenset({entity.id, entity.id.removeprefix("companies/"), *(n for _, n, _ in entity.names)})

        for pk, _slug, _name, kind, country, founded, parent in companies:
            by_company[pk].values = {
                "country": country,
                "kind": {kind, normalise(str(kinds.get(kind, kind)))},
                "founded_year": founded,
                "parent": company_keys(parent),
            }
        for pk, _slug, _name, title, affiliation in people:
            by_person[pk].values = {"affiliation": company_keys(affiliation), "title": normalise(title)}
        self.entities: list[Entity] = [*by_company.values(), *by_person.values()]
        self._names: dict[tuple[str, ...], tuple[list[str], list[tuple[Entity, tuple[str, str, bool]]]]] = {}

    def names(self, types: tuple[str, ...]) -> tuple[list[str], list[tuple[Entity, tuple[str, str, bool]]]]:
        """The normalised names of the entities of ``types``, and for each its entity and name, in that order."""
        key = tuple(sorted(types))
        if key not in self._names:
            choices, owners = [], []
            for entity in self.entities:
                if entity.type in key:
                    for name in entity.names:
                        if name[1]:
                            choices.append(name[1])
                            owners.append((entity, name))
            self._names[key] = (choices, owners)
        return self._names[key]


# --------------------------------------------------------------------------------------------------
# Scoring


def _words_score(query: list[str], name: list[str]) -> float:
    """How much of the query's words the name has and of the name's words the query has (0-100, their harmonic
    mean), each word counting by its closest match's similarity (below 50, not at all)."""
    query = [word for word in query if word not in STOP_WORDS] or query
    name = [word for word in name if word not in STOP_WORDS] or name
    if not query or not name:
        return 0.0

    def covered(these: list[str], those: list[str]) -> float:
        total = 0.0
        for word in these:
            best = max(fuzz.ratio(word, other) for other in those)
            total += best if best >= 50 else 0.0
        return total / len(these)

    precision, recall = covered(query, name), covered(name, query)
    return 0.0 if precision + recall == 0 else 2 * precision * recall / (precision + recall)


def name_score(query: str, name: str) -> float:
    """How alike a normalised query and a normalised name are, 0-100 (100: equal but for spaces, "Micro BT" and
    "MicroBT")."""
    if query.replace(" ", "") == name.replace(" ", ""):
        return 100.0
    return max(fuzz.ratio(query, name), _words_score(query.split(), name.split()))


def _property_matches(entity: Entity, pid: str, values: Iterable[Any]) -> bool:
    """Whether the entity has one of ``values`` for ``pid``; a property of another type never matches."""
    if pid not in entity.values:
        return False
    own = entity.values[pid]
    for value in values:
        given = value["id"] if isinstance(value, Mapping) else value
        if pid == "country" and isinstance(given, str):
            if own and (country_code(given) or given.strip().upper()) == own:
                return True
        elif pid == "founded_year":
            try:
                if own is not None and int(str(given).strip()) == own:
                    return True
            except ValueError:
                continue
        elif pid == "kind" and isinstance(given, str):
            if given.strip().casefold() in own or normalise(given) in own:
                return True
        elif pid in {"parent", "affiliation"} and isinstance(given, str):
            if given.strip() in own or normalise(given) in own:
                return True
        elif pid == "title" and isinstance(given, str) and own:
            if fuzz.token_set_ratio(normalise(given), own) >= 80:
                return True
    return False


@dataclass
class Candidate:
    entity: Entity
    name_score: float
    exact: bool
    matched_name: tuple[str, str, bool]
    properties: list[tuple[str, bool]]

    @property
    def score(self) -> float:
        adjust = sum(PROPERTY_MATCH_BONUS if ok else -PROPERTY_MISMATCH_PENALTY for _, ok in self.properties)
        if not self.exact and self.name_score == 0 and self.properties:
            # No name given: the share of the properties it has.
            return 100 * sum(ok for _, ok in self.properties) / len(self.properties)
        return max(0.0, min(100.0, self.name_score + adjust))

    @property
    def contradicted(self) -> bool:
        return any(not ok for _, ok in self.properties)

    def sort_key(self) -> tuple:
        return (-self.score, -sum(ok for _, ok in self.properties), -self.name_score, self.entity.name, self.entity.id)


def _candidates(index: Index, query: Query) -> list[Candidate]:
    text = normalise(query.text)
    best: dict[str, Candidate] = {}
    if text:
        # RapidFuzz's WRatio (generous: partial and word-set matches) picks the names worth scoring in full.
        choices, owners = index.names(query.types)
        shortlist = process.extract(text, choices, scorer=fuzz.WRatio, limit=SHORTLIST, score_cutoff=MIN_NAME_SCORE / 2)
        for choice, _wratio, position in shortlist:
            entity, name = owners[position]
            score = name_score(text, choice)
            known = best.get(entity.id)
            if score >= MIN_NAME_SCORE and (known is None or score > known.name_score):
                best[entity.id] = Candidate(entity, score, score == 100.0, name, [])
    else:
        # Properties only: every entity of the types is a candidate if it has one of them.
        for entity in index.entities:
            if entity.type in query.types:
                best[entity.id] = Candidate(entity, 0.0, False, entity.names[0], [])
    for candidate in best.values():
        candidate.properties = [(pid, _property_matches(candidate.entity, pid, v)) for pid, v in query.properties]
    found = [c for c in best.values() if text or any(ok for _, ok in c.properties)]
    found.sort(key=Candidate.sort_key)
    return found


def _is_match(candidates: list[Candidate]) -> bool:
    if not candidates or candidates[0].contradicted:
        return False
    top = candidates[0]
    if top.exact:
        return not any(c.exact for c in candidates[1:])
    runner_up = candidates[1].score if len(candidates) > 1 else 0.0
    return top.name_score > 0 and top.score >= MATCH_SCORE and top.score - runner_up >= MATCH_MARGIN


def _result(candidate: Candidate, match: bool) -> dict:
    entity = candidate.entity
    original, _normalised, garbled = candidate.matched_name
    description = entity.description
    if candidate.name_score and original != entity.name:
        alias = f"matched the alias “{original}”" + (" (a garble)" if garbled else "")
        description = f"{description}; {alias}" if description else alias
    features = [
        {"id": "name_similarity", "value": round(candidate.name_score, 1)},
        {"id": "exact_name", "value": candidate.exact},
        *({"id": f"property_{pid}", "value": ok} for pid, ok in candidate.properties),
    ]
    return {
        "id": entity.id,
        "name": entity.name,
        "description": description,
        "score": round(candidate.score, 1),
        "match": match,
        "type": [{"id": entity.type, "name": TYPES[entity.type]}],
        "features": features,
    }


def reconcile(batch: Any) -> dict[str, dict[str, list[dict]]]:
    """Candidates for every query of ``batch`` (parsed JSON), best first: ``{"q0": {"result": [...]}}``.

    Raises ``ReconcileError`` when the batch is malformed; reads the database three times whatever its size.
    """
    queries = queries_parse(batch)
    index = Index()
    results = {}
    for query in queries:
        candidates = _candidates(index, query)
        match = _is_match(candidates)
        shown = candidates[: query.limit]
        results[query.key] = {"result": [_result(c, match and i == 0) for i, c in enumerate(shown)]}
    return results
