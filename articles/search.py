"""Full-text search over articles, events, figures, companies and people: one engine, two backends.

Both ``GET /api/search/`` (``search``: ranked results of every type, with snippets) and the ``q`` filter of every
list (``search_filter``) read the same index, kept current by the database (``search_schema``):

- **PostgreSQL**: the ``search_document`` tsvector of each table with its GIN index, queried with
  ``websearch_to_tsquery`` (configuration ``newsdb_search``: English stemming and stop words, ``unaccent``),
  ranked by ``ts_rank``, snippets by ``ts_headline``.
- **SQLite**: the FTS5 table of each type, queried with the same syntax (``parse`` reads it and writes FTS5's),
  ranked by ``bm25``, snippets by ``snippet()`` and ``highlight()``.

The query syntax is the web-search one: words must all appear (in any form: "sales" finds "sale"),
``"quoted words"`` must appear together, ``or`` between words means either, ``-word`` excludes. Common words
("the", "of") are ignored, and typographic quotes count as plain ones (``china’s`` is ``china's``).

Companies and people are also found by a misspelt name or alias ("Bitman" finds Bitmain, "Cannan" Canaan): by
``pg_trgm`` similarity on PostgreSQL (``%`` and ``<%`` on trigram GIN indexes), by RapidFuzz's ratio and
partial ratio on SQLite. That fuzzy match applies to a plain query of at least ``FUZZY_MIN_LENGTH`` letters (no
quotes, ``or`` or ``-``); its score adds to the text match's.

An article is the story its events and figures come from: a matching article's score adds the best score of its
own matching events and figures, so the story behind a matching event ranks above that event ("spot sales" finds
the 2021 suspension article first, then the suspension event). Which articles match does not change.

Snippets are HTML: the text escaped, the matched words in ``<mark>``. Only the page returned gets them.
"""

import html
import re
import unicodedata
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field

from django.db import connections, router
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import BooleanField, Expression, Model, Q, QuerySet
from django.db.models.expressions import RawSQL
from rapidfuzz import fuzz

from .choices import PROPOSAL_STATUSES
from .expressions import OnOwnTable
from .models import Article, Company, Event, Figure, Person
from .search_schema import SQLITE_INDEXES

TYPES = ("article", "event", "figure", "company", "person")
MODELS: dict[str, type[Model]] = {
    "article": Article,
    "event": Event,
    "figure": Figure,
    "company": Company,
    "person": Person,
}
TYPE_OF_MODEL = {model: kind for kind, model in MODELS.items()}
#: Types also matched by a misspelt name or alias.
NAMED = ("company", "person")
#: Types with proposals (events and figures the extraction proposed, or an editor rejected): not facts, never found.
WITH_PROPOSALS = ("event", "figure")
PROPOSALS_SQL = "(" + ", ".join(f"'{status}'" for status in sorted(PROPOSAL_STATUSES)) + ")"

QUOTES = str.maketrans({"’": "'", "‘": "'", "“": '"', "”": '"'})
#: Marks around matched words in the database's snippets, replaced by ``<mark>`` once the text is escaped (the
#: indexed text cannot hold them: the index strips them).
MARK_START, MARK_END = "\ue000", "\ue001"
FUZZY_MIN_LENGTH = 4
#: pg_trgm's defaults: ``%`` is similarity >= 0.3, ``<%`` word similarity >= 0.6. SQLite's RapidFuzz thresholds
#: below were chosen to find the same names in the curated data set.
FUZZY_RATIO, FUZZY_PARTIAL_RATIO = 75, 90
#: How much of an article's body a snippet is taken from (PostgreSQL parses the whole text it is given).
SNIPPET_SOURCE_LIMIT = 50_000
#: Counting stops here, as on the lists (``api.pagination.COUNT_CAP``).
COUNT_CAP = 1_000
#: At most this many matches of one type are ranked: ranking reads every match's document, and a query that
#: matches most of 100,000 articles would take half a second. Beyond it, the first matches the index yields (in
#: storage order) are ranked, and the others are left out; more words narrow it.
RANK_LIMIT = 10_000

# PostgreSQL's English stop words (share/tsearch_data/english.stop): SQLite ignores the same words, so that both
# databases find the same records.
STOP_WORDS = frozenset(
    """i me my myself we our ours ourselves you your yours yourself yourselves he him his himself she her hers
    herself it its itself they them their theirs themselves what which who whom this that these those am is are
    was were be been being have has had having do does did doing a an the and but if or because as until while of
    at by for with about against between into through during before after above below to from up down in out on
    off over under again further then once here there when where why how all any both each few more most other
    some such no nor not only own same so than too very s t can will just don should now""".split()
)
#: A word as FTS5's unicode61 tokenizer (and roughly PostgreSQL's parser) cuts it: letters and digits.
WORD = re.compile(r"[^\W_]+")


# ------------------------------------------------------------------------------------------------ the query


def normalise(text: str) -> str:
    """Typographic quotes and apostrophes as plain ones: ``china’s`` -> ``china's``, “a” -> "a"."""
    return text.translate(QUOTES)


@dataclass(frozen=True)
class Term:
    """A word or a quoted phrase, as the words the index holds; ``negated`` for ``-word``."""

    words: tuple[str, ...]
    negated: bool = False
    quoted: bool = False


@dataclass(frozen=True)
class Query:
    """A parsed query: ``groups`` are OR-ed, the terms of a group AND-ed; every group has a term to find."""

    text: str
    groups: tuple[tuple[Term, ...], ...]
    #: For the fuzzy name match: the words of a plain query (no quotes, ``or`` or ``-``), else "".
    name: str = ""

    @property
    def empty(self) -> bool:
        return not self.groups

    def fts5(self) -> str:
        """The query in FTS5's syntax: every term a quoted string, so nothing in it is read as an operator."""

        def phrase(term: Term) -> str:
            return '"' + " ".join(term.words) + '"'

        groups = []
        for group in self.groups:
            expression = "(" + " AND ".join(phrase(t) for t in group if not t.negated) + ")"
            for term in group:
                if term.negated:
                    expression = f"({expression} NOT {phrase(term)})"
            groups.append(expression)
        return " OR ".join(groups)


_OR = object()


def _items(text: str) -> Iterable[object]:
    """The terms and ``or`` operators of ``text``, as PostgreSQL's ``websearch_to_tsquery`` reads them."""
    i, n = 0, len(text)
    while i < n:
        if text[i].isspace():
            i += 1
            continue
        negated = text[i] == "-" and i + 1 < n and not text[i + 1].isspace()
        if negated:
            i += 1
        if text[i] == '"':
            end = text.find('"', i + 1)
            end = n if end < 0 else end
            raw, quoted, i = text[i + 1 : end], True, end + 1
        else:
            end = i
            while end < n and not text[end].isspace() and text[end] != '"':
                end += 1
            raw, quoted, i = text[i:end], False, end
            if not negated and raw.lower() == "or":
                yield _OR
                continue
        words = WORD.findall(raw.lower())
        kept = tuple(w for w in words if w not in STOP_WORDS)
        if kept:
            # Stop words stay inside a phrase ("bank of china"), where PostgreSQL keeps their place.
            yield Term(tuple(words) if quoted else kept, negated=negated, quoted=quoted)


def parse(text: str) -> Query:
    text = normalise(text)
    groups: list[list[Term]] = [[]]
    plain = True
    for item in _items(text):
        if item is _OR:
            groups.append([])
            plain = False
        else:
            groups[-1].append(item)
            plain = plain and not (item.negated or item.quoted)
    kept = tuple(tuple(group) for group in groups if any(not term.negated for term in group))
    name = name_key(text) if plain and kept else ""
    if len(name.replace(" ", "")) < FUZZY_MIN_LENGTH:
        name = ""
    return Query(text=text, groups=kept, name=name)


def name_key(text: str) -> str:
    """A name as the fuzzy match compares it: lower case, without accents, words of letters and digits."""
    decomposed = unicodedata.normalize("NFKD", normalise(text).lower())
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(WORD.findall(plain))


def fuzzy_score(query_key: str, name: str) -> float:
    """How closely ``name`` matches the query (0 to 1): the better of RapidFuzz's ratio and, for a query no longer
    than the name, its partial ratio (the query against the best part of the name: "minn" in "Akme Minning")."""
    key = name_key(name)
    ratio = fuzz.ratio(query_key, key)
    partial = fuzz.partial_ratio(query_key, key) if len(query_key) <= len(key) else 0.0
    if ratio < FUZZY_RATIO and partial < FUZZY_PARTIAL_RATIO:
        return 0.0
    return max(ratio, partial) / 100


# ------------------------------------------------------------------------------------------------ backends


@dataclass
class SQL:
    """A piece of SQL with its parameters (``%s``), joined with others by ``+``."""

    sql: str
    params: list = field(default_factory=list)

    def __add__(self, other: "SQL") -> "SQL":
        return SQL(self.sql + other.sql, self.params + other.params)


def _union(parts: Sequence[SQL]) -> SQL:
    out = SQL("")
    for i, part in enumerate(parts):
        out = out + (SQL(" UNION ALL ") if i else SQL("")) + part
    return out


def _in(ids: Collection[int]) -> SQL:
    return SQL("(" + ", ".join(["%s"] * len(ids)) + ")", list(ids))


class _Matches(OnOwnTable):
    """PostgreSQL: ``<the queryset's table>.search_document @@ websearch_to_tsquery(...)``."""

    output_field = BooleanField()

    def __init__(self, text: str, pk: Expression | None = None):
        super().__init__(pk)
        self.text = text

    def as_sql(self, compiler, connection):
        table, params = self.table(compiler)
        return f"{table}.search_document @@ {PostgreSQL.TSQUERY}", [*params, self.text]


class PostgreSQL:
    """Reads the ``search_document`` columns (see ``search_schema``)."""

    TSQUERY = "websearch_to_tsquery('newsdb_search', %s)"
    HEADLINE = (
        f'StartSel="{MARK_START}", StopSel="{MARK_END}", MaxWords=30, MinWords=12, ShortWord=2, '
        'MaxFragments=2, FragmentDelimiter=" … "'
    )
    HEADLINE_ALL = f'StartSel="{MARK_START}", StopSel="{MARK_END}", HighlightAll=true'
    #: A name's similarity (0 to 1) counts a tenth in the score: ts_rank gives a good text match 0.1 to 1, and a
    #: record found by a close name alone ("Bitmain" for "Bitmain loss") should not outrank those.
    FUZZY_WEIGHT = 0.1
    TABLES = {kind: model._meta.db_table for kind, model in MODELS.items()}

    def __init__(self, connection: BaseDatabaseWrapper) -> None:
        self.connection = connection

    def _near(self, query: Query, column: str) -> SQL:
        key = "newsdb_name_key(%s)"
        return SQL(
            f"({key} %% newsdb_name_key({column}) OR {key} <%% newsdb_name_key({column}))", [query.name, query.name]
        )

    def _similarity(self, query: Query, column: str) -> SQL:
        return SQL(
            f"{self.FUZZY_WEIGHT} * greatest(similarity(newsdb_name_key(%s), newsdb_name_key({column})), "
            f"word_similarity(newsdb_name_key(%s), newsdb_name_key({column})))",
            [query.name, query.name],
        )

    def _named(self, kind: str, query: Query, scored: bool) -> SQL:
        """``(id, score)`` of the companies or people whose name or an alias is close to the query."""
        table, owner = self.TABLES[kind], f"{kind}_id"
        own = SQL("SELECT t.id, ") + (self._similarity(query, "t.name") if scored else SQL("0")) + SQL(" AS score ")
        own += SQL(f"FROM {table} t WHERE ") + self._near(query, "t.name")
        alias = SQL(f"SELECT a.{owner}, ") + (self._similarity(query, "a.name") if scored else SQL("0"))
        alias += SQL(f" FROM articles_alias a WHERE a.{owner} IS NOT NULL AND ") + self._near(query, "a.name")
        return SQL("SELECT n.id, max(n.score) AS score FROM (") + _union([own, alias]) + SQL(") n GROUP BY n.id")

    def hits(self, kind: str, query: Query, scored: bool) -> SQL:
        table = self.TABLES[kind]
        facts = f" AND status NOT IN {PROPOSALS_SQL}" if kind in WITH_PROPOSALS else ""
        if scored:
            where = f"search_document @@ {self.TSQUERY}{facts}"
            matches = f"(SELECT id, search_document FROM {table} WHERE {where} LIMIT %s)"
            text = SQL(f"SELECT t.id, ts_rank(t.search_document, {self.TSQUERY}, 1) AS score FROM {matches} t")
            text.params = [query.text, query.text, RANK_LIMIT]
        else:
            text = SQL(f"SELECT t.id, 0 AS score FROM {table} t WHERE t.search_document @@ {self.TSQUERY}{facts}")
            text.params = [query.text]
        if kind in NAMED and query.name:
            inner = _union([text, self._named(kind, query, scored)])
            return SQL(f"SELECT '{kind}' AS type, h.id, sum(h.score) AS score FROM (") + inner + SQL(") h GROUP BY id")
        return SQL(f"SELECT '{kind}' AS type, h.id, h.score FROM (") + text + SQL(") h")

    def condition(self, kind: str, query: Query) -> Q:
        condition = Q(_Matches(query.text))
        if kind in NAMED and query.name:
            named = self._named(kind, query, scored=False)
            condition |= Q(pk__in=RawSQL(f"SELECT id FROM ({named.sql}) named", named.params))
        return condition

    def details(self, kind: str, ids: list[int], query: Query) -> SQL:
        """``type, id, slug, title, snippet, aliases`` of the records ``ids`` of one type."""
        table = self.TABLES[kind]

        def headline(text: str, options: str) -> SQL:
            source = f"translate({text}, U&'\\E000\\E001', '')"
            return SQL(f"ts_headline('newsdb_search', {source}, {self.TSQUERY}, %s)", [query.text, options])

        aliases = (
            f"(SELECT string_agg(a.name, chr(31) ORDER BY a.name, a.id) FROM articles_alias a WHERE a.{kind}_id = t.id)"
        )
        sources = {
            "article": ("t.slug", "t.title", f"concat_ws(E'\\n', t.title, left(t.body, {SNIPPET_SOURCE_LIMIT}))"),
            "event": ("NULL", "t.title", "concat_ws(' — ', t.title, nullif(t.summary, ''), t.quote)"),
            "figure": (
                "NULL",
                FIGURE_TITLE,
                "concat_ws(' — ', nullif(t.subject, ''), c.name, t.as_reported, t.quote)",
            ),
            "company": (
                "t.slug",
                "t.name",
                "concat_ws(' · ', t.name, replace(aliases, chr(31), ', '), nullif(t.description, ''))",
            ),
            "person": (
                "t.slug",
                "t.name",
                "concat_ws(' · ', t.name, replace(aliases, chr(31), ', '), nullif(t.title, ''), "
                "nullif(t.description, ''))",
            ),
        }
        slug, title, text = sources[kind]
        named = kind in NAMED
        select = SQL(f"SELECT '{kind}' AS type, t.id, {slug} AS slug, {title} AS title, ")
        select += headline(text, self.HEADLINE_ALL if named else self.HEADLINE)
        select += SQL(f" AS snippet, {'aliases' if named else 'NULL'} AS aliases FROM {table} t")
        if kind == "figure":
            select += SQL(" LEFT JOIN articles_company c ON c.id = t.company_id")
        if named:
            select += SQL(f" CROSS JOIN LATERAL (SELECT {aliases} AS aliases) al")
        return select + SQL(" WHERE t.id = ANY(%s)", [list(ids)])


#: A figure's title, the same SQL on both databases: "Bitmain: January 2019 loss, $345 million".
FIGURE_TITLE = (
    "coalesce(c.name || ': ', '') || coalesce(nullif(t.subject, ''), replace(t.metric, '_', ' ')) "
    "|| ', ' || t.as_reported"
)


class SQLite:
    """Reads the FTS5 tables (see ``search_schema``)."""

    MARKS = "char(57344), char(57345)"
    #: bm25 scores a good text match from about 1 to 20: a name's similarity (0 to 1) counts as it is.
    FUZZY_WEIGHT = 1.0

    def __init__(self, connection: BaseDatabaseWrapper) -> None:
        self.connection = connection
        self._names: dict[tuple[str, str], dict[int, float]] = {}

    @staticmethod
    def _fts(kind: str) -> str:
        return SQLITE_INDEXES[kind][0]

    def named(self, kind: str, query: Query) -> dict[int, float]:
        """``{id: score}`` of the companies or people whose name or an alias is close to the query (RapidFuzz
        over every name: one query, read once per search)."""
        cache_key = (kind, query.name)
        if cache_key not in self._names:
            table = MODELS[kind]._meta.db_table
            with self.connection.cursor() as cursor:
                cursor.execute(
                    f"SELECT id, name FROM {table} UNION ALL "
                    f"SELECT {kind}_id, name FROM articles_alias WHERE {kind}_id IS NOT NULL"
                )
                names = cursor.fetchall()
            best: dict[int, float] = {}
            for owner, name in names:
                score = fuzzy_score(query.name, name) * self.FUZZY_WEIGHT
                if score and score > best.get(owner, 0.0):
                    best[owner] = score
            self._names[cache_key] = best
        return self._names[cache_key]

    def hits(self, kind: str, query: Query, scored: bool) -> SQL:
        fts, table, _, _, weights = SQLITE_INDEXES[kind]
        score = f"-bm25({fts}, {', '.join(str(w) for w in weights)})" if scored else "0"
        facts = ""
        if kind in WITH_PROPOSALS:  # one primary-key lookup per match
            proposal = f"SELECT 1 FROM {table} p WHERE p.id = {fts}.rowid AND p.status IN {PROPOSALS_SQL}"
            facts = f" AND NOT EXISTS ({proposal})"
        text = SQL(f"SELECT rowid AS id, {score} AS score FROM {fts} WHERE {fts} MATCH %s{facts}", [query.fts5()])
        if scored:
            text = SQL("SELECT id, score FROM (") + text + SQL(" LIMIT %s)", [RANK_LIMIT])
        named = self.named(kind, query) if kind in NAMED and query.name else {}
        if named:
            values = SQL("SELECT column1, column2 FROM (VALUES " + ", ".join(["(%s, %s)"] * len(named)) + ")")
            values.params = [value for pair in named.items() for value in pair]
            inner = _union([text, values])
            return SQL(f"SELECT '{kind}' AS type, h.id, sum(h.score) AS score FROM (") + inner + SQL(") h GROUP BY id")
        return SQL(f"SELECT '{kind}' AS type, h.id, h.score FROM (") + text + SQL(") h")

    def condition(self, kind: str, query: Query) -> Q:
        fts = self._fts(kind)
        condition = Q(pk__in=RawSQL(f"SELECT rowid FROM {fts} WHERE {fts} MATCH %s", [query.fts5()]))
        if kind in NAMED and query.name:
            named = self.named(kind, query)
            if named:
                condition |= Q(pk__in=list(named))
        return condition

    def details(self, kind: str, ids: list[int], query: Query) -> SQL:
        fts, table, columns, _, _ = SQLITE_INDEXES[kind]
        marks = self.MARKS
        if kind in NAMED:
            # The whole (short) text, every match marked, its parts joined as PostgreSQL's concat_ws joins them
            # (the name is never empty; the slug is searched, not shown).
            shown = [(i, name) for i, name in enumerate(columns) if name != "slug"]
            separator = "' · ' || "
            highlighted = f"highlight({fts}, 0, {marks})" + "".join(
                f" || CASE WHEN {name} <> '' THEN {separator}highlight({fts}, {i}, {marks}) ELSE '' END"
                for i, name in shown[1:]
            )
            plain = shown[0][1] + "".join(
                f" || CASE WHEN {name} <> '' THEN {separator}{name} ELSE '' END" for _, name in shown[1:]
            )
        else:
            highlighted = f"snippet({fts}, -1, {marks}, '…', 24)"
            plain = None
        slug = "t.slug" if kind in ("article", "company", "person") else "NULL"
        title = {"article": "t.title", "event": "t.title", "figure": FIGURE_TITLE}.get(kind, "t.name")
        aliases = (
            f"(SELECT group_concat(name, char(31)) FROM (SELECT name FROM articles_alias a "
            f"WHERE a.{kind}_id = t.id ORDER BY a.name, a.id))"
            if kind in NAMED
            else "NULL"
        )
        snippet = "coalesce(h.snippet, p.snippet)" if plain else "h.snippet"
        select = SQL(f"SELECT '{kind}' AS type, t.id, {slug} AS slug, {title} AS title, {snippet} AS snippet, ")
        select += SQL(f"{aliases} AS aliases FROM {table} t")
        if kind == "figure":
            select += SQL(" LEFT JOIN articles_company c ON c.id = t.company_id")
        select += SQL(f" LEFT JOIN (SELECT rowid AS id, {highlighted} AS snippet FROM {fts} WHERE {fts} MATCH %s ")
        select.params.append(query.fts5())
        select += SQL("AND rowid IN ") + _in(ids) + SQL(") h ON h.id = t.id")
        if plain:
            select += SQL(f" LEFT JOIN (SELECT rowid AS id, {plain} AS snippet FROM {fts} WHERE rowid IN ")
            select += _in(ids) + SQL(") p ON p.id = t.id")
        return select + SQL(" WHERE t.id IN ") + _in(ids)


def _backend(connection: BaseDatabaseWrapper) -> "PostgreSQL | SQLite":
    if connection.vendor == "postgresql":
        return PostgreSQL(connection)
    if connection.vendor == "sqlite":
        return SQLite(connection)
    raise NotImplementedError(f"Full-text search supports PostgreSQL and SQLite, not {connection.vendor}.")


# ------------------------------------------------------------------------------------------------ the reads


def search_filter(queryset: QuerySet, text: str) -> QuerySet:
    """``queryset`` narrowed to the records that match ``text`` (the lists' ``q``); its order is kept."""
    query = parse(text)
    if query.empty:
        return queryset.none()
    backend = _backend(connections[queryset.db])
    return queryset.filter(backend.condition(TYPE_OF_MODEL[queryset.model], query))


@dataclass
class Page:
    """One page of ranked results (see ``search``)."""

    results: list[dict]
    count: int
    count_exact: bool
    has_next: bool


#: The records whose matches raise their article's score.
ARTICLE_RECORDS = ("event", "figure")


def _ranked(backend: "PostgreSQL | SQLite", query: Query, types: Sequence[str]) -> SQL:
    """``SELECT type, id, score, total`` of every scored match of ``types`` (``total``: how many there are). The
    events' and figures' matches are read once (a common table expression) when they also score their articles."""
    select = SQL("SELECT type, id, score, count(*) OVER () AS total FROM (")
    parts = {kind: backend.hits(kind, query, scored=True) for kind in types}
    if "article" not in parts:
        return select + _union(list(parts.values())) + SQL(") r")
    shared = [
        SQL(f"{kind}_hits AS (") + (parts.get(kind) or backend.hits(kind, query, scored=True)) + SQL(")")
        for kind in ARTICLE_RECORDS
    ]
    for kind in ARTICLE_RECORDS:
        if kind in parts:
            parts[kind] = SQL(f"SELECT type, id, score FROM {kind}_hits")
    records = _union(
        [
            SQL(f"SELECT x.article_id, h.score FROM {kind}_hits h JOIN {MODELS[kind]._meta.db_table} x ON x.id = h.id")
            for kind in ARTICLE_RECORDS
        ]
    )
    best = SQL("SELECT b.article_id, max(b.score) AS best FROM (") + records + SQL(") b GROUP BY b.article_id")
    parts["article"] = (
        SQL("SELECT a.type, a.id, a.score + coalesce(s.best, 0) AS score FROM (")
        + parts["article"]
        + SQL(") a LEFT JOIN (")
        + best
        + SQL(") s ON s.article_id = a.id")
    )
    with_ = SQL("WITH ")
    for i, part in enumerate(shared):
        with_ += (SQL(", ") if i else SQL("")) + part
    return with_ + SQL(" ") + select + _union(list(parts.values())) + SQL(") r")


def search(text: str, *, types: Sequence[str] = TYPES, limit: int = 50, offset: int = 0) -> Page:
    """Records of ``types`` that match ``text``, best first (ties by type, then id), from ``offset``.

    Each result is ``{type, id, slug, title, snippet, score}`` (``slug`` is None for events and figures). Costs
    one query for the page (which counts the matches it ranks), one for its snippets, one more to count only when
    a type has more matches than it ranks (and fewer than ``COUNT_CAP``, where counting stops) or the page is past
    the last match, and on SQLite one per named type to read the names for the fuzzy match.
    """
    query = parse(text)
    if query.empty:
        return Page([], 0, True, False)
    # Where the lists read (the router may send reads to a replica).
    backend = _backend(connections[router.db_for_read(Article)])
    types = [kind for kind in TYPES if kind in types]
    page = _ranked(backend, query, types) + SQL(" ORDER BY score DESC, type, id LIMIT %s OFFSET %s")
    page.params += [limit + 1, offset]
    rows = _fetch(backend, page)
    has_next = len(rows) > limit
    # Every match is ranked (and so counted with the page) unless a type has more than RANK_LIMIT of them.
    ranked = rows[0][3] if rows else 0
    rows = [row[:3] for row in rows[:limit]]
    if not has_next and (rows or not offset) and offset + len(rows) < RANK_LIMIT:
        count, exact = offset + len(rows), True
    elif rows and ranked > COUNT_CAP:  # there are at least as many matches as ranked ones
        count, exact = max(COUNT_CAP, offset + len(rows) + 1), False
    elif rows and ranked < RANK_LIMIT:  # no type reached the limit: every match is ranked
        count, exact = ranked, True
    else:
        unscored = _union([backend.hits(kind, query, scored=False) for kind in types])
        counted = SQL("SELECT count(*) FROM (SELECT 1 FROM (") + unscored + SQL(") u LIMIT %s) c", [COUNT_CAP + 1])
        count = _fetch(backend, counted)[0][0]
        count, exact = (count, True) if count <= COUNT_CAP else (max(COUNT_CAP, offset + len(rows) + 1), False)
    return Page(_results(backend, query, rows), count, exact, has_next)


def _fetch(backend: "PostgreSQL | SQLite", sql: SQL) -> list[tuple]:
    with backend.connection.cursor() as cursor:
        cursor.execute(sql.sql, sql.params)
        return cursor.fetchall()


def _results(backend: PostgreSQL | SQLite, query: Query, rows: list[tuple]) -> list[dict]:
    ids: dict[str, list[int]] = {}
    for kind, pk, _ in rows:
        ids.setdefault(kind, []).append(pk)
    if not ids:
        return []
    details = {
        (kind, pk): (slug, title, snippet, aliases)
        for kind, pk, slug, title, snippet, aliases in _fetch(
            backend, _union([backend.details(kind, kind_ids, query) for kind, kind_ids in ids.items()])
        )
    }
    results = []
    for kind, pk, score in rows:
        slug, title, snippet, aliases = details[(kind, pk)]
        snippet = snippet_html(snippet or "")
        if kind in NAMED and "<mark>" not in snippet and query.name:
            snippet = _mark_name(snippet, [title, *(aliases.split("\x1f") if aliases else [])], query)
        results.append(
            {"type": kind, "id": pk, "slug": slug, "title": title, "snippet": snippet, "score": round(score, 6)}
        )
    return results


def snippet_html(text: str) -> str:
    """A database's snippet as HTML: escaped, white space collapsed, the marked words in ``<mark>``."""
    escaped = html.escape(" ".join(text.split()))
    return escaped.replace(MARK_START, "<mark>").replace(MARK_END, "</mark>")


def _mark_name(snippet: str, names: list[str], query: Query) -> str:
    """A record found by a misspelt name: mark the name or alias it was found by."""
    best = max(names, key=lambda name: fuzzy_score(query.name, name))
    shown = html.escape(best)
    if shown in snippet:
        return snippet.replace(shown, f"<mark>{shown}</mark>", 1)
    return f"<mark>{shown}</mark> · {snippet}"
