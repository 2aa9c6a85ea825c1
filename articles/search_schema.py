"""The database objects full-text search reads, kept current by the database itself (never by application code).

``articles/search.py`` queries them; migration ``0007_search`` creates them with ``install`` and drops them with
``uninstall``. Each backend indexes the same text of each record:

=========  ====================================================================================================
article    title (weight A), body (C; its first ``BODY_LIMIT`` characters)
event      title (A), summary (B), quote (C)
figure     subject (A), its company's name (A), metric, as-reported words and period label (B), quote (C)
company    name and aliases (A), slug (B), description (C)
person     name and aliases (A), slug and title (B), description (C)
=========  ====================================================================================================

Typographic quotes and apostrophes (’ ‘ “ ”) are indexed as the plain ones (' and "), as queries are
(``search.normalise``), so ``china's`` and ``china’s`` find the same records.

- **PostgreSQL**: a ``search_document tsvector`` column on each of the five tables, written by ``BEFORE INSERT``
  and ``BEFORE UPDATE`` triggers (only when an indexed column changed), with a GIN index each. The text search
  configuration ``newsdb_search`` is English (stemming, stop words) with ``unaccent`` before stemming. A figure
  shows its company's name, and a company or person its aliases, so renaming a company rewrites its figures'
  documents and an alias change rewrites its owner's (``AFTER`` triggers). Trigram (``pg_trgm``) GIN indexes on
  ``newsdb_name_key(name)`` of companies, people and aliases serve the fuzzy name match ("Bitman" finds
  Bitmain); ``newsdb_name_key`` is an ``IMMUTABLE`` wrapper around ``unaccent`` and ``lower``.
- **SQLite**: one FTS5 table per type (``articles_article_fts`` ...: the same columns, the row's id as rowid,
  Porter stemming, diacritics removed) kept current by ``AFTER INSERT/UPDATE/DELETE`` triggers, with the same
  cross-table triggers. SQLite cannot alter a table that another table's trigger refers to (Django rebuilds a
  table to alter it, and the rename that ends the rebuild fails), so the triggers live between migrations: a
  ``migrate`` that applies anything drops them first (``sqlite_triggers_drop``) and every ``migrate`` ends by
  creating the missing ones and re-indexing (``sqlite_triggers_install``; both run from ``apps.py``).

Changing what is indexed needs a new migration that calls ``uninstall`` and ``install`` again.
"""

from django.db.backends.base.base import BaseDatabaseWrapper

#: Only the start of a very long body is indexed: a tsvector holds at most 1 MB, and positions stop at 16,383.
BODY_LIMIT = 500_000

# --------------------------------------------------------------------------------------------------- PostgreSQL

PG_TABLES = ("articles_article", "articles_event", "articles_figure", "articles_company", "articles_person")
PG_TRIGRAM_INDEXES = {
    "articles_company_name_trgm": "articles_company",
    "articles_person_name_trgm": "articles_person",
    "articles_alias_name_trgm": "articles_alias",
}


def _pg_schemas(cursor) -> dict[str, str]:
    """The (quoted) schemas of newsdb's tables and of the two extensions' objects."""
    cursor.execute(
        "SELECT quote_ident(current_schema()), "
        "(SELECT quote_ident(n.nspname) FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace "
        " WHERE e.extname = 'unaccent'), "
        "(SELECT quote_ident(n.nspname) FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace "
        " WHERE e.extname = 'pg_trgm')"
    )
    s, u, t = cursor.fetchone()
    return {"s": s, "u": u, "t": t}


def pg_search_normalize_sql(s: str) -> str:
    """The function that reads ’ ‘ “ ” as ' and " (migration 0018 puts in this version).

    Four ``replace`` calls, each a byte search that gives its text back untouched when the character is not there.
    ``translate``, the first version, compared every character of the text with the four: over 30,000 of the 100k
    synthetic set's bodies (1.5 KB each) 1.25 s against 0.40 s, 0.10 s of which is reading them, so 38 µs a body
    against 10 µs, when building an article's whole search document takes about 170 µs. Same result: each of the
    four characters becomes one plain one, nothing else changes."""
    return f"""CREATE OR REPLACE FUNCTION {s}.newsdb_search_normalize(value text) RETURNS text
            LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
            RETURN replace(replace(replace(replace(
                value, U&'\\2019', ''''), U&'\\2018', ''''), U&'\\201C', '"'), U&'\\201D', '"')"""


def _pg_install_sql(s: str, u: str, t: str) -> list[str]:
    """Every name is schema-qualified, so that the functions behave the same under any ``search_path`` (an index
    expression is evaluated with an empty one while ``pg_restore`` rebuilds it). Functions without table
    references use SQL-standard bodies, bound when created; the trigger functions are PL/pgSQL, resolved when
    they run, so a later migration may alter the tables they read."""
    words = f"{s}.newsdb_search_words"
    return [
        f"CREATE TEXT SEARCH CONFIGURATION {s}.newsdb_search (COPY = pg_catalog.english)",
        f"ALTER TEXT SEARCH CONFIGURATION {s}.newsdb_search "
        f"ALTER MAPPING FOR hword, hword_part, word WITH {u}.unaccent, english_stem",
        pg_search_normalize_sql(s),
        f"""CREATE FUNCTION {s}.newsdb_unaccent(value text) RETURNS text
            LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
            RETURN {u}.unaccent('{u}.unaccent'::regdictionary, value)""",
        # What the trigram indexes and the fuzzy name match compare: "Bitmain’s Café" -> "bitmain's cafe".
        f"""CREATE FUNCTION {s}.newsdb_name_key(value text) RETURNS text
            LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
            RETURN lower({s}.newsdb_unaccent({s}.newsdb_search_normalize(value)))""",
        f"""CREATE FUNCTION {s}.newsdb_search_words(value text, weight "char") RETURNS tsvector
            LANGUAGE sql IMMUTABLE PARALLEL SAFE
            RETURN setweight(
                to_tsvector('{s}.newsdb_search'::regconfig, {s}.newsdb_search_normalize(coalesce(value, ''))), weight
            )""",
        f"""CREATE FUNCTION {s}.newsdb_article_document(title text, body text) RETURNS tsvector
            LANGUAGE sql IMMUTABLE PARALLEL SAFE
            RETURN {words}(title, 'A') || {words}(left(body, {BODY_LIMIT}), 'C')""",
        f"""CREATE FUNCTION {s}.newsdb_event_document(title text, summary text, quote text) RETURNS tsvector
            LANGUAGE sql IMMUTABLE PARALLEL SAFE
            RETURN {words}(title, 'A') || {words}(summary, 'B') || {words}(quote, 'C')""",
        f"""CREATE FUNCTION {s}.newsdb_figure_document(
                subject text, company text, metric text, as_reported text, period_label text, quote text
            ) RETURNS tsvector
            LANGUAGE sql IMMUTABLE PARALLEL SAFE
            RETURN {words}(subject, 'A') || {words}(company, 'A')
                || {words}(concat_ws(' ', replace(metric, '_', ' '), as_reported, period_label), 'B')
                || {words}(quote, 'C')""",
        f"""CREATE FUNCTION {s}.newsdb_company_document(name text, aliases text, slug text, description text)
            RETURNS tsvector LANGUAGE sql IMMUTABLE PARALLEL SAFE
            RETURN {words}(name, 'A') || {words}(aliases, 'A') || {words}(slug, 'B') || {words}(description, 'C')""",
        f"""CREATE FUNCTION {s}.newsdb_person_document(
                name text, aliases text, slug text, title text, description text
            ) RETURNS tsvector LANGUAGE sql IMMUTABLE PARALLEL SAFE
            RETURN {words}(name, 'A') || {words}(aliases, 'A') || {words}(concat_ws(' ', slug, title), 'B')
                || {words}(description, 'C')""",
        f"""CREATE FUNCTION {s}.newsdb_aliases(company bigint, person bigint) RETURNS text
            LANGUAGE sql STABLE AS $$
            SELECT string_agg(name, ', ' ORDER BY name, id) FROM {s}.articles_alias
            WHERE company_id = company OR person_id = person $$""",
        # One function per table, for its BEFORE INSERT and BEFORE UPDATE triggers.
        f"""CREATE FUNCTION {s}.newsdb_article_search() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                NEW.search_document := {s}.newsdb_article_document(NEW.title, NEW.body);
                RETURN NEW;
            END $$""",
        f"""CREATE FUNCTION {s}.newsdb_event_search() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                NEW.search_document := {s}.newsdb_event_document(NEW.title, NEW.summary, NEW.quote);
                RETURN NEW;
            END $$""",
        pg_figure_search_sql(s),
        f"""CREATE FUNCTION {s}.newsdb_company_search() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                NEW.search_document := {s}.newsdb_company_document(
                    NEW.name, {s}.newsdb_aliases(NEW.id, NULL), NEW.slug, NEW.description);
                RETURN NEW;
            END $$""",
        f"""CREATE FUNCTION {s}.newsdb_person_search() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                NEW.search_document := {s}.newsdb_person_document(
                    NEW.name, {s}.newsdb_aliases(NULL, NEW.id), NEW.slug, NEW.title, NEW.description);
                RETURN NEW;
            END $$""",
        # A renamed company: its figures show the new name.
        f"""CREATE FUNCTION {s}.newsdb_company_renamed() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                UPDATE {s}.articles_figure f SET search_document = {s}.newsdb_figure_document(
                    f.subject, NEW.name, f.metric, f.as_reported, f.period_label, f.quote)
                WHERE f.company_id = NEW.id;
                RETURN NULL;
            END $$""",
        # An alias added, changed, moved (a merge) or deleted: its owners' documents list their aliases again.
        f"""CREATE FUNCTION {s}.newsdb_alias_changed() RETURNS trigger LANGUAGE plpgsql AS $$
            DECLARE companies bigint[] := '{{}}'; people bigint[] := '{{}}';
            BEGIN
                IF TG_OP <> 'INSERT' THEN
                    companies := companies || OLD.company_id; people := people || OLD.person_id;
                END IF;
                IF TG_OP <> 'DELETE' THEN
                    companies := companies || NEW.company_id; people := people || NEW.person_id;
                END IF;
                UPDATE {s}.articles_company c SET search_document = {s}.newsdb_company_document(
                    c.name, {s}.newsdb_aliases(c.id, NULL), c.slug, c.description)
                WHERE c.id = ANY(companies);
                UPDATE {s}.articles_person p SET search_document = {s}.newsdb_person_document(
                    p.name, {s}.newsdb_aliases(NULL, p.id), p.slug, p.title, p.description)
                WHERE p.id = ANY(people);
                RETURN NULL;
            END $$""",
        # Fill the columns for the rows that exist, then keep them current.
        f"ALTER TABLE {s}.articles_article ADD COLUMN search_document tsvector",
        f"ALTER TABLE {s}.articles_event ADD COLUMN search_document tsvector",
        f"ALTER TABLE {s}.articles_figure ADD COLUMN search_document tsvector",
        f"ALTER TABLE {s}.articles_company ADD COLUMN search_document tsvector",
        f"ALTER TABLE {s}.articles_person ADD COLUMN search_document tsvector",
        f"UPDATE {s}.articles_article SET search_document = {s}.newsdb_article_document(title, body)",
        f"UPDATE {s}.articles_event SET search_document = {s}.newsdb_event_document(title, summary, quote)",
        f"""UPDATE {s}.articles_figure f SET search_document = {s}.newsdb_figure_document(
                f.subject, (SELECT c.name FROM {s}.articles_company c WHERE c.id = f.company_id),
                f.metric, f.as_reported, f.period_label, f.quote)""",
        f"""UPDATE {s}.articles_company SET search_document = {s}.newsdb_company_document(
                name, {s}.newsdb_aliases(id, NULL), slug, description)""",
        f"""UPDATE {s}.articles_person SET search_document = {s}.newsdb_person_document(
                name, {s}.newsdb_aliases(NULL, id), slug, title, description)""",
        *_pg_triggers(s),
        *(f"CREATE INDEX {table}_search ON {s}.{table} USING gin (search_document)" for table in PG_TABLES),
        *(
            f"CREATE INDEX {index} ON {s}.{table} USING gin ({s}.newsdb_name_key(name) {t}.gin_trgm_ops)"
            for index, table in PG_TRIGRAM_INDEXES.items()
        ),
    ]


def pg_figure_search_sql(s: str) -> str:
    """The figures' trigger function (migration 0017 replaces the first version with this one).

    The company's name is read into a variable first. Passed as a sub-select straight into
    ``newsdb_figure_document``, it kept PostgreSQL from inlining that SQL function (and the ``newsdb_search_words``
    calls inside it), which then ran as SQL functions call by call: a ``COPY`` of 200,000 figures took 16.2 s
    instead of 4.6 s (1.0 s without the trigger)."""
    return f"""CREATE OR REPLACE FUNCTION {s}.newsdb_figure_search() RETURNS trigger LANGUAGE plpgsql AS $$
            DECLARE company_name text;
            BEGIN
                IF NEW.company_id IS NOT NULL THEN
                    SELECT c.name INTO company_name FROM {s}.articles_company c WHERE c.id = NEW.company_id;
                END IF;
                NEW.search_document := {s}.newsdb_figure_document(
                    NEW.subject, company_name, NEW.metric, NEW.as_reported, NEW.period_label, NEW.quote);
                RETURN NEW;
            END $$"""


def _pg_triggers(s: str) -> list[str]:
    changed = {
        "articles_article": ("newsdb_article_search", ("title", "body")),
        "articles_event": ("newsdb_event_search", ("title", "summary", "quote")),
        "articles_figure": (
            "newsdb_figure_search",
            ("subject", "company_id", "metric", "as_reported", "period_label", "quote"),
        ),
        "articles_company": ("newsdb_company_search", ("name", "slug", "description")),
        "articles_person": ("newsdb_person_search", ("name", "slug", "title", "description")),
    }
    statements = []
    for table, (function, columns) in changed.items():
        differs = " OR ".join(f"OLD.{c} IS DISTINCT FROM NEW.{c}" for c in columns)
        statements += [
            f"CREATE TRIGGER {table}_search_insert BEFORE INSERT ON {s}.{table} "
            f"FOR EACH ROW EXECUTE FUNCTION {s}.{function}()",
            f"CREATE TRIGGER {table}_search_update BEFORE UPDATE ON {s}.{table} "
            f"FOR EACH ROW WHEN ({differs}) EXECUTE FUNCTION {s}.{function}()",
        ]
    statements += [
        f"CREATE TRIGGER articles_company_search_renamed AFTER UPDATE ON {s}.articles_company "
        f"FOR EACH ROW WHEN (OLD.name IS DISTINCT FROM NEW.name) EXECUTE FUNCTION {s}.newsdb_company_renamed()",
        f"CREATE TRIGGER articles_alias_search AFTER INSERT OR UPDATE OR DELETE ON {s}.articles_alias "
        f"FOR EACH ROW EXECUTE FUNCTION {s}.newsdb_alias_changed()",
    ]
    return statements


def _pg_uninstall_sql(s: str) -> list[str]:
    triggers = [(f"{table}_search_{when}", table) for table in PG_TABLES for when in ("insert", "update")]
    triggers += [("articles_company_search_renamed", "articles_company"), ("articles_alias_search", "articles_alias")]
    functions = [
        "newsdb_alias_changed()",
        "newsdb_company_renamed()",
        *(f"newsdb_{name}_search()" for name in ("article", "event", "figure", "company", "person")),
        "newsdb_aliases(bigint, bigint)",
        "newsdb_person_document(text, text, text, text, text)",
        "newsdb_company_document(text, text, text, text)",
        "newsdb_figure_document(text, text, text, text, text, text)",
        "newsdb_event_document(text, text, text)",
        "newsdb_article_document(text, text)",
        'newsdb_search_words(text, "char")',
        "newsdb_name_key(text)",
        "newsdb_unaccent(text)",
        "newsdb_search_normalize(text)",
    ]
    return [
        *(f"DROP TRIGGER IF EXISTS {name} ON {s}.{table}" for name, table in triggers),
        *(f"DROP INDEX IF EXISTS {s}.{index}" for index in PG_TRIGRAM_INDEXES),
        *(f"DROP INDEX IF EXISTS {s}.{table}_search" for table in PG_TABLES),
        *(f"ALTER TABLE {s}.{table} DROP COLUMN IF EXISTS search_document" for table in PG_TABLES),
        *(f"DROP FUNCTION IF EXISTS {s}.{function}" for function in functions),
        f"DROP TEXT SEARCH CONFIGURATION IF EXISTS {s}.newsdb_search",
        # The unaccent and pg_trgm extensions stay: other objects (or another application) may use them, and
        # CREATE EXTENSION IF NOT EXISTS cannot tell whether this migration created them.
    ]


# ------------------------------------------------------------------------------------------------------- SQLite


def _normalised(expression: str) -> str:
    """SQL for ``expression`` with ’ ‘ “ ” as ' and ", and without the two private-use characters (U+E000, U+E001)
    that ``search`` marks matches with, so that no text can fake a mark."""
    apostrophe, quote, nothing = "''''", "'\"'", "''"
    for code, new in ((0x2019, apostrophe), (0x2018, apostrophe), (0x201C, quote), (0x201D, quote)):
        expression = f"replace({expression}, char({code}), {new})"
    for code in (0xE000, 0xE001):
        expression = f"replace({expression}, char({code}), {nothing})"
    return expression


def _n(expression: str) -> str:
    return _normalised(f"coalesce({expression}, '')")


def _aliases(owner: str, owner_id: str) -> str:
    return (
        f"(SELECT group_concat(name, ', ') FROM (SELECT name FROM articles_alias "
        f"WHERE {owner}_id = {owner_id} ORDER BY name, id))"
    )


#: Per type: the FTS5 table, the source table, its columns as SQL over the source row (``{row}``: ``new`` in a
#: trigger), the source columns whose change re-indexes the row, and the bm25 weight of each column (as
#: PostgreSQL's A, B and C weights).
SQLITE_INDEXES = {
    "article": (
        "articles_article_fts",
        "articles_article",
        {"title": "{row}.title", "body": f"substr({{row}}.body, 1, {BODY_LIMIT})"},
        ("title", "body"),
        (5.0, 1.0),
    ),
    "event": (
        "articles_event_fts",
        "articles_event",
        {"title": "{row}.title", "summary": "{row}.summary", "quote": "{row}.quote"},
        ("title", "summary", "quote"),
        (5.0, 2.0, 1.0),
    ),
    "figure": (
        "articles_figure_fts",
        "articles_figure",
        {
            "subject": "{row}.subject",
            "company": "(SELECT c.name FROM articles_company c WHERE c.id = {row}.company_id)",
            "details": "replace({row}.metric, '_', ' ') || ' ' || {row}.as_reported || ' ' || {row}.period_label",
            "quote": "{row}.quote",
        },
        ("subject", "company_id", "metric", "as_reported", "period_label", "quote"),
        (5.0, 5.0, 2.0, 1.0),
    ),
    "company": (
        "articles_company_fts",
        "articles_company",
        {
            "name": "{row}.name",
            "aliases": _aliases("company", "{row}.id"),
            "slug": "{row}.slug",
            "description": "{row}.description",
        },
        ("name", "slug", "description"),
        (5.0, 5.0, 2.0, 1.0),
    ),
    "person": (
        "articles_person_fts",
        "articles_person",
        {
            "name": "{row}.name",
            "aliases": _aliases("person", "{row}.id"),
            "slug": "{row}.slug",
            "title": "{row}.title",
            "description": "{row}.description",
        },
        ("name", "slug", "title", "description"),
        (5.0, 5.0, 2.0, 2.0, 1.0),
    ),
}
SQLITE_TOKENIZER = "porter unicode61 remove_diacritics 2"


def _sqlite_row(kind: str, row: str) -> tuple[str, str]:
    """``(column list, values)`` that index the source row named ``row``."""
    _, _, columns, _, _ = SQLITE_INDEXES[kind]
    names = ", ".join(["rowid", *columns])
    values = ", ".join([f"{row}.id", *(_n(sql.format(row=row)) for sql in columns.values())])
    return names, values


def sqlite_triggers() -> dict[str, str]:
    """``{trigger name: CREATE TRIGGER statement}``."""
    triggers = {}
    for kind, (fts, table, _, watched, _) in SQLITE_INDEXES.items():
        names, values = _sqlite_row(kind, "new")
        differs = " OR ".join(f"old.{c} IS NOT new.{c}" for c in watched)
        triggers[f"{fts}_insert"] = (
            f"CREATE TRIGGER {fts}_insert AFTER INSERT ON {table} BEGIN "
            f"INSERT INTO {fts}({names}) VALUES ({values}); END"
        )
        triggers[f"{fts}_update"] = (
            f"CREATE TRIGGER {fts}_update AFTER UPDATE ON {table} WHEN {differs} BEGIN "
            f"DELETE FROM {fts} WHERE rowid = old.id; INSERT INTO {fts}({names}) VALUES ({values}); END"
        )
        triggers[f"{fts}_delete"] = (
            f"CREATE TRIGGER {fts}_delete AFTER DELETE ON {table} BEGIN DELETE FROM {fts} WHERE rowid = old.id; END"
        )
    # A renamed company: its figures show the new name.
    triggers["articles_figure_fts_company_renamed"] = (
        "CREATE TRIGGER articles_figure_fts_company_renamed AFTER UPDATE ON articles_company "
        "WHEN old.name IS NOT new.name BEGIN "
        f"UPDATE articles_figure_fts SET company = {_n('new.name')} "
        "WHERE rowid IN (SELECT id FROM articles_figure WHERE company_id = new.id); END"
    )
    # An alias added, changed, moved (a merge) or deleted: its owners list their aliases again.
    refresh = {
        row: (
            f"UPDATE articles_company_fts SET aliases = {_n(_aliases('company', f'{row}.company_id'))} "
            f"WHERE rowid = {row}.company_id; "
            f"UPDATE articles_person_fts SET aliases = {_n(_aliases('person', f'{row}.person_id'))} "
            f"WHERE rowid = {row}.person_id;"
        )
        for row in ("old", "new")
    }
    triggers["articles_alias_fts_insert"] = (
        f"CREATE TRIGGER articles_alias_fts_insert AFTER INSERT ON articles_alias BEGIN {refresh['new']} END"
    )
    triggers["articles_alias_fts_update"] = (
        f"CREATE TRIGGER articles_alias_fts_update AFTER UPDATE ON articles_alias BEGIN {refresh['old']} "
        f"{refresh['new']} END"
    )
    triggers["articles_alias_fts_delete"] = (
        f"CREATE TRIGGER articles_alias_fts_delete AFTER DELETE ON articles_alias BEGIN {refresh['old']} END"
    )
    return triggers


def _sqlite_fill(kind: str) -> list[str]:
    fts, table, _, _, _ = SQLITE_INDEXES[kind]
    names, values = _sqlite_row(kind, "r")
    return [f"DELETE FROM {fts}", f"INSERT INTO {fts}({names}) SELECT {values} FROM {table} r"]


def _sqlite_install_sql() -> list[str]:
    # The triggers come after the migrations (``sqlite_triggers_install``), which index the rows.
    return [
        f"CREATE VIRTUAL TABLE {fts} USING fts5({', '.join(columns)}, tokenize = '{SQLITE_TOKENIZER}')"
        for fts, _, columns, _, _ in SQLITE_INDEXES.values()
    ]


def _sqlite_uninstall_sql() -> list[str]:
    return [
        *(f"DROP TRIGGER IF EXISTS {name}" for name in sqlite_triggers()),
        *(f"DROP TABLE IF EXISTS {fts}" for fts, *_ in SQLITE_INDEXES.values()),
    ]


# ---------------------------------------------------------------------------------------------- entry points


def install(connection: BaseDatabaseWrapper) -> None:
    """Create the search objects and index the rows that exist (migration 0007; SQLite's triggers and its index
    come after the migrations, from ``sqlite_triggers_install``)."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("CREATE EXTENSION IF NOT EXISTS unaccent")
            cursor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
            statements = _pg_install_sql(**_pg_schemas(cursor))
        elif connection.vendor == "sqlite":
            statements = _sqlite_install_sql()
        else:
            raise NotImplementedError(f"Full-text search supports PostgreSQL and SQLite, not {connection.vendor}.")
        for statement in statements:
            cursor.execute(statement)


def uninstall(connection: BaseDatabaseWrapper) -> None:
    """Drop every object ``install`` created (the migration's reverse)."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            statements = _pg_uninstall_sql(_pg_schemas(cursor)["s"])
        elif connection.vendor == "sqlite":
            statements = _sqlite_uninstall_sql()
        else:
            return
        for statement in statements:
            cursor.execute(statement)


def pg_figure_search_replace(connection: BaseDatabaseWrapper) -> None:
    """PostgreSQL: put in the current figures' trigger function (migration 0017); the documents stay as they are."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(pg_figure_search_sql(_pg_schemas(cursor)["s"]))


def pg_alias_trigger_switch(connection: BaseDatabaseWrapper, *, on: bool) -> None:
    """PostgreSQL: switch the aliases' trigger off (or on again) in this transaction. The streamed first load copies
    each owner's aliases just before the owner, whose own trigger then reads them all; the aliases' trigger would
    write the owner's document again for every alias."""
    with connection.cursor() as cursor:
        action = "ENABLE" if on else "DISABLE"
        cursor.execute(f"ALTER TABLE {_pg_schemas(cursor)['s']}.articles_alias {action} TRIGGER articles_alias_search")


def pg_figures_reindex(connection: BaseDatabaseWrapper, company_ids: list[int] | None = None) -> int:
    """PostgreSQL: write again every figure's search document (of the companies ``company_ids`` only, when given) that
    differs from what its trigger writes now; returns how many. The streamed first load runs it for the figures it
    copied before their company; migration 0017 for every figure, since a streamed first load before it wrote those
    without the company's name (every figure of an archive laid out like ``fixtures/``)."""
    if connection.vendor != "postgresql":
        return 0
    with connection.cursor() as cursor:
        s = _pg_schemas(cursor)["s"]
        only = "" if company_ids is None else "WHERE f2.company_id = ANY(%s)"
        cursor.execute(
            f"""UPDATE {s}.articles_figure f SET search_document = d.document
                FROM (SELECT f2.id, {s}.newsdb_figure_document(f2.subject, c.name, f2.metric, f2.as_reported,
                                                               f2.period_label, f2.quote) AS document
                      FROM {s}.articles_figure f2 LEFT JOIN {s}.articles_company c ON c.id = f2.company_id
                      {only}) AS d
                WHERE d.id = f.id AND f.search_document IS DISTINCT FROM d.document""",
            [] if company_ids is None else [company_ids],
        )
        return cursor.rowcount


def sqlite_present(cursor) -> set[str]:
    """The names of SQLite's tables and triggers."""
    cursor.execute("SELECT name FROM sqlite_master WHERE type IN ('table', 'trigger')")
    return {name for (name,) in cursor.fetchall()}


def sqlite_triggers_drop(connection: BaseDatabaseWrapper) -> list[str]:
    """SQLite, before ``migrate`` applies anything (``apps.py``): drop the search triggers, and return their names.

    Django alters a SQLite table by rebuilding it (create a copy, drop the table, rename the copy), and SQLite
    refuses that rename while a trigger of another table refers to the table (the figures' index names the
    company, a company's its aliases). ``sqlite_triggers_install`` puts them back after the migrations."""
    if connection.vendor != "sqlite":
        return []
    with connection.cursor() as cursor:
        dropped = sorted(name for name in sqlite_triggers() if name in sqlite_present(cursor))
        for name in dropped:
            cursor.execute(f"DROP TRIGGER {name}")
    return dropped


def sqlite_triggers_install(connection: BaseDatabaseWrapper) -> list[str]:
    """SQLite, after ``migrate`` (``apps.py``): create the search triggers that are missing and, when one was,
    index every row again (rows may have been written without it). Returns the names of the triggers it created;
    does nothing before migration 0007 made the index tables, or on PostgreSQL (whose triggers stay: it alters
    tables in place)."""
    if connection.vendor != "sqlite":
        return []
    with connection.cursor() as cursor:
        present = sqlite_present(cursor)
        if not all(fts in present for fts, *_ in SQLITE_INDEXES.values()):
            return []
        missing = {name: sql for name, sql in sqlite_triggers().items() if name not in present}
        if not missing:
            return []
        for sql in missing.values():
            cursor.execute(sql)
        for kind in SQLITE_INDEXES:
            for statement in _sqlite_fill(kind):
                cursor.execute(statement)
    return sorted(missing)
