"""The lists a history entry keeps a copy of (an event's participants, a company's or person's aliases), as
text for the history API and the admin's history page."""

from typing import Any


def participants_text(participants: list[dict]) -> str | None:
    """An event's participants at one version: "bitmain (subject), jihan-wu (founder)"."""
    return ", ".join(f"{p['company'] or p['person']} ({p['role']})" for p in participants) or None


def aliases_text(aliases: list[dict]) -> str | None:
    """A company's or person's aliases at one version: "Battle (garbled), Bitmain Technologies"."""
    return ", ".join(f"{a['name']} (garbled)" if a["garbled"] else a["name"] for a in aliases) or None


# (name in the changes, column of the history entry, as text)
SNAPSHOTS = [
    ("participants", "participants_snapshot", participants_text),
    ("aliases", "aliases_snapshot", aliases_text),
]


def snapshot_changes(previous: Any, record: Any) -> list[tuple[str, str | None, str | None]]:
    """The copied lists that differ between two consecutive history entries, as (name, old, new) text.

    An entry written before copies existed holds null: there is nothing to compare it with.
    """
    changes = []
    for name, column, text in SNAPSHOTS:
        old, new = getattr(previous, column, None), getattr(record, column, None)
        if old is not None and new is not None and old != new:
            changes.append((name, text(old), text(new)))
    return changes
