"""The test suite itself: a transactional test starts from the database as the migrations left it, whatever ran
before it on the same worker (``conftest.pytest_collection_modifyitems``).

Which tests share an xdist worker, and in which order, changes from run to run, so the suite's own run cannot
show this. ``test_any_order_of_transactional_tests_starts_from_the_migrated_database`` runs the tests of this
file in a fresh pytest, one worker, in the orders that broke before (a serialized test after an unserialized
one failed on duplicate content types; an unserialized one after a serialized one found no content types).
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.db import connection

from .base import make_article

CHILD = "NEWSDB_SUITE_ISOLATION_CHILD"
ROOT = Path(__file__).resolve().parent.parent


def assert_the_migrated_database_then_write():
    """What the migrations made is there, once, and this test's own write is not left from a test before."""
    assert Group.objects.filter(name="editors").count() == 1
    assert ContentType.objects.filter(app_label="articles", model="figure").count() == 1
    assert Permission.objects.filter(content_type__app_label="articles", codename="change_figure").count() == 1
    assert not Group.objects.filter(name="left-by-a-test").exists()
    Group.objects.create(name="left-by-a-test")
    make_article("isolation-story")  # a domain row too, which the next test must not see


@pytest.mark.django_db(transaction=True)
def test_by_marker():
    assert_the_migrated_database_then_write()


def test_by_fixture(transactional_db):
    assert_the_migrated_database_then_write()


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_serialized_by_marker():
    assert_the_migrated_database_then_write()


def test_through_the_live_server(live_server):
    assert_the_migrated_database_then_write()


@pytest.mark.skipif(bool(os.environ.get(CHILD)), reason="the fresh pytest of the test below")
@pytest.mark.parametrize(
    "order",
    [
        ["test_by_marker", "test_serialized_by_marker", "test_by_fixture", "test_through_the_live_server"],
        ["test_serialized_by_marker", "test_by_marker", "test_through_the_live_server", "test_by_fixture"],
    ],
)
def test_any_order_of_transactional_tests_starts_from_the_migrated_database(order):
    env = dict(os.environ, **{CHILD: "1"})
    if connection.vendor == "postgresql":  # a test database of its own, beside this run's and the other workers'
        address, _, query = env["DATABASE_URL"].partition("?")
        suffix = "_isolation_" + os.environ.get("PYTEST_XDIST_WORKER", "main")
        env["DATABASE_URL"] = address + suffix + ("?" + query if query else "")
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-n", "0", "-p", "no:randomly"]
        + [f"tests/test_suite_isolation.py::{name}" for name in order],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert f"{len(order)} passed" in run.stdout
