from django.apps import AppConfig


class ArticlesConfig(AppConfig):
    """The domain app: articles, companies, people, events, figures."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "articles"
