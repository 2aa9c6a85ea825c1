"""Limit/offset pagination: 50 by default, at most 1000 (a larger limit is capped, never an error)."""

from rest_framework import pagination
from rest_framework.exceptions import ValidationError


class LimitOffsetPagination(pagination.LimitOffsetPagination):
    """DRF's limit/offset pagination, strict about malformed values instead of silently ignoring them."""

    default_limit = 50
    max_limit = 1000

    def get_limit(self, request) -> int:
        raw = request.query_params.get(self.limit_query_param)
        if raw is None or raw == "":
            return self.default_limit
        return min(self._integer(raw, self.limit_query_param, minimum=1), self.max_limit)

    def get_offset(self, request) -> int:
        raw = request.query_params.get(self.offset_query_param)
        if raw is None or raw == "":
            return 0
        return self._integer(raw, self.offset_query_param, minimum=0)

    @staticmethod
    def _integer(raw: str, name: str, *, minimum: int) -> int:
        # ASCII digits only, and short enough to stay an ordinary integer.
        if not (raw.isascii() and raw.isdigit() and len(raw) <= 18) or int(raw) < minimum:
            which = "a positive" if minimum else "a non-negative"
            raise ValidationError({name: [f"Enter {which} whole number, not {raw[:40]!r}."]})
        return int(raw)
