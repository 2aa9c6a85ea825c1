"""The counts the database keeps for each company and person (``articles.counts_schema``) always equal what counting
from scratch gives, whatever writes: the loader, the services (merge, deletes, proposals), plain ORM writes, raw SQL
in either order of a transaction. On SQLite and PostgreSQL alike (CI runs the suite on both)."""

import datetime
import io
import threading
import time

import psycopg
import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.db import connection, transaction
from django.db.models import Count, Q

from articles import counts_schema
from articles.choices import PROPOSAL_STATUSES, ParticipantRole, ReviewStatus
from articles.models import (
    Article,
    Company,
    CompanyCounts,
    CompanyEvent,
    Event,
    EventParticipant,
    Figure,
    Person,
    PersonCounts,
)
from articles.services.articles import article_delete
from articles.services.companies import company_delete, company_merge
from articles.services.events import event_delete
from articles.services.figures import figure_delete

from .base import (
    REVENUE_QUOTE,
    interleaved,
    make_article,
    make_company,
    make_event,
    postgresql_only,
    token_client,
)

FACT = ~Q(status__in=sorted(PROPOSAL_STATUSES))


def counted() -> dict[str, dict[str, tuple[int, ...]]]:
    """Every company's and person's counts from scratch, through the ORM (not the triggers' SQL)."""
    events = Event.objects.filter(FACT)
    companies = {}
    for company in Company.objects.all():
        companies[company.slug] = (
            Article.companies.through.objects.filter(company=company).count(),
            EventParticipant.objects.filter(company=company, event__in=events).values("event").distinct().count(),
            Figure.objects.filter(FACT, company=company).count(),
        )
    people = {}
    for person in Person.objects.all():
        people[person.slug] = (
            Article.people.through.objects.filter(person=person).count(),
            EventParticipant.objects.filter(person=person, event__in=events).values("event").distinct().count(),
        )
    return {"companies": companies, "people": people}


def stored() -> dict[str, dict[str, tuple[int, ...]]]:
    """What the lists read: the stored counts (zero without a row), and no row for a record that is gone."""
    companies = {c.pk: c.slug for c in Company.objects.all()}
    people = {p.pk: p.slug for p in Person.objects.all()}
    rows = CompanyCounts.objects.values_list("company_id", "article_count", "event_count", "figure_count")
    assert {row[0] for row in rows} <= set(companies), "a counts row outlived its company"
    people_rows = PersonCounts.objects.values_list("person_id", "article_count", "event_count")
    assert {row[0] for row in people_rows} <= set(people), "a counts row outlived its person"
    by_company = {pk: tuple(rest) for pk, *rest in rows}
    by_person = {pk: tuple(rest) for pk, *rest in people_rows}
    return {
        "companies": {slug: by_company.get(pk, (0, 0, 0)) for pk, slug in companies.items()},
        "people": {slug: by_person.get(pk, (0, 0)) for pk, slug in people.items()},
    }


def company_events() -> set[tuple[int, int, object]]:
    """Each company's events with their dates, from scratch, through the ORM (any role, any status)."""
    rows = EventParticipant.objects.filter(company__isnull=False).values_list("event_id", "company_id", "event__date")
    return set(rows)


def assert_counts_right() -> None:
    expected = counted()
    assert stored() == expected
    assert any(sum(values) for values in expected["companies"].values())  # never a vacuous comparison
    # The table the events list reads a company's events from, in date order.
    rows = set(CompanyEvent.objects.values_list("event_id", "company_id", "date"))
    assert rows == company_events() and rows
    assert counts_schema.company_events_wrong(connection) == 0


@pytest.fixture
def editor(db):
    return User.objects.create_superuser("counts-editor", "e@example.org", "x")


@pytest.mark.django_db
class TestStoredCounts:
    def test_the_curated_load_is_counted(self, curated):
        assert_counts_right()
        bitmain = stored()["companies"]["bitmain"]
        assert bitmain[0] >= 4 and bitmain[1] >= 10 and bitmain[2] >= 10, bitmain

    def test_services_keep_them(self, curated, editor):
        # A figure deleted, an event deleted, an article deleted (its events, figures and mentions go with it).
        figure_delete(figure=Figure.objects.filter(company__slug="bitmain").first(), user=editor, reason="test")
        event = Event.objects.filter(participants__company__slug="canaan").first()
        event_delete(event=event, user=editor, reason="test")
        assert_counts_right()
        article_delete(article=Article.objects.order_by("published_on").first(), user=editor, reason="test")
        assert_counts_right()

    def test_a_merge_moves_them(self, curated, editor):
        before = stored()["companies"]
        survivor, duplicate = Company.objects.get(slug="bitmain"), Company.objects.get(slug="canaan")
        company_merge(survivor=survivor, duplicates=[duplicate], user=editor, reason="test")
        assert_counts_right()
        after = stored()["companies"]
        assert "canaan" not in after
        # Articles and events that named both count once; figures all move.
        assert after["bitmain"][2] == before["bitmain"][2] + before["canaan"][2]
        assert after["bitmain"][0] <= before["bitmain"][0] + before["canaan"][0]
        assert not CompanyCounts.objects.filter(company_id=duplicate.pk).exists()

    def test_proposals_count_only_once_they_are_facts(self, curated):
        figure = (
            Figure.objects.filter(company__slug="bitmain").exclude(FACT).first()
            or Figure.objects.filter(company__slug="bitmain").first()
        )
        before = stored()["companies"]["bitmain"][2]
        Figure.objects.filter(pk=figure.pk).update(status=ReviewStatus.PROPOSED)
        assert stored()["companies"]["bitmain"][2] == before - 1
        Figure.objects.filter(pk=figure.pk).update(status=ReviewStatus.VERIFIED)
        assert stored()["companies"]["bitmain"][2] == before
        event = Event.objects.filter(participants__company__slug="bitmain").first()
        Event.objects.filter(pk=event.pk).update(status=ReviewStatus.DISMISSED)
        assert_counts_right()
        Event.objects.filter(pk=event.pk).update(status=ReviewStatus.REPORTED)
        assert_counts_right()

    def test_an_event_counts_once_whatever_the_roles(self, curated):
        event = Event.objects.filter(participants__company__slug="bitmain").first()
        bitmain = Company.objects.get(slug="bitmain")
        before = stored()["companies"]["bitmain"][1]
        roles = set(event.participants.filter(company=bitmain).values_list("role", flat=True))
        extra = next(role for role in ParticipantRole.values if role not in roles)
        second = EventParticipant.objects.create(event=event, company=bitmain, role=extra)
        assert stored()["companies"]["bitmain"][1] == before
        EventParticipant.objects.filter(pk=second.pk).update(
            role=next(r for r in ParticipantRole.values if r != extra and r not in roles)
        )
        assert stored()["companies"]["bitmain"][1] == before
        second.delete()
        assert stored()["companies"]["bitmain"][1] == before
        # Moving every participation of the event to another company moves the event.
        EventParticipant.objects.filter(event=event, company=bitmain).update(company=Company.objects.get(slug="canaan"))
        assert_counts_right()

    def test_an_event_moved_to_another_day_moves_in_its_companies_rows(self, curated):
        event = Event.objects.filter(participants__company__slug="bitmain", end_date__isnull=True).first()
        Event.objects.filter(pk=event.pk).update(date="2031-01-01", date_latest="2031-01-01")
        assert CompanyEvent.objects.get(event=event, company__slug="bitmain").date == datetime.date(2031, 1, 1)
        assert_counts_right()

    def test_rows_in_any_order_within_a_transaction(self, editor):
        """Foreign keys are checked at commit: participants and mentions may come before their company or event,
        and an event may go before its participants."""
        with transaction.atomic(), connection.cursor() as cursor:
            article = Article.objects.create(slug="a1", title="A", body="Body.", published_on="2024-01-01")
            cursor.execute("SELECT COALESCE(MAX(id), 0) + 1000 FROM articles_company")
            (company_id,) = cursor.fetchone()
            cursor.execute("SELECT COALESCE(MAX(id), 0) + 1000 FROM articles_event")
            (event_id,) = cursor.fetchone()
            cursor.execute(
                "INSERT INTO articles_eventparticipant (event_id, company_id, role) VALUES (%s, %s, 'subject')",
                [event_id, company_id],
            )
            cursor.execute(
                "INSERT INTO articles_article_companies (article_id, company_id) VALUES (%s, %s)",
                [article.pk, company_id],
            )
            Company.objects.create(id=company_id, slug="late", name="Late")
            Event.objects.create(
                id=event_id,
                article=article,
                key="e1",
                title="E",
                type="other",
                date="2024-01-01",
                quote="Body.",
                quote_end=5,
            )
        assert stored()["companies"]["late"] == (1, 1, 0)
        assert_counts_right()
        with transaction.atomic():
            Event.objects.filter(pk=event_id)._raw_delete(connection.alias)
            assert stored()["companies"]["late"] == (1, 0, 0)
            EventParticipant.objects.filter(event_id=event_id).delete()
        assert stored()["companies"]["late"] == (1, 0, 0)
        Article.companies.through.objects.filter(company_id=company_id).delete()
        company_delete(company=Company.objects.get(slug="late"), user=editor, reason="test")
        assert not CompanyCounts.objects.filter(company_id=company_id).exists()

    def test_people(self, curated):
        person = Person.objects.annotate(n=Count("participations")).filter(n__gt=0).first()
        assert stored()["people"][person.slug][1] > 0
        EventParticipant.objects.filter(person=person).delete()
        Article.people.through.objects.filter(person=person).delete()
        assert stored()["people"][person.slug] == (0, 0)
        assert_counts_right()

    def test_recount_repairs_them(self, curated):
        CompanyCounts.objects.filter(company__slug="bitmain").update(article_count=999)
        with connection.cursor() as cursor:
            cursor.execute(f"INSERT INTO {counts_schema.COMPANY_COUNTS} (company_id) VALUES (-5)")  # nobody's
            cursor.execute(f"DELETE FROM {counts_schema.COMPANY_COUNTS} WHERE company_id = %s", [company_id("canaan")])
            # A company's events: one row missing, one with another date, one of nobody's.
            companies_events = counts_schema.COMPANY_EVENTS
            cursor.execute(f"DELETE FROM {companies_events} WHERE company_id = %s", [company_id("canaan")])
            cursor.execute(
                f"UPDATE {companies_events} SET date = '1999-01-01' WHERE company_id = %s", [company_id("bitmain")]
            )
            cursor.execute(f"INSERT INTO {companies_events} (event_id, company_id, date) VALUES (-1, -5, '2020-01-01')")
        wrong = counts_schema.company_events_wrong(connection)
        canaan_events = EventParticipant.objects.filter(company__slug="canaan").values("event").distinct().count()
        bitmain_events = EventParticipant.objects.filter(company__slug="bitmain").values("event").distinct().count()
        assert wrong == canaan_events + 2 * bitmain_events + 1  # a changed date is a row missing and a row extra
        out = io.StringIO()

        call_command("recount", stdout=out)

        companies, people = Company.objects.count(), Person.objects.count()
        assert out.getvalue().strip() == (
            f"Counted {companies} companies and {people} people; corrected 3 and 0. "
            f"Each company's events: {wrong} rows corrected."
        )
        assert_counts_right()
        out = io.StringIO()
        call_command("recount", stdout=out)
        assert out.getvalue().strip().endswith("corrected 0 and 0. Each company's events: 0 rows corrected.")

    def test_recount_from_nothing_counts_what_the_triggers_count(self, curated):
        """Counting everything at once (``recount``, the streamed first load) gives what the triggers keep, row for
        row, where it is easy to get wrong: a proposal and a dismissed record (not counted), a company in two roles
        of one event (once), a person, a figure about no company, and a company nothing names (zeros)."""
        bitmain, canaan = Company.objects.get(slug="bitmain"), Company.objects.get(slug="canaan")
        make_company("nobody-names-it")
        event = Event.objects.filter(participants__company=bitmain).first()
        role = next(r for r in ParticipantRole.values if not event.participants.filter(company=bitmain, role=r))
        EventParticipant.objects.create(event=event, company=bitmain, role=role)
        Event.objects.filter(pk=Event.objects.filter(participants__company=canaan).first().pk).update(
            status=ReviewStatus.PROPOSED
        )
        Figure.objects.filter(pk=Figure.objects.filter(company=bitmain).first().pk).update(
            status=ReviewStatus.DISMISSED
        )
        assert Figure.objects.filter(company__isnull=True).exists()
        assert EventParticipant.objects.filter(person__isnull=False).exists()
        kept = stored()
        assert kept == counted()
        with connection.cursor() as cursor:
            cursor.execute(f"DELETE FROM {counts_schema.COMPANY_COUNTS}")
            cursor.execute(f"DELETE FROM {counts_schema.PERSON_COUNTS}")
            cursor.execute(f"DELETE FROM {counts_schema.COMPANY_EVENTS}")

        counts_schema.recount(connection)

        assert stored() == kept
        assert CompanyCounts.objects.get(company__slug="nobody-names-it").article_count == 0
        assert CompanyCounts.objects.count() == Company.objects.count()
        assert PersonCounts.objects.count() == Person.objects.count()
        assert_counts_right()


def company_id(slug: str) -> int:
    return Company.objects.get(slug=slug).pk


@pytest.fixture
def shared_event(transactional_db):
    acme = make_company("acme")
    event = make_event(make_article("race", companies=(acme,)), "deal")
    return acme, event


@postgresql_only
@pytest.mark.django_db(transaction=True)
def test_two_writers_adding_one_company_to_one_event_in_two_roles_count_it_once(shared_event):
    acme, event = shared_event
    outcomes = interleaved(
        lambda: EventParticipant.objects.create(event=event, company=acme, role=ParticipantRole.SUBJECT),
        lambda: EventParticipant.objects.create(event=event, company=acme, role=ParticipantRole.SUPPLIER),
    )
    assert outcomes == {"A": "ok", "B": "ok"}
    assert EventParticipant.objects.filter(event=event, company=acme).count() == 2
    assert stored()["companies"]["acme"] == (1, 1, 0)
    assert list(CompanyEvent.objects.filter(company=acme).values_list("event_id", "date")) == [(event.pk, event.date)]


@postgresql_only
@pytest.mark.django_db(transaction=True)
def test_two_writers_removing_both_roles_uncount_the_event(shared_event):
    acme, event = shared_event
    first = EventParticipant.objects.create(event=event, company=acme, role=ParticipantRole.SUBJECT)
    second = EventParticipant.objects.create(event=event, company=acme, role=ParticipantRole.SUPPLIER)
    assert stored()["companies"]["acme"] == (1, 1, 0)
    outcomes = interleaved(
        lambda: EventParticipant.objects.filter(pk=first.pk).delete(),
        lambda: EventParticipant.objects.filter(pk=second.pk).delete(),
    )
    assert outcomes == {"A": "ok", "B": "ok"}
    assert stored()["companies"]["acme"] == (1, 0, 0)
    assert not CompanyEvent.objects.filter(company=acme).exists()


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the planner's statistics are PostgreSQL's")
def test_tables_made_again_by_a_migration_are_counted_and_analysed(db):
    """Migrations 0013 and 0014 make the tables again (``counts_schema.install``) and fill them at once: their
    statistics come with them, not when autovacuum comes (never, where it is off)."""
    acme = make_company("acme")
    article = make_article("acme-story")
    unusual = datetime.date(1901, 2, 3)  # in no statistics gathered before this test
    for n in range(3):
        make_event(article, f"old-{n}", participants=((acme, ParticipantRole.SUBJECT),), date=unusual)

    counts_schema.uninstall(connection)
    counts_schema.install(connection)

    assert_counts_right()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT most_common_vals::text FROM pg_stats WHERE schemaname = current_schema()"
            " AND tablename = 'articles_company_event' AND attname = 'date'"
        )
        assert cursor.fetchall() == [("{1901-02-03}",)]
        cursor.execute(
            "SELECT count(*) FROM pg_stats WHERE schemaname = current_schema()"
            " AND tablename = 'articles_company_counts'"
        )
        assert cursor.fetchone()[0] > 0


@pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite has no TRUNCATE (Django deletes rows)")
def test_a_truncate_counts_again(curated):
    """TRUNCATE fires no row trigger (Django's flush empties tables so): a statement trigger counts again."""
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # the load's deferred key checks, before TRUNCATE
        cursor.execute("TRUNCATE articles_article_companies")
    assert_counts_right()
    assert stored()["companies"]["bitmain"][0] == 0


@postgresql_only
@pytest.mark.django_db(transaction=True)
def test_two_writers_crossing_two_companies_one_is_cancelled_and_the_counts_stay_right(transactional_db):
    """Counts rows are updated in place: writers touching two companies in opposite orders wait for each other.
    PostgreSQL cancels one (a deadlock, OperationalError: newsdb answers 503 with Retry-After); nothing of the
    cancelled one is written, and the counts match the rows."""
    acme, bolt = make_company("acme"), make_company("bolt")
    article = make_article("race", companies=(acme, bolt))
    first, second = make_event(article, "first"), make_event(article, "second")
    both_hold_one = threading.Barrier(2, timeout=10)
    outcomes: dict[str, str] = {}

    def write(name: str, event: Event, order: tuple[Company, Company]) -> None:
        try:
            with transaction.atomic():
                EventParticipant.objects.create(event=event, company=order[0], role=ParticipantRole.SUBJECT)
                both_hold_one.wait()
                EventParticipant.objects.create(event=event, company=order[1], role=ParticipantRole.COUNTERPARTY)
            outcomes[name] = "ok"
        except Exception as exc:  # noqa: BLE001 - the outcome is what the test checks
            outcomes[name] = type(exc).__name__
        finally:
            connection.close()

    threads = [
        threading.Thread(target=write, args=("A", first, (acme, bolt))),
        threading.Thread(target=write, args=("B", second, (bolt, acme))),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    assert sorted(outcomes.values()) == ["OperationalError", "ok"], outcomes
    assert EventParticipant.objects.count() == 2  # the cancelled writer's first participation is gone too
    assert_counts_right()
    assert stored()["companies"]["acme"] == (1, 1, 0) == stored()["companies"]["bolt"]


@postgresql_only
@pytest.mark.django_db(transaction=True)
def test_two_api_writers_crossing_two_companies_one_gets_a_503_and_nothing_of_it_is_written(transactional_db):
    """The same crossing through HTTP: two editors post an event with the same two companies in opposite orders.
    Two other transactions hold the companies' counts rows and let go in the order that makes each request hold
    its first company and wait for the other's. PostgreSQL cancels one; that request is a 503 with Retry-After (a
    JSON error, no traceback), the other a 201, and the counts match the rows."""
    acme, bolt = make_company("acme"), make_company("bolt")
    make_article("race", companies=(acme, bolt))
    # Superusers: a transactional test's flush takes the editors group (made by a migration) away.
    clients = {
        name: token_client(User.objects.create_superuser(f"editor-{name}", "e@example.org", "x")) for name in "ab"
    }
    responses: dict[str, object] = {}

    def post(name: str, order: tuple[str, str]) -> None:
        try:
            body = {
                "article": "race",
                "key": f"deal-{name}",
                "title": f"Deal {name}",
                "type": "other",
                "date": "2023-01-01",
                "date_precision": "year",
                "quote": REVENUE_QUOTE,
                "participants": [{"company": order[0], "role": "subject"}, {"company": order[1], "role": "customer"}],
            }
            responses[name] = clients[name].post("/api/events/", body, format="json")
        finally:
            connection.close()

    def hold(company: Company) -> psycopg.Connection:
        """Another transaction that holds the company's counts row (a connection of its own)."""
        settings = connection.settings_dict
        held = psycopg.connect(
            dbname=settings["NAME"],
            user=settings["USER"],
            password=settings["PASSWORD"] or None,
            host=settings["HOST"],
            port=settings["PORT"] or 5432,
        )
        held.execute(f"SELECT 1 FROM {counts_schema.COMPANY_COUNTS} WHERE company_id = %s FOR UPDATE", [company.pk])
        return held

    def blocked(count: int, by: psycopg.Connection | None = None) -> bool:
        """Wait until ``count`` backends wait for a lock (on ``by``'s, when given); pg_blocking_pids is read live."""
        condition = "%s = ANY(pg_blocking_pids(pid))" if by else "cardinality(pg_blocking_pids(pid)) > 0"
        with connection.cursor() as cursor:
            for _ in range(200):
                cursor.execute(
                    f"SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND {condition}",
                    [by.info.backend_pid] if by else [],
                )
                if cursor.fetchone()[0] == count:
                    return True
                time.sleep(0.05)
        return False

    # B waits for bolt, then A for acme; acme let go, A takes it and queues for bolt behind B. Bolt let go, B (first
    # in its queue) takes it and waits for acme, which A holds while it waits for bolt: a deadlock, every time.
    acme_held, bolt_held = hold(acme), hold(bolt)
    a = threading.Thread(target=post, args=("a", ("acme", "bolt")))
    b = threading.Thread(target=post, args=("b", ("bolt", "acme")))
    b.start()
    waiting = [blocked(1, by=bolt_held)]
    a.start()
    waiting.append(blocked(1, by=acme_held))
    acme_held.rollback()
    waiting.append(blocked(2))  # B still, and A now behind B (pg_blocking_pids names B, ahead of it in the queue)
    bolt_held.rollback()
    for thread in (a, b):
        thread.join(30)
    acme_held.close()
    bolt_held.close()

    assert waiting == [True, True, True]
    statuses = sorted(response.status_code for response in responses.values())
    assert statuses == [201, 503], {name: r.content for name, r in responses.items()}
    [cancelled] = [r for r in responses.values() if r.status_code == 503]
    assert cancelled["Retry-After"]
    assert "detail" in cancelled.json()
    [created_key] = [r.json()["key"] for r in responses.values() if r.status_code == 201]
    assert list(Event.objects.filter(article__slug="race").values_list("key", flat=True)) == [created_key]
    assert EventParticipant.objects.count() == 2
    assert_counts_right()
    assert stored()["companies"]["acme"] == (1, 1, 0) == stored()["companies"]["bolt"]
