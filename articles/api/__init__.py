"""The REST API: one router under /api/ (see articles/urls.py) over articles, companies, people, events and figures.

Modules: ``views`` (viewsets, pure declarations), ``serializers``, ``filtersets`` (one FilterSet per model) built
from ``filters`` (shared filter classes), ``history`` (the history endpoint's entries), ``pagination``,
``errors`` (every error as JSON), ``negotiation``
(format and parsing) and ``schema`` (documented responses).
"""
