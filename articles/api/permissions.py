"""Who may do what through the API: DRF's model permissions (anyone reads; writing needs the model's add, change
or delete permission), without building the request's queryset only to learn its model."""

from rest_framework import permissions


class ModelPermissionsOrAnonReadOnly(permissions.DjangoModelPermissionsOrAnonReadOnly):
    """DRF's ``DjangoModelPermissionsOrAnonReadOnly``, reading the model from the view's ``queryset`` when it has
    one. DRF calls ``get_queryset()`` for it, which applies the visibility rules of every request a second time."""

    def _queryset(self, view):
        queryset = getattr(view, "queryset", None)
        return queryset if queryset is not None else super()._queryset(view)
