"""Each figure carries its article's date, kept by triggers, so that the figures list's order (newest article
first) is read from an index of the figures: see ``articles/figure_order.py``. PostgreSQL only; nothing in Django's
model state."""

from django.db import migrations

from articles import figure_order


def forwards(apps, schema_editor):
    figure_order.install(schema_editor.connection)


def backwards(apps, schema_editor):
    figure_order.uninstall(schema_editor.connection)


class Migration(migrations.Migration):
    dependencies = [
        ("articles", "0022_figure_metric_unit_statistics"),
    ]

    operations = [migrations.RunPython(forwards, backwards, elidable=False)]
