"""The history endpoint's entries: who changed what, when and why (django-simple-history underneath).

An entry is ``{id, date, user, type, reason, changes}``; ``changes`` lists each field whose value differs
from the previous entry, with ``old`` and ``new`` as strings (null for an empty value), related records named
by slug (users as ``attribution`` names them for the reader), lists (an article's mentions, an event's
participants, aliases) as comma-separated text. Bookkeeping columns (version, timestamps, derived offsets) are left
out.
"""

import datetime
import json
from decimal import Decimal
from typing import Any

from django.contrib.auth import get_user_model
from django.db import models
from rest_framework import serializers

from articles.services.history import lists_changes

from .attribution import user_name, user_names

HISTORY_TYPES = {"+": "created", "~": "changed", "-": "deleted"}
NOT_SHOWN = {
    "id",
    "version",
    "created_at",
    "updated_at",
    "quote_start",
    "quote_end",
    "date_latest",
}


class ChangeSerializer(serializers.Serializer):
    field = serializers.CharField()
    old = serializers.JSONField(allow_null=True, help_text="The previous value as a string; null when empty.")
    new = serializers.JSONField(allow_null=True, help_text="The new value as a string; null when empty.")


class HistoryEntrySerializer(serializers.Serializer):
    id = serializers.IntegerField(help_text="The history entry's id.")
    date = serializers.DateTimeField()
    user = serializers.CharField(
        allow_null=True,
        help_text="Who made the change (load_fixtures for the loader): the username for a logged-in reader, the "
        "editor's name (or editor-<id>) for anyone else.",
    )
    type = serializers.ChoiceField(choices=sorted(HISTORY_TYPES.values()))
    reason = serializers.CharField(allow_null=True, help_text="The change reason given, if any.")
    changes = ChangeSerializer(many=True, help_text="Empty for a creation.")


def _label(model: type[models.Model]) -> str:
    return "slug" if any(f.name == "slug" for f in model._meta.fields) else "pk"


def _names(model: type[models.Model], pks: set, request: Any) -> dict:
    if model is get_user_model():
        return user_names(pks, request)
    return dict(model._default_manager.filter(pk__in=pks).values_list("pk", _label(model)))


def _text(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, (datetime.date, datetime.datetime)):
        return value.isoformat()
    if isinstance(value, (list, dict)):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def history_entries(records: list[models.Model], request: Any = None) -> list[dict[str, Any]]:
    """Entries for one record's historical rows, given newest first, with users named as ``request`` sees them."""
    if not records:
        return []
    fields = [f for f in records[0].tracked_fields if f.name not in NOT_SHOWN]
    entries, references = [], {}
    for index, record in enumerate(records):
        previous = records[index + 1] if index + 1 < len(records) else None
        changes = []
        if record.history_type != "+" and previous is not None:
            for field in fields:
                old, new = getattr(previous, field.attname), getattr(record, field.attname)
                if old != new:
                    changes.append({"field": field.name, "old": old, "new": new, "_field": field})
                    if field.is_relation:
                        references.setdefault(field.related_model, set()).update(v for v in (old, new) if v is not None)
            for name, old, new in lists_changes(previous, record):
                changes.append({"field": name, "old": old, "new": new, "_field": None})
        entries.append(
            {
                "id": record.history_id,
                "date": record.history_date,
                "user": user_name(record.history_user, request) if record.history_user_id else None,
                "type": HISTORY_TYPES.get(record.history_type, "changed"),
                "reason": record.history_change_reason or None,
                "changes": changes,
            }
        )
    # Related records named as people know them, one query per related model.
    names = {model: _names(model, pks, request) for model, pks in references.items()}
    for entry in entries:
        for change in entry["changes"]:
            field = change.pop("_field")
            if field is None:  # already text
                continue
            for side in ("old", "new"):
                value = change[side]
                if field.is_relation and value is not None:
                    value = names[field.related_model].get(value, value)
                change[side] = _text(value)
    return entries
