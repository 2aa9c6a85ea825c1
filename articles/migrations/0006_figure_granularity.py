"""Figures get a period granularity (day, month, quarter, half, year, other), derived from their period."""

from django.conf import settings
from django.db import migrations, models

from articles.provenance import period_granularity


def fill_granularity(apps, schema_editor):
    """One UPDATE per distinct period: a data set has few periods however many figures it has."""
    for name in ("Figure", "HistoricalFigure"):
        model = apps.get_model("articles", name)
        periods = (
            model.objects.filter(period_start__isnull=False, period_end__isnull=False)
            .values_list("period_start", "period_end")
            .distinct()
            .order_by()
        )
        for start, end in list(periods):
            model.objects.filter(period_start=start, period_end=end).update(
                period_granularity=period_granularity(start, end)
            )


GRANULARITY = models.CharField(
    blank=True,
    choices=[
        ("day", "Day"),
        ("month", "Month"),
        ("quarter", "Quarter"),
        ("half", "Half year"),
        ("year", "Year"),
        ("other", "Other"),
    ],
    default="",
    editable=False,
    help_text="Derived from the period: day, month, quarter, half, year or other; blank without a period.",
    max_length=10,
)


class Migration(migrations.Migration):
    dependencies = [
        ("articles", "0005_article_order"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(model_name="figure", name="period_granularity", field=GRANULARITY),
        migrations.AddField(model_name="historicalfigure", name="period_granularity", field=GRANULARITY),
        migrations.RunPython(fill_granularity, migrations.RunPython.noop, elidable=True),
        migrations.AddConstraint(
            model_name="figure",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("period_granularity__in", ["day", "month", "quarter", "half", "year", "other", ""])
                ),
                name="articles_figure_granularity_valid",
            ),
        ),
    ]
