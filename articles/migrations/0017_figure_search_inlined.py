"""The figures' search trigger reads the company's name into a variable before building the document: passed as a
sub-select, it kept PostgreSQL from inlining the document function, and writing a figure cost five times as much
(see ``search_schema.pg_figure_search_sql``). The documents themselves do not change, except where they were
wrong: a streamed first load before this migration wrote the documents of figures copied before their company
without the company's name, and those are written again (``search_schema.pg_figures_reindex``). Nothing to do
on SQLite."""

from django.db import migrations

from articles import search_schema

# The function as migration 0007 created it, for the way back.
PREVIOUS = """CREATE OR REPLACE FUNCTION {s}.newsdb_figure_search() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                NEW.search_document := {s}.newsdb_figure_document(
                    NEW.subject, (SELECT c.name FROM {s}.articles_company c WHERE c.id = NEW.company_id),
                    NEW.metric, NEW.as_reported, NEW.period_label, NEW.quote);
                RETURN NEW;
            END $$"""


def forwards(apps, schema_editor):
    search_schema.pg_figure_search_replace(schema_editor.connection)
    search_schema.pg_figures_reindex(schema_editor.connection)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        with schema_editor.connection.cursor() as cursor:
            cursor.execute("SELECT quote_ident(current_schema())")
            (schema,) = cursor.fetchone()
            cursor.execute(PREVIOUS.format(s=schema))


class Migration(migrations.Migration):
    dependencies = [
        ("articles", "0016_history_indexes_unused"),
    ]

    operations = [
        migrations.RunPython(forwards, backwards),
    ]
