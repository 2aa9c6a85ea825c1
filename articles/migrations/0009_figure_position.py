"""An index for figures in the order their articles state them (``?ordering=quote_start``): at 200,000 figures
the first page took 500 ms (a sort of every row) and takes under a millisecond with it."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("articles", "0008_proposals"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="figure",
            index=models.Index(fields=["quote_start", "id"], name="figure_position"),
        ),
    ]
