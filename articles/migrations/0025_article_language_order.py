"""``?language=`` on articles in the default order, and the languages the admin's filter offers, read from an index
(``Article.Meta.indexes``)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("articles", "0024_figure_article_date_locked"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="article",
            index=models.Index(
                models.F("language"),
                models.OrderBy(models.F("published_on"), descending=True),
                models.OrderBy(models.F("id"), descending=True),
                name="article_language_order",
            ),
        ),
    ]
