"""Writes that touch more than one row. Views, serializers, the admin and commands call these."""
