"""``?author=`` on articles matches part of an author's name (``icontains`` on the ``authors`` list): with no index
PostgreSQL read every article to find none (72 ms a page at 100,000 articles). A trigram index on the text the
filter compares (``UPPER(authors::text)``) finds the matches directly. PostgreSQL only (``pg_trgm``, migration
0007): on SQLite the filter reads every row, as before."""

from django.db import migrations

from articles.pg_only import postgresql_only

CREATE = (
    "CREATE INDEX IF NOT EXISTS article_authors_trgm ON articles_article "
    "USING gin ((UPPER(authors::text)) gin_trgm_ops)"
)
DROP = "DROP INDEX IF EXISTS article_authors_trgm"


class Migration(migrations.Migration):
    dependencies = [
        ("articles", "0020_ordering_indexes"),
    ]

    operations = [postgresql_only(CREATE, DROP)]
