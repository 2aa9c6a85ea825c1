import logging

from django.apps import AppConfig
from django.db import connections
from django.db.models.signals import post_migrate, pre_migrate

logger = logging.getLogger(__name__)


def search_triggers_drop(sender, using: str = "default", plan=None, **kwargs) -> None:
    """Before a ``migrate`` that applies something, on SQLite: drop the search triggers, which would stop Django
    from rebuilding the tables they refer to (see ``articles.search_schema.sqlite_triggers_drop``)."""
    from . import search_schema

    if plan:
        search_schema.sqlite_triggers_drop(connections[using])


def search_triggers_install(sender, using: str = "default", **kwargs) -> None:
    """After every ``migrate``, on SQLite: create the missing search triggers and re-index."""
    from . import search_schema

    created = search_schema.sqlite_triggers_install(connections[using])
    if created:
        logger.info("Search: created %d triggers and indexed every record.", len(created))


class ArticlesConfig(AppConfig):
    """The domain app: articles, companies, people, events, figures."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "articles"

    def ready(self) -> None:
        pre_migrate.connect(search_triggers_drop, sender=self, dispatch_uid="articles.search_triggers_drop")
        post_migrate.connect(search_triggers_install, sender=self, dispatch_uid="articles.search_triggers_install")
