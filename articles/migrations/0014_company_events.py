"""Each company's events in date order (``articles_company_event``, kept by triggers: ``articles.counts_schema``),
so that ``/api/events/?company=X`` reads a page from an index instead of sorting every event of the company. The
model is unmanaged; the tables and triggers are made again from ``counts_schema`` (which counts every row again)."""

import django.db.models.deletion
from django.db import migrations, models

from articles import counts_schema


def reinstall(apps, schema_editor):
    counts_schema.uninstall(schema_editor.connection)
    counts_schema.install(schema_editor.connection)


class Migration(migrations.Migration):

    dependencies = [
        ('articles', '0013_stored_counts'),
    ]

    operations = [
        migrations.CreateModel(
            name='CompanyEvent',
            fields=[
                ('pk', models.CompositePrimaryKey('event', 'company', blank=True, editable=False, primary_key=True, serialize=False)),
                ('event', models.ForeignKey(db_constraint=False, editable=False, on_delete=django.db.models.deletion.DO_NOTHING, related_name='company_events', to='articles.event')),
                ('company', models.ForeignKey(db_constraint=False, editable=False, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='articles.company')),
                ('date', models.DateField(editable=False)),
            ],
            options={
                'db_table': 'articles_company_event',
                'managed': False,
            },
        ),
        # Reversed, nothing to do: 0013's reversal drops every table and trigger of counts_schema.
        migrations.RunPython(reinstall, migrations.RunPython.noop, elidable=False),
    ]
