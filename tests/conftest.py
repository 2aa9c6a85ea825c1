"""Shared pytest fixtures."""

from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth.models import Group, User

FIXTURES_DIR = Path(settings.BASE_DIR) / "fixtures"


@pytest.fixture
def curated(db):
    """The real curated data set, loaded through the loader."""
    from articles.services.fixtures import fixtures_load

    return fixtures_load(paths=[FIXTURES_DIR])


@pytest.fixture
def editor(db) -> User:
    """A staff user in the editors group (created by a migration), with a password nobody ships."""
    user = User.objects.create_user("editor", password="a-test-only-password-1", is_staff=True)
    user.groups.add(Group.objects.get(name="editors"))
    return user


@pytest.fixture
def outsider(db) -> User:
    """A logged-in user without any permission."""
    return User.objects.create_user("outsider", password="a-test-only-password-2")
