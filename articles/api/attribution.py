"""How the API names the user behind a change: a history entry's ``user``, a figure's ``reviewed_by``, a
tombstone's ``user`` (and ``reviewed_by`` among a history entry's changes).

A username is half of a login, so only logged-in users see it (newsdb has no sign-up: every account is one an
administrator made). Anonymous readers see the user's public name instead: the first and last name set in the
admin (``Ana Ruiz``), or, for a user without one, ``editor-<id>``: stable, and it says nothing about the login.
The loader's account is named ``load_fixtures`` (its first name), so its entries read the same for everyone.
"""

from typing import Any

from django.contrib.auth import get_user_model

#: The user's columns that naming needs, for ``.values()`` reads (``rows``) and ``only()``.
NAME_FIELDS = ("username", "first_name", "last_name")


def sees_usernames(request: Any) -> bool:
    """Whether the request's user is shown usernames: any logged-in user."""
    user = getattr(request, "user", None)
    return bool(user is not None and user.is_authenticated)


def public_name(user_id: int, first_name: str, last_name: str) -> str:
    return f"{first_name} {last_name}".strip() or f"editor-{user_id}"


def name_from_values(
    usernames: bool, user_id: int | None, username: str, first_name: str, last_name: str
) -> str | None:
    if user_id is None:
        return None
    return username if usernames else public_name(user_id, first_name, last_name)


def user_name(user: Any, request: Any) -> str | None:
    """How ``request`` sees ``user`` (None for no user)."""
    if user is None:
        return None
    if sees_usernames(request):
        return user.get_username()
    return public_name(user.pk, user.first_name, user.last_name)


def user_names(user_ids: set[int], request: Any) -> dict[int, str]:
    """``{id: name}`` for several users, in one query."""
    usernames = sees_usernames(request)
    rows = get_user_model().objects.filter(pk__in=user_ids).values_list("pk", *NAME_FIELDS)
    return {pk: name_from_values(usernames, pk, *names) for pk, *names in rows}
