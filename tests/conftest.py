"""Shared pytest fixtures."""

import threading
import time

import pytest
from django.contrib.auth.models import Group, User
from django.test import override_settings

from .base import FIXTURES_DIR, made_once  # FIXTURES_DIR: other modules import it from here too


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every transactional test starts from the database as the migrations left it, whatever ran before it.

    A transactional test ends by emptying every table. Without ``serialized_rollback`` Django then creates the
    content types and permissions again, with new ids, but not the data migrations' rows (the editors group);
    with it, the next test puts back the rows saved when the test database was made. A mix of the two on one
    xdist worker broke whichever came second: a serialized test after an unserialized one failed on duplicate
    content types (34 live-server tests did, in a run that happened to order them so), an unserialized test after
    a serialized one found no content types at all. So every transactional test is serialized here, whether it
    asks for a transactional database by its marker or by a fixture (``transactional_db``, ``live_server``), and
    the marker's other settings are kept. pytest-django has already put the transactional tests last (as Django's
    runner does), so the plain tests before them keep running in a rolled-back transaction, untouched by this.
    """
    from pytest_django.fixtures import validate_django_db

    for item in items:
        marker = item.get_closest_marker("django_db")
        transaction, reset_sequences, databases, serialized, available_apps = (
            validate_django_db(marker) if marker else (False, False, None, False, None)
        )
        if serialized or not (
            transaction or reset_sequences or {"transactional_db", "live_server"} & set(item.fixturenames)
        ):
            continue
        item.add_marker(
            pytest.mark.django_db(
                transaction=True,
                reset_sequences=reset_sequences,
                databases=databases,
                serialized_rollback=True,
                available_apps=available_apps,
            ),
            append=False,  # closest to the test, so it is the one read
        )


@pytest.fixture(scope="session", autouse=True)
def fast_password_hashing():
    """Passwords hashed with MD5 in the tests (Django's advice for test suites): PBKDF2's million rounds cost
    0.3 s for each user created with a password or logged in with one, and the suite does that hundreds of times.
    Logging in still checks the password; only the hash function differs."""
    with override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]):
        yield


@pytest.fixture(autouse=True)
def live_server_requests_finish(request):
    """A test that used the live server ends only once the server's request threads have finished. The server
    closes its database connection after a response's last byte (``request_finished``); a test that had read the
    response and ended by then had pytest-django block database access again, and the server thread's cleanup
    raised ("Database access not allowed", a traceback in the run's output; seen in two CI runs of four)."""
    if "live_server" not in request.fixturenames:
        yield
        return
    request.getfixturevalue("transactional_db")  # set up first, so that database access is blocked after this waits
    yield
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(
        thread.is_alive() and "process_request_thread" in thread.name for thread in threading.enumerate()
    ):
        time.sleep(0.005)


def load_curated():
    from articles.services.fixtures import fixtures_load

    return fixtures_load(paths=[FIXTURES_DIR])


@pytest.fixture
def curated(db):
    """The real curated data set, loaded through the loader for this test alone (for tests that write)."""
    return load_curated()


@pytest.fixture(scope="class")
def curated_once(django_db_setup, django_db_blocker):
    """The real curated data set, loaded through the loader once for the whole test class and rolled back after
    it (see ``made_once``). Tests ask for it through ``curated_readonly``."""
    yield from made_once(django_db_blocker, load_curated)


@pytest.fixture
def curated_readonly(request, curated_once, db):
    """The curated data set, loaded once for the test's class, for tests that only read it.

    Each test still runs in its own savepoint, so even a write is undone before the next test; but a test
    that means to change the data asks for ``curated``. Use it from a test class: a module-level test
    function has no class, so it would load the data for itself alone (as ``curated`` does).
    """
    if request.cls is None:
        pytest.fail("curated_readonly is for tests in a class (load once per class); use curated", pytrace=False)
    marker = request.node.get_closest_marker("django_db")
    if {"transactional_db", "live_server"} & set(request.fixturenames) or (
        marker and (marker.kwargs.get("transaction") or (marker.args and marker.args[0]))
    ):
        pytest.fail("a transactional test cannot see the class's uncommitted data; use curated", pytrace=False)
    return curated_once


@pytest.fixture
def editor(db) -> User:
    """A staff user in the editors group (created by a migration), with a password nobody ships."""
    user = User.objects.create_user("editor", password="a-test-only-password-1", is_staff=True)
    user.groups.add(Group.objects.get(name="editors"))
    return user


@pytest.fixture
def editor_client(client, editor):
    """Django's test client, logged in as the editor: for the admin (the API tests use ``token_client``)."""
    client.force_login(editor)
    return client


@pytest.fixture
def outsider(db) -> User:
    """A logged-in user without any permission."""
    return User.objects.create_user("outsider", password="a-test-only-password-2")
