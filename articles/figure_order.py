"""The figures list's order kept on the figures themselves (PostgreSQL): each figure carries its article's date.

``/api/figures/`` lists figures newest article first: the article's ``published_on`` (descending), the article
(descending id), the figure's key, its id. With the date on the article only, PostgreSQL cannot read that order
from an index of the figures: a company's figures of one metric (``?company=X&metric=Y``, the most common query)
were all fetched, each joined to its article and sorted (1.8-2.7 ms of the database's time for 200 figures at
100,000 articles), and a filter that matches few figures or none walked every article in date order, probing its
figures (``?unit=percent&metric=revenue``, 180 ms). So ``articles_figure.article_published_on`` holds a copy of
the article's date, kept by the database (never written by Django, which does not know the column):

- ``figure_article_date``: ``BEFORE INSERT OR UPDATE OF article_id`` on a figure, reads its article's date
  (``FOR SHARE``: see ``FIGURE_DATE_FUNCTION``);
- ``article_figures_date``: ``AFTER UPDATE OF published_on`` on an article, copies the new date to its figures.

Every writer keeps it right: the services, the admin, the loader, raw SQL. Three indexes read the list's order:
``figure_article_order`` (all figures), ``figure_company_order`` (one company's) and
``figure_company_metric_order`` (one company's of one metric). The streamed
first load switches the figure trigger off and copies each figure's date with it (``services.fixtures.first_load``).
The list reads the column through ``ArticleDate`` (``api.views.FigureViewSet``). SQLite has no copy: there the
list sorts through the article, as before (a SQLite table is rebuilt by migrations that alter it, which would drop
a column Django does not know).
"""

from __future__ import annotations

from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import DateField

from .expressions import OnOwnTable

COLUMN = "article_published_on"

#: A figure's date is its article's, read with a share lock on the article's row: an editor changing the date at the
#: same moment holds that row, so the figure waits for the new date; and the editor's update waits for the figure's
#: transaction, whose figure its trigger then sees (``tests/test_figure_order.py`` interleaves both orders).
FIGURE_DATE_FUNCTION = (
    "CREATE OR REPLACE FUNCTION newsdb_figure_article_date() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
    f"SELECT a.published_on INTO NEW.{COLUMN} FROM articles_article a WHERE a.id = NEW.article_id FOR SHARE; "
    "RETURN NEW; END $$"
)

INSTALL = (
    f"ALTER TABLE articles_figure ADD COLUMN {COLUMN} date",
    f"UPDATE articles_figure f SET {COLUMN} = a.published_on FROM articles_article a WHERE a.id = f.article_id",
    f"ALTER TABLE articles_figure ALTER COLUMN {COLUMN} SET NOT NULL",
    FIGURE_DATE_FUNCTION,
    "CREATE TRIGGER figure_article_date BEFORE INSERT OR UPDATE OF article_id ON articles_figure "
    "FOR EACH ROW EXECUTE FUNCTION newsdb_figure_article_date()",
    "CREATE FUNCTION newsdb_article_figures_date() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
    f"UPDATE articles_figure SET {COLUMN} = NEW.published_on WHERE article_id = NEW.id; RETURN NULL; END $$",
    "CREATE TRIGGER article_figures_date AFTER UPDATE OF published_on ON articles_article FOR EACH ROW "
    "WHEN (OLD.published_on IS DISTINCT FROM NEW.published_on) EXECUTE FUNCTION newsdb_article_figures_date()",
    # GET /api/figures/ and its cursor pages, in the list's order.
    f"CREATE INDEX figure_article_order ON articles_figure ({COLUMN} DESC, article_id DESC, key, id)",
    # ?company=X&metric=Y, in the list's order: a page is its first rows.
    "CREATE INDEX figure_company_metric_order ON articles_figure "
    f"(company_id, metric, {COLUMN} DESC, article_id DESC, key, id)",
    # ?company=X, in the list's order.
    f"CREATE INDEX figure_company_order ON articles_figure (company_id, {COLUMN} DESC, article_id DESC, key, id)",
)

UNINSTALL = (
    "DROP TRIGGER IF EXISTS article_figures_date ON articles_article",
    "DROP FUNCTION IF EXISTS newsdb_article_figures_date()",
    "DROP TRIGGER IF EXISTS figure_article_date ON articles_figure",
    "DROP FUNCTION IF EXISTS newsdb_figure_article_date()",
    "DROP INDEX IF EXISTS figure_company_order",
    "DROP INDEX IF EXISTS figure_company_metric_order",
    "DROP INDEX IF EXISTS figure_article_order",
    f"ALTER TABLE articles_figure DROP COLUMN IF EXISTS {COLUMN}",
)


def present(connection: BaseDatabaseWrapper) -> bool:
    return connection.vendor == "postgresql"


def install(connection: BaseDatabaseWrapper) -> None:
    if present(connection):
        with connection.cursor() as cursor:
            for statement in INSTALL:
                cursor.execute(statement)


def uninstall(connection: BaseDatabaseWrapper) -> None:
    if present(connection):
        with connection.cursor() as cursor:
            for statement in UNINSTALL:
                cursor.execute(statement)


def pg_trigger_switch(connection: BaseDatabaseWrapper, *, on: bool) -> None:
    """The streamed first load copies each figure's date itself: the figure trigger is off while it copies."""
    with connection.cursor() as cursor:
        cursor.execute(f"ALTER TABLE articles_figure {'ENABLE' if on else 'DISABLE'} TRIGGER figure_article_date")


class ArticleDate(OnOwnTable):
    """``<the queryset's figure table>.article_published_on``."""

    output_field = DateField()

    def as_sql(self, compiler, connection):
        table, params = self.table(compiler)
        return f"{table}.{COLUMN}", params
