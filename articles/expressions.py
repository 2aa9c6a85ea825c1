"""SQL expressions the ORM has no words for."""

from django.db.models import Expression, F


class OnOwnTable(Expression):
    """SQL on a column of the queryset's own table that Django's model does not know (kept by the database: a
    search document, a figure's copy of its article's date). The table's name or alias is read from the queryset's
    own ``pk`` column, so it stays right when the queryset becomes a subquery (``U0``)."""

    def __init__(self, pk: Expression | None = None):
        super().__init__()
        self.pk = pk if pk is not None else F("pk")

    def get_source_expressions(self) -> list:
        return [self.pk]

    def set_source_expressions(self, expressions: list) -> None:
        (self.pk,) = expressions

    def table(self, compiler) -> tuple[str, list]:
        column, params = compiler.compile(self.pk)
        return column.rsplit(".", 1)[0], params
