"""Each company's and person's counts of articles, events and figures, stored and kept by database triggers
(``articles.counts_schema``) instead of three subqueries per row on every page of the lists. The models are
unmanaged: ``counts_schema.install`` makes the tables, their triggers (SQLite's after the migrations, from
``apps.py``) and counts the rows that exist."""

import django.db.models.deletion
from django.db import migrations, models

from articles import counts_schema


def install(apps, schema_editor):
    counts_schema.install(schema_editor.connection)


def uninstall(apps, schema_editor):
    counts_schema.uninstall(schema_editor.connection)


class Migration(migrations.Migration):

    dependencies = [
        ('articles', '0012_event_date_span'),
    ]

    operations = [
        migrations.CreateModel(
            name='CompanyCounts',
            fields=[
                ('article_count', models.IntegerField(default=0, editable=False)),
                ('event_count', models.IntegerField(default=0, editable=False)),
                ('company', models.OneToOneField(db_constraint=False, on_delete=django.db.models.deletion.DO_NOTHING, primary_key=True, related_name='counts', serialize=False, to='articles.company')),
                ('figure_count', models.IntegerField(default=0, editable=False)),
            ],
            options={
                'db_table': 'articles_company_counts',
                'managed': False,
            },
        ),
        migrations.CreateModel(
            name='PersonCounts',
            fields=[
                ('article_count', models.IntegerField(default=0, editable=False)),
                ('event_count', models.IntegerField(default=0, editable=False)),
                ('person', models.OneToOneField(db_constraint=False, on_delete=django.db.models.deletion.DO_NOTHING, primary_key=True, related_name='counts', serialize=False, to='articles.person')),
            ],
            options={
                'db_table': 'articles_person_counts',
                'managed': False,
            },
        ),
        # It served figure_count's subquery (a company's proposals), which the stored counts replace.
        migrations.RemoveIndex(model_name="figure", name="figure_company_proposals"),
        migrations.RunPython(install, uninstall, elidable=False),
    ]
