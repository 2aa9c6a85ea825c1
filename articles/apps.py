import logging

from django.apps import AppConfig
from django.db import connections
from django.db.models.signals import post_migrate, pre_migrate

logger = logging.getLogger(__name__)


def triggers_drop(sender, using: str = "default", plan=None, **kwargs) -> None:
    """Before a ``migrate`` that applies something, on SQLite: drop the search and count triggers, which would stop
    Django from rebuilding the tables they refer to (see ``articles.search_schema.sqlite_triggers_drop``)."""
    from . import counts_schema, search_schema

    if plan:
        search_schema.sqlite_triggers_drop(connections[using])
        counts_schema.sqlite_triggers_drop(connections[using])


def triggers_install(sender, using: str = "default", **kwargs) -> None:
    """After every ``migrate``, on SQLite: create the missing search and count triggers, re-index and count again."""
    from . import counts_schema, search_schema

    created = search_schema.sqlite_triggers_install(connections[using])
    if created:
        logger.info("Search: created %d triggers and indexed every record.", len(created))
    created = counts_schema.sqlite_triggers_install(connections[using])
    if created:
        logger.info("Counts: created %d triggers and counted every record.", len(created))


class ArticlesConfig(AppConfig):
    """The domain app: articles, companies, people, events, figures."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "articles"

    def ready(self) -> None:
        pre_migrate.connect(triggers_drop, sender=self, dispatch_uid="articles.triggers_drop")
        post_migrate.connect(triggers_install, sender=self, dispatch_uid="articles.triggers_install")
