"""The index that counts a company's facts gets a predicate that PostgreSQL deparses into one that recreates itself
(one comparison per proposal status instead of NOT IN): a streamed first load drops plain indexes and recreates them
from their definitions, and the NOT IN form came back spelt differently."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("articles", "0009_figure_position"),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name="figure",
            name="figure_company_facts",
        ),
        migrations.AddIndex(
            model_name="figure",
            index=models.Index(
                condition=models.Q(
                    models.Q(("status", "dismissed"), _negated=True), models.Q(("status", "proposed"), _negated=True)
                ),
                fields=["company"],
                name="figure_company_facts",
            ),
        ),
    ]
