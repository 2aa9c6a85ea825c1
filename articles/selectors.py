"""Reads that need more than a plain queryset."""

from django.db.models import Q, QuerySet

from .models import Company, Person


def companies_matching(text: str) -> QuerySet[Company]:
    """Companies whose name, slug or any alias contains ``text``, case-insensitively ("cannan" finds Canaan)."""
    text = text.strip()
    if not text:
        return Company.objects.all()
    return Company.objects.filter(
        Q(name__icontains=text) | Q(slug__icontains=text) | Q(aliases__name__icontains=text)
    ).distinct()


def entity_resolve(name: str) -> Company | Person | None:
    """The company or person that ``name`` (a name, slug or alias, any case) stands for; None if unknown."""
    name = name.strip()
    for model in (Company, Person):
        match = (
            model.objects.filter(Q(name__iexact=name) | Q(slug__iexact=name) | Q(aliases__name__iexact=name))
            .distinct()
            .first()
        )
        if match is not None:
            return match
    return None
