"""The editors' search of articles, and the article pickers of the figure and event forms (the admin's autocomplete,
which searches the same way), match part of a title or slug (``icontains`` on each of ``search_fields``): with no
index PostgreSQL read every article for every keystroke (41-107 ms at 100,000 articles). Trigram indexes on the
text the search compares (``UPPER(title::text)``, ``UPPER(slug::text)``) find the matches directly (3-6 ms). Each
takes about 0.3 s to build at 100,000 articles. The table is analysed after: the planner needs the statistics of the
indexed expressions to tell a word every title has from a rare one (before, "Article 123" on the synthetic set read
every match through the index, 205-223 ms). PostgreSQL only (``pg_trgm``, migration 0007): on SQLite the search
reads every row, as before."""

from django.db import migrations

INDEXES = {"article_title_trgm": "title", "article_slug_trgm": "slug"}


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for name, column in INDEXES.items():
            schema_editor.execute(
                f"CREATE INDEX IF NOT EXISTS {name} ON articles_article USING gin ((UPPER({column}::text)) gin_trgm_ops)"
            )
        schema_editor.execute("ANALYZE articles_article")


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for name in INDEXES:
            schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [
        ("articles", "0025_article_language_order"),
    ]

    operations = [migrations.RunPython(forwards, backwards, elidable=False)]
