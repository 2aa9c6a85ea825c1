"""PostgreSQL's planner multiplies the selectivities of two conditions as if they were independent, but a figure's
unit follows from its metric (revenue is in USD, market share in percent). For ``?metric=revenue&unit=percent`` it
expected a quarter of all figures, walked every article in date order to find a page of them and found none (180
ms at 100,000 articles). Extended statistics on the pair (their most common combinations, and how far one
determines the other) let it see that the pair is rare: 32 ms, a scan of the metric's index. Filled by ANALYZE
(autovacuum runs it after a load). PostgreSQL only."""

from django.db import migrations

from articles.pg_only import postgresql_only

CREATE = "CREATE STATISTICS IF NOT EXISTS figure_metric_unit (mcv, dependencies) ON metric, unit FROM articles_figure"
DROP = "DROP STATISTICS IF EXISTS figure_metric_unit"


class Migration(migrations.Migration):
    dependencies = [
        ("articles", "0021_article_authors_trigram"),
    ]

    operations = [postgresql_only(CREATE, DROP)]
