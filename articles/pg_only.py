"""A migration step that runs SQL on PostgreSQL only (an index or statistics SQLite has no words for)."""

from django.db import migrations


def postgresql_only(create: str, drop: str) -> migrations.RunPython:
    """``create`` when migrating forwards and ``drop`` backwards, on PostgreSQL; nothing on any other database."""

    def forwards(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(create)

    def backwards(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(drop)

    return migrations.RunPython(forwards, backwards, elidable=False)
