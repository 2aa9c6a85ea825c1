"""How many articles, events and figures involve each company and person, stored and kept by the database itself.

The lists of companies and people show and sort by these counts. Counted per request, they cost three subqueries
per row, each as long as the company's history (a company named in 40,000 articles costs 40,000 index entries on
every page that shows it); stored, a page reads one row per company. Two tables hold them:

- ``articles_company_counts`` (``company_id``, ``article_count``, ``event_count``, ``figure_count``);
- ``articles_person_counts`` (``person_id``, ``article_count``, ``event_count``).

What they count is what the lists always counted: the articles that mention the company (or person), the events it
takes part in (in any role, each event once) and the figures about it, proposals (``choices.PROPOSAL_STATUSES``)
left out. They are written only by ``AFTER`` row triggers on the tables they count, never by Django, so every
writer keeps them right: the services, the admin, the loader, a merge, a cascade, raw SQL. Each trigger adds or
takes one; a company's (or person's) row is made, counted from scratch, when it is inserted, so the order rows
arrive in within a transaction (foreign keys are checked at commit) does not matter: a participation whose event is
not there yet counts when the event arrives, and an event deleted before its participants uncounts them.

Both tables are unmanaged models (``models.CompanyCounts``): no ``dumpdata`` carries them, so ``loaddata`` never
writes them twice. The SQL of every trigger is the same on PostgreSQL and SQLite (PostgreSQL wraps each in a
PL/pgSQL function). As with the search triggers (``search_schema``), SQLite's live between migrations: a
``migrate`` that applies anything drops them first and every ``migrate`` ends by creating the missing ones and
counting again (``sqlite_triggers_drop``, ``sqlite_triggers_install``, from ``apps.py``). The streamed first load
(``services.fixtures.first_load``) switches PostgreSQL's triggers off while it copies and counts once at its end
(``pg_triggers_switch``, ``recount``). ``recount`` (and ``manage.py recount``) also repairs the tables, should
anything ever bypass them; on PostgreSQL a ``TRUNCATE`` of a counted table, which fires no row trigger, counts
again by itself.

Concurrency (PostgreSQL): whether an event counts for a company depends on the company's other participations in
it, which another transaction may be adding or removing unseen; so each participation's trigger first locks its
event (``FOR NO KEY UPDATE``), and the second writer counts once the first has committed
(``tests/test_stored_counts.py`` interleaves two). A counts row is updated in place, so writers touching the same
company wait for each other until commit; two that touch two companies in opposite orders can deadlock, and
PostgreSQL then cancels one, which newsdb answers 503 with Retry-After (nothing of it is written).

A third table, ``articles_company_event`` (``models.CompanyEvent``), serves ``/api/events/?company=X``, kept by
triggers of its own beside the counts' (the participations' ones take the same event lock): one row per company and
event it takes part in (any role, any status), with the event's date, indexed as ``(company_id, date, event_id)``.
The list joins it on the event and its date, so that PostgreSQL reads a company's events in the list's order (date,
id) from that index and stops after a page, instead of fetching every event of the company to sort them (600 at
100k articles; a company in a real archive may have thousands). ``recount`` rebuilds it too.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from django.db.backends.base.base import BaseDatabaseWrapper

from .choices import PROPOSAL_STATUSES
from .search_schema import sqlite_present

COMPANY_COUNTS = "articles_company_counts"
PERSON_COUNTS = "articles_person_counts"
COMPANY_EVENTS = "articles_company_event"
PROPOSALS = "(" + ", ".join(f"'{status}'" for status in sorted(PROPOSAL_STATUSES)) + ")"


@dataclass(frozen=True)
class Owner:
    """Companies or people: the table counted for, its counts table, and where each of its counts comes from."""

    table: str
    counts: str
    column: str  # the owner's column in the tables that point at it
    mentions: str  # the many-to-many table of the articles that mention it
    figures: bool  # companies only: figures name a company


OWNERS = (
    Owner("articles_company", COMPANY_COUNTS, "company_id", "articles_article_companies", True),
    Owner("articles_person", PERSON_COUNTS, "person_id", "articles_article_people", False),
)


def _columns(owner: Owner) -> tuple[str, ...]:
    return ("article_count", "event_count", "figure_count") if owner.figures else ("article_count", "event_count")


def _counted(owner: Owner, id_sql: str) -> list[str]:
    """Each count of the owner whose id is ``id_sql``, from scratch, as a scalar subquery."""
    counted = [
        f"(SELECT COUNT(*) FROM {owner.mentions} m WHERE m.{owner.column} = {id_sql})",
        f"(SELECT COUNT(DISTINCT p.event_id) FROM articles_eventparticipant p JOIN articles_event e "
        f"ON e.id = p.event_id WHERE p.{owner.column} = {id_sql} AND e.status NOT IN {PROPOSALS})",
    ]
    if owner.figures:
        counted.append(
            f"(SELECT COUNT(*) FROM articles_figure f WHERE f.company_id = {id_sql} AND f.status NOT IN {PROPOSALS})"
        )
    return counted


def _counted_all(owner: Owner) -> str:
    """Every owner's counts at once, as a ``SELECT`` of rows (id, counts...): what ``_counted`` gives for each owner,
    grouped once per table instead of looked up owner by owner. For the 100k synthetic set's 500 companies, 0.43 s
    instead of 2.63 s (the lookups each fetch their rows from the table: some 600,000 probes of the events)."""
    joins = [
        f"LEFT JOIN (SELECT m.{owner.column} AS id, COUNT(*) AS n FROM {owner.mentions} m "
        f"GROUP BY m.{owner.column}) AS mentioned ON mentioned.id = o.id",
        f"LEFT JOIN (SELECT p.{owner.column} AS id, COUNT(DISTINCT p.event_id) AS n "
        f"FROM articles_eventparticipant p JOIN articles_event e ON e.id = p.event_id "
        f"WHERE p.{owner.column} IS NOT NULL AND e.status NOT IN {PROPOSALS} "
        f"GROUP BY p.{owner.column}) AS took_part ON took_part.id = o.id",
    ]
    counts = ["COALESCE(mentioned.n, 0)", "COALESCE(took_part.n, 0)"]
    if owner.figures:
        joins.append(
            f"LEFT JOIN (SELECT f.company_id AS id, COUNT(*) AS n FROM articles_figure f "
            f"WHERE f.company_id IS NOT NULL AND f.status NOT IN {PROPOSALS} GROUP BY f.company_id) AS figured "
            "ON figured.id = o.id"
        )
        counts.append("COALESCE(figured.n, 0)")
    # ``WHERE true``: SQLite would read the ``ON CONFLICT`` of the upsert as a join's otherwise.
    return f"SELECT o.id, {', '.join(counts)} FROM {owner.table} o {' '.join(joins)} WHERE true"


def _upsert(owner: Owner, select: str) -> str:
    columns = _columns(owner)
    updates = ", ".join(f"{c} = excluded.{c}" for c in columns)
    return (
        f"INSERT INTO {owner.counts} ({owner.column}, {', '.join(columns)}) {select} "
        f"ON CONFLICT ({owner.column}) DO UPDATE SET {updates}"
    )


def _add(owner: Owner, column: str, step: str, owner_id: str, condition: str = "") -> str:
    where = f"{owner.column} = {owner_id}" + (f" AND {condition}" if condition else "")
    return f"UPDATE {owner.counts} SET {column} = {column} {step} 1 WHERE {where}"


def _event_counted(event_id: str) -> str:
    """The event exists and is a fact (an event not there yet, or gone, counts for nobody)."""
    return f"(SELECT status FROM articles_event WHERE id = {event_id}) NOT IN {PROPOSALS}"


@dataclass(frozen=True)
class Trigger:
    name: str
    table: str
    operation: str  # INSERT, UPDATE or DELETE
    statements: tuple[str, ...]
    when: str = ""  # a condition on OLD and NEW, in each dialect's spelling: {distinct} stands for IS DISTINCT FROM
    #: PostgreSQL only, before the statements: the row locks that serialize writers whose counts depend on each other
    #: (SQLite has one writer at a time).
    pg_locks: tuple[str, ...] = ()


def _row_triggers(
    name: str, table: str, plus: str, minus: str, moved: str, lock: Callable[[str], str] | None = None
) -> Iterator[Trigger]:
    """A row of ``table`` adds one (``plus``, on NEW) when inserted, takes one (``minus``, on OLD) when deleted,
    and does both when an update changes what it counts for (``moved``). ``lock(row)`` is the lock that row (NEW
    or OLD) takes first, on PostgreSQL."""

    def locks(*rows: str) -> tuple[str, ...]:
        return tuple(lock(row) for row in rows) if lock else ()

    yield Trigger(f"{name}_insert", table, "INSERT", (plus,), pg_locks=locks("NEW"))
    yield Trigger(f"{name}_delete", table, "DELETE", (minus,), pg_locks=locks("OLD"))
    yield Trigger(f"{name}_update", table, "UPDATE", (minus, plus), when=moved, pg_locks=locks("OLD", "NEW"))


def _event_lock(row: str) -> str:
    """Whether an event counts for a company depends on its other participations, which a concurrent transaction
    may be adding or removing unseen: each participation's trigger first locks its event (``FOR NO KEY UPDATE``,
    which foreign key checks do not wait for), so that the second writer waits for the first to commit and then,
    in its next statement's snapshot, sees its participation. The services lock the event anyway."""
    return f"PERFORM 1 FROM articles_event WHERE id = {row}.event_id FOR NO KEY UPDATE"


def _triggers() -> Iterator[Trigger]:
    for owner in OWNERS:
        # The owner's row, counted from scratch (zero for a new company; right whatever came before it).
        yield Trigger(
            f"{owner.counts}_owner_insert",
            owner.table,
            "INSERT",
            (_upsert(owner, f"VALUES (NEW.id, {', '.join(_counted(owner, 'NEW.id'))})"),),
        )
        yield Trigger(
            f"{owner.counts}_owner_delete",
            owner.table,
            "DELETE",
            (f"DELETE FROM {owner.counts} WHERE {owner.column} = OLD.id",),
        )
        # Articles that mention it.
        yield from _row_triggers(
            f"{owner.counts}_mention",
            owner.mentions,
            _add(owner, "article_count", "+", f"NEW.{owner.column}"),
            _add(owner, "article_count", "-", f"OLD.{owner.column}"),
            moved=f"OLD.{owner.column} {{distinct}} NEW.{owner.column}",
        )
        # Events it takes part in: a participation counts when it is the owner's first in a fact.
        first = (
            f"(SELECT COUNT(*) FROM articles_eventparticipant p WHERE p.event_id = NEW.event_id "
            f"AND p.{owner.column} = NEW.{owner.column}) = 1"
        )
        last = (
            f"NOT EXISTS (SELECT 1 FROM articles_eventparticipant p WHERE p.event_id = OLD.event_id "
            f"AND p.{owner.column} = OLD.{owner.column})"
        )
        added = _add(owner, "event_count", "+", f"NEW.{owner.column}", f"{_event_counted('NEW.event_id')} AND {first}")
        removed = _add(owner, "event_count", "-", f"OLD.{owner.column}", f"{_event_counted('OLD.event_id')} AND {last}")
        yield from _row_triggers(
            f"{owner.counts}_participant",
            "articles_eventparticipant",
            added,
            removed,
            moved=f"OLD.event_id {{distinct}} NEW.event_id OR OLD.{owner.column} {{distinct}} NEW.{owner.column}",
            lock=_event_lock,
        )
        # An event that becomes a fact or stops being one (or arrives after, or leaves before, its participants).
        takers = (
            f"{owner.column} IN (SELECT {owner.column} FROM articles_eventparticipant WHERE event_id = {{event}}.id)"
        )
        yield Trigger(
            f"{owner.counts}_event_insert",
            "articles_event",
            "INSERT",
            (
                f"UPDATE {owner.counts} SET event_count = event_count + 1 "
                f"WHERE {takers.format(event='NEW')} AND NEW.status NOT IN {PROPOSALS}",
            ),
        )
        yield Trigger(
            f"{owner.counts}_event_delete",
            "articles_event",
            "DELETE",
            (
                f"UPDATE {owner.counts} SET event_count = event_count - 1 "
                f"WHERE {takers.format(event='OLD')} AND OLD.status NOT IN {PROPOSALS}",
            ),
        )
        yield Trigger(
            f"{owner.counts}_event_status",
            "articles_event",
            "UPDATE",
            (
                f"UPDATE {owner.counts} SET event_count = event_count + 1 WHERE {takers.format(event='NEW')} "
                f"AND OLD.status IN {PROPOSALS} AND NEW.status NOT IN {PROPOSALS}",
                f"UPDATE {owner.counts} SET event_count = event_count - 1 WHERE {takers.format(event='NEW')} "
                f"AND OLD.status NOT IN {PROPOSALS} AND NEW.status IN {PROPOSALS}",
            ),
            when="OLD.status {distinct} NEW.status",
        )
        if owner.figures:
            # Figures about it.
            fact = f"{{row}}.status NOT IN {PROPOSALS}"
            plus = _add(owner, "figure_count", "+", "NEW.company_id", fact.format(row="NEW"))
            minus = _add(owner, "figure_count", "-", "OLD.company_id", fact.format(row="OLD"))
            yield from _row_triggers(
                f"{owner.counts}_figure",
                "articles_figure",
                plus,
                minus,
                moved="OLD.company_id {distinct} NEW.company_id OR OLD.status {distinct} NEW.status",
            )


def _company_event_triggers() -> Iterator[Trigger]:
    """``articles_company_event``: a row for each company and event it takes part in, carrying the event's date."""
    add = (
        f"INSERT INTO {COMPANY_EVENTS} (event_id, company_id, date) SELECT e.id, NEW.company_id, e.date "
        f"FROM articles_event e WHERE e.id = NEW.event_id AND NEW.company_id IS NOT NULL "
        f"ON CONFLICT (event_id, company_id) DO NOTHING"
    )
    # The company's last participation in the event (another role keeps the row).
    remove = (
        f"DELETE FROM {COMPANY_EVENTS} WHERE event_id = OLD.event_id AND company_id = OLD.company_id "
        f"AND NOT EXISTS (SELECT 1 FROM articles_eventparticipant p WHERE p.event_id = OLD.event_id "
        f"AND p.company_id = OLD.company_id)"
    )
    yield from _row_triggers(
        "company_event_participant",
        "articles_eventparticipant",
        add,
        remove,
        moved="OLD.event_id {distinct} NEW.event_id OR OLD.company_id {distinct} NEW.company_id",
        lock=_event_lock,
    )
    # An event that arrives after its participants, leaves before them, or moves to another date.
    yield Trigger(
        "company_event_event_insert",
        "articles_event",
        "INSERT",
        (
            f"INSERT INTO {COMPANY_EVENTS} (event_id, company_id, date) SELECT DISTINCT NEW.id, p.company_id, "
            f"NEW.date FROM articles_eventparticipant p WHERE p.event_id = NEW.id AND p.company_id IS NOT NULL "
            f"ON CONFLICT (event_id, company_id) DO NOTHING",
        ),
    )
    yield Trigger(
        "company_event_event_delete",
        "articles_event",
        "DELETE",
        (f"DELETE FROM {COMPANY_EVENTS} WHERE event_id = OLD.id",),
    )
    yield Trigger(
        "company_event_event_date",
        "articles_event",
        "UPDATE",
        (f"UPDATE {COMPANY_EVENTS} SET date = NEW.date WHERE event_id = NEW.id",),
        when="OLD.date {distinct} NEW.date",
    )


TRIGGERS = (*_triggers(), *_company_event_triggers())

#: What ``articles_company_event`` holds, from scratch.
COMPANY_EVENTS_COUNTED = (
    "SELECT DISTINCT p.event_id, p.company_id, e.date FROM articles_eventparticipant p "
    "JOIN articles_event e ON e.id = p.event_id WHERE p.company_id IS NOT NULL"
)


def _table_sql(owner: Owner) -> str:
    counts = ", ".join(f"{c} integer NOT NULL DEFAULT 0" for c in _columns(owner))
    return f"CREATE TABLE {owner.counts} ({owner.column} bigint NOT NULL PRIMARY KEY, {counts})"


def _company_events_table_sql() -> list[str]:
    return [
        f"CREATE TABLE {COMPANY_EVENTS} (event_id bigint NOT NULL, company_id bigint NOT NULL, date date NOT NULL, "
        "PRIMARY KEY (event_id, company_id))",
        # GET /api/events/?company=X, in the default order (date, id) or its reverse.
        f"CREATE INDEX company_event_order ON {COMPANY_EVENTS} (company_id, date, event_id)",
    ]


def _pg_trigger_sql(trigger: Trigger) -> list[str]:
    function = f"newsdb_{trigger.name}"
    body = "; ".join((*trigger.pg_locks, *trigger.statements))
    when = f" WHEN ({trigger.when.format(distinct='IS DISTINCT FROM')})" if trigger.when else ""
    return [
        f"CREATE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN {body}; RETURN NULL; END $$",
        f"CREATE TRIGGER {trigger.name} AFTER {trigger.operation} ON {trigger.table} "
        f"FOR EACH ROW{when} EXECUTE FUNCTION {function}()",
    ]


def _sqlite_trigger_sql(trigger: Trigger) -> str:
    when = f" WHEN {trigger.when.format(distinct='IS NOT')}" if trigger.when else ""
    body = " ".join(f"{statement};" for statement in trigger.statements)
    return f"CREATE TRIGGER {trigger.name} AFTER {trigger.operation} ON {trigger.table}{when} BEGIN {body} END"


def recount_sql(*, company_events: bool = True) -> list[str]:
    """Every count from scratch (and no row for a company or person that is gone), and each company's events."""
    statements = []
    for owner in OWNERS:
        statements.append(f"DELETE FROM {owner.counts} WHERE {owner.column} NOT IN (SELECT id FROM {owner.table})")
        statements.append(_upsert(owner, _counted_all(owner)))
    if company_events:
        statements.append(f"DELETE FROM {COMPANY_EVENTS}")
        statements.append(f"INSERT INTO {COMPANY_EVENTS} (event_id, company_id, date) {COMPANY_EVENTS_COUNTED}")
    return statements


def company_events_wrong(connection: BaseDatabaseWrapper) -> int:
    """How many rows of ``articles_company_event`` are missing, wrong or left over (0 when it is right)."""
    stored = f"SELECT event_id, company_id, date FROM {COMPANY_EVENTS}"
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT (SELECT COUNT(*) FROM ({COMPANY_EVENTS_COUNTED} EXCEPT {stored}) missing) "
            f"+ (SELECT COUNT(*) FROM ({stored} EXCEPT {COMPANY_EVENTS_COUNTED}) extra)"
        )
        return cursor.fetchone()[0]


#: PostgreSQL's TRUNCATE fires no row trigger: after one (Django's ``flush`` empties tables so), count again.
TRUNCATED = (
    "articles_company",
    "articles_person",
    "articles_article_companies",
    "articles_article_people",
    "articles_event",
    "articles_eventparticipant",
    "articles_figure",
)


def _pg_truncate_sql() -> list[str]:
    body = "; ".join(recount_sql())
    return [
        "CREATE FUNCTION newsdb_counts_truncated() RETURNS trigger LANGUAGE plpgsql AS "
        f"$$ BEGIN {body}; RETURN NULL; END $$",
        *(
            f"CREATE TRIGGER {table}_counts_truncated AFTER TRUNCATE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION newsdb_counts_truncated()"
            for table in TRUNCATED
        ),
    ]


def recount(connection: BaseDatabaseWrapper, *, company_events: bool = True) -> None:
    with connection.cursor() as cursor:
        for statement in recount_sql(company_events=company_events):
            cursor.execute(statement)


def install(connection: BaseDatabaseWrapper) -> None:
    """The tables, counted (and on PostgreSQL the triggers; SQLite's come after the migrations)."""
    with connection.cursor() as cursor:
        for owner in OWNERS:
            cursor.execute(_table_sql(owner))
        for statement in _company_events_table_sql():
            cursor.execute(statement)
        if connection.vendor == "postgresql":
            for trigger in TRIGGERS:
                for statement in _pg_trigger_sql(trigger):
                    cursor.execute(statement)
            for statement in _pg_truncate_sql():
                cursor.execute(statement)
    recount(connection)
    if connection.vendor == "postgresql":
        # Filled at once, so analysed at once: a migration that makes them again on a large database would leave
        # PostgreSQL planning them as empty until autovacuum came (never, where it is off).
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {COMPANY_COUNTS}, {PERSON_COUNTS}, {COMPANY_EVENTS}")


def uninstall(connection: BaseDatabaseWrapper) -> None:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            for trigger in TRIGGERS:
                cursor.execute(f"DROP TRIGGER IF EXISTS {trigger.name} ON {trigger.table}")
                cursor.execute(f"DROP FUNCTION IF EXISTS newsdb_{trigger.name}()")
            for table in TRUNCATED:
                cursor.execute(f"DROP TRIGGER IF EXISTS {table}_counts_truncated ON {table}")
            cursor.execute("DROP FUNCTION IF EXISTS newsdb_counts_truncated()")
        else:
            for trigger in TRIGGERS:
                cursor.execute(f"DROP TRIGGER IF EXISTS {trigger.name}")
        for owner in OWNERS:
            cursor.execute(f"DROP TABLE IF EXISTS {owner.counts}")
        cursor.execute(f"DROP TABLE IF EXISTS {COMPANY_EVENTS}")


def sqlite_triggers_drop(connection: BaseDatabaseWrapper) -> list[str]:
    """SQLite, before a ``migrate`` that applies something: drop the count triggers (they name other tables, which
    Django could then not rebuild); ``sqlite_triggers_install`` puts them back and counts again."""
    if connection.vendor != "sqlite":
        return []
    with connection.cursor() as cursor:
        present = sqlite_present(cursor)
        dropped = [trigger.name for trigger in TRIGGERS if trigger.name in present]
        for name in dropped:
            cursor.execute(f"DROP TRIGGER {name}")
    return dropped


def sqlite_triggers_install(connection: BaseDatabaseWrapper) -> list[str]:
    """SQLite, after every ``migrate``: create the missing count triggers and, when one was missing, count every
    row again. Nothing before the migration that made the tables, nor on PostgreSQL."""
    if connection.vendor != "sqlite":
        return []
    with connection.cursor() as cursor:
        present = sqlite_present(cursor)
        if not all(table in present for table in (*(owner.counts for owner in OWNERS), COMPANY_EVENTS)):
            return []
        missing = [trigger for trigger in TRIGGERS if trigger.name not in present]
        for trigger in missing:
            cursor.execute(_sqlite_trigger_sql(trigger))
    if missing:
        recount(connection)
    return [trigger.name for trigger in missing]


def pg_triggers_switch(connection: BaseDatabaseWrapper, *, on: bool) -> None:
    """PostgreSQL: switch the count triggers off (or on again) in this transaction; the streamed first load copies
    without them and calls ``recount`` once."""
    action = "ENABLE" if on else "DISABLE"
    with connection.cursor() as cursor:
        for trigger in TRIGGERS:
            cursor.execute(f"ALTER TABLE {trigger.table} {action} TRIGGER {trigger.name}")
