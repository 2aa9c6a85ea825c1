"""Counting facts without reading every row: a small index of each company's proposed and rejected-proposal figures
(subtracted from all its figures, which figure_company_metric counts alone), and an index of events by status (the
proposals' ids, read once per query and left out of event_count). Replaces figure_company_facts, which had to be read
row by row, as did the join from participants to events it needed."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("articles", "0010_figure_company_facts_stable"),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name="figure",
            name="figure_company_facts",
        ),
        migrations.AddIndex(
            model_name="event",
            index=models.Index(fields=["status"], name="event_status"),
        ),
        migrations.AddIndex(
            model_name="figure",
            index=models.Index(
                condition=models.Q(("status", "dismissed"), ("status", "proposed"), _connector="OR"),
                fields=["company"],
                name="figure_company_proposals",
            ),
        ),
    ]
