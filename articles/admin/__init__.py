"""The editors' desk: the Django admin for every curated model (see base.py for what all pages share)."""

from . import articles, companies, events, figures  # noqa: F401  (registers the admin classes)
