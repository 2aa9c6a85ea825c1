"""Full-text search: a tsvector per record with GIN indexes, unaccent and pg_trgm on PostgreSQL, FTS5 tables on
SQLite, all kept current by database triggers; the rows that exist are indexed here. See articles/search_schema.py.

Nothing here is in Django's model state: the columns, tables, triggers and indexes are read by articles/search.py
only, through SQL.
"""

from django.db import migrations

from articles import search_schema


def forwards(apps, schema_editor):
    # Branches on schema_editor.connection.vendor: PostgreSQL and SQLite get their own SQL, any other database none.
    if schema_editor.connection.vendor in ("postgresql", "sqlite"):
        search_schema.install(schema_editor.connection)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor in ("postgresql", "sqlite"):
        search_schema.uninstall(schema_editor.connection)


class Migration(migrations.Migration):
    dependencies = [
        ("articles", "0006_figure_granularity"),
    ]

    operations = [
        migrations.RunPython(forwards, backwards),
    ]
