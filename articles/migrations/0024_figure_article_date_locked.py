"""A figure's trigger reads its article's date with a share lock on the article's row (``figure_order``): without it,
a figure added while an editor moved its article's date, both uncommitted, kept the old date. PostgreSQL only."""

from django.db import migrations

from articles.figure_order import COLUMN, FIGURE_DATE_FUNCTION
from articles.pg_only import postgresql_only

UNLOCKED = (
    "CREATE OR REPLACE FUNCTION newsdb_figure_article_date() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
    f"NEW.{COLUMN} := (SELECT a.published_on FROM articles_article a WHERE a.id = NEW.article_id); "
    "RETURN NEW; END $$"
)


class Migration(migrations.Migration):
    dependencies = [
        ("articles", "0023_figure_article_date"),
    ]

    operations = [postgresql_only(FIGURE_DATE_FUNCTION, UNLOCKED)]
