"""Filter building blocks for the FilterSets (NetBox style).

- Every filter takes repeated values, OR-ed (``?metric=revenue&metric=cost``); different parameters AND.
- Every value is validated before it reaches the database (whole numbers within 64 bits, decimals within
  the column's digits, datetimes that stay within years 1-9999 in UTC, no NUL characters), so a bad value
  is a 400 naming the parameter and never a database error.
- ``FilterBackend`` refuses unknown parameters, so a typo never silently returns everything.
"""

import copy
import datetime
from collections.abc import Callable, Collection, Mapping

import django_filters
from django import forms
from django.db import connections, models
from django.db.models import F, Q, QuerySet
from django.db.models.expressions import RawSQL
from django.http import QueryDict
from django_filters import fields as filter_fields
from django_filters import utils
from django_filters.constants import EMPTY_VALUES
from django_filters.rest_framework import DjangoFilterBackend
from rest_framework.exceptions import ValidationError

from articles import search
from articles.countries import country_code

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
RANGE_LOOKUPS = ["exact", "gte", "lte", "gt", "lt"]


class MultipleValueWidget(forms.TextInput):
    """A text box in the browsable API's filter form that reads every value of a repeated parameter."""

    def value_from_datadict(self, data, files, name):
        if hasattr(data, "getlist"):
            return data.getlist(name)
        value = data.get(name)
        return [] if value is None else value if isinstance(value, list) else [value]

    def format_value(self, value):
        if isinstance(value, (list, tuple)):
            value = value[-1] if value else None
        return super().format_value(value)


def multiple(field_class: type[forms.Field]) -> type[forms.Field]:
    """A form field that cleans each value of a repeated parameter with ``field_class``."""

    class MultipleValueField(field_class):
        widget = MultipleValueWidget

        def clean(self, value):
            values = value if isinstance(value, (list, tuple)) else [value]
            cleaned, errors = [], []
            for raw in values:
                if raw in self.empty_values:
                    continue
                try:
                    cleaned.append(super().clean(raw))
                except forms.ValidationError as exc:
                    # Parameters, not formatting: the value may hold a "%" that a later "%" would trip over.
                    errors.extend(
                        forms.ValidationError(
                            "%(value)s: %(message)s", params={"value": repr(str(raw)[:40]), "message": m}
                        )
                        for m in exc.messages
                    )
            if errors:
                raise forms.ValidationError(errors)
            return cleaned

    MultipleValueField.__name__ = f"Multiple{field_class.__name__}"
    return MultipleValueField


class DateTimeField(forms.DateTimeField):
    """A datetime that can be converted to UTC (``0001-01-01T00:00+05:00`` cannot), compared in UTC: PostgreSQL
    refuses an offset beyond 15:59 (``+23:15``), which ISO 8601 and Python allow."""

    def to_python(self, value):
        result = super().to_python(value)
        if result is not None:
            try:
                result = result.astimezone(datetime.UTC)
            except OverflowError as exc:
                raise forms.ValidationError("The date is out of range.", code="invalid") from exc
        return result


class MultiValueFilter(django_filters.MultipleChoiceFilter):
    """Matches any of the parameter's values; ``field_class`` decides what a valid value is."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("distinct", False)
        super().__init__(*args, **kwargs)
        # No magic "null" value: a value is compared as given.
        self.null_value = None


class MultiValueCharFilter(MultiValueFilter):
    field_class = multiple(forms.CharField)


class MultiValueIntegerFilter(MultiValueFilter):
    field_class = multiple(forms.IntegerField)

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("min_value", INT64_MIN)
        kwargs.setdefault("max_value", INT64_MAX)
        super().__init__(*args, **kwargs)


class MultiValueDecimalFilter(MultiValueFilter):
    field_class = multiple(forms.DecimalField)


class MultiValueDateFilter(MultiValueFilter):
    field_class = multiple(forms.DateField)


class MultiValueDateTimeFilter(MultiValueFilter):
    field_class = multiple(DateTimeField)


class ChoiceField(filter_fields.MultipleChoiceField):
    """A controlled vocabulary's values in any case (``kind=Miner``, ``unit=usd``), read as the vocabulary spells
    them; any other value is an error that lists the accepted ones, so a wrong value never silently matches
    nothing."""

    def accepted(self) -> list[str]:
        return [str(key) for key, _ in self.choices if key not in ("", None)]

    def to_python(self, value):
        spelled = {key.casefold(): key for key in self.accepted()}
        return [spelled.get(v.strip().casefold(), v) for v in super().to_python(value)]

    def validate(self, value):
        if self.required and not value:
            raise forms.ValidationError(self.error_messages["required"], code="required")
        accepted = self.accepted()
        wrong = [v for v in value if v not in accepted]
        if wrong:
            raise forms.ValidationError(
                [
                    forms.ValidationError(
                        "%(value)s is not one of: %(accepted)s (any case).",
                        code="invalid_choice",
                        params={"value": repr(v[:40]), "accepted": ", ".join(accepted)},
                    )
                    for v in wrong
                ]
            )


class ChoiceValueFilter(django_filters.MultipleChoiceFilter):
    """One of a controlled vocabulary's values, in any case; repeated, any of them."""

    field_class = ChoiceField

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("distinct", False)
        super().__init__(*args, **kwargs)


class CountryCodeField(forms.CharField):
    """An ISO 3166-1 alpha-2 country code in any case (``us``), read in upper case as codes are stored."""

    def to_python(self, value):
        value = super().to_python(value)
        if value in self.empty_values:
            return value
        code = country_code(value)
        if code is None:
            raise forms.ValidationError(
                "Enter a two-letter ISO 3166-1 country code such as US or CN (any case).", code="invalid"
            )
        return code


class CountryFilter(MultiValueFilter):
    """Records in any of these countries (ISO 3166-1 alpha-2 codes, any case)."""

    field_class = multiple(CountryCodeField)


class ValueRangeField(forms.CharField):
    """``MIN,MAX`` (either bound may be left empty) or one number ``N`` (``N,N``): a closed interval of decimals
    as a ``(low, high)`` pair, each bound validated as the ``value`` filters validate a number. Two bounds may come
    in either order (``866,660`` is ``660,866``): the interval between two numbers is the same either way."""

    def __init__(self, *, max_digits: int, decimal_places: int, **kwargs):
        self.bound = forms.DecimalField(max_digits=max_digits, decimal_places=decimal_places, required=False)
        super().__init__(**kwargs)

    def to_python(self, value):
        value = super().to_python(value)
        if value in self.empty_values:
            return value
        parts = [part.strip() for part in value.split(",")]
        if len(parts) == 1:
            parts *= 2
        if len(value) > 100 or len(parts) != 2 or parts == ["", ""]:
            raise forms.ValidationError(
                "Enter MIN,MAX (either may be left empty, e.g. 700000000,) or a single number.", code="invalid"
            )
        low, high = (self.bound.clean(part) for part in parts)
        if low is not None and high is not None and low > high:
            low, high = high, low
        return low, high


class RangeOverlapFilter(MultiValueFilter):
    """Records whose value, or range from ``field_name`` to ``high_field``, overlaps ``MIN,MAX``; repeated, any
    of the intervals. A record without a top end (``high_field`` empty) is the single value ``field_name``."""

    field_class = multiple(ValueRangeField)

    def __init__(self, *args, high_field: str, **kwargs):
        self.high_field = high_field
        super().__init__(*args, **kwargs)

    def overlaps(self, low, high) -> Q:
        """The value in ``[low, high]``, or a range that starts below ``low`` and reaches it (a range's top is never
        below its value: ``articles_figure_range_ordered``). Written as two ranges, not as ``value <= high AND
        (value_high >= low OR value >= low)``: PostgreSQL estimates a range of one column from its histogram, but
        multiplies the two halves of the other form as if they were independent, which at 100k figures made it
        expect 26,000 matches for none and walk every article in date order to find them (0.22-0.45 s a page)."""
        value, top = self.field_name, self.high_field
        if low is None:
            return Q(**{f"{value}__lte": high})
        within = Q(**{f"{value}__gte": low}) if high is None else Q(**{f"{value}__range": (low, high)})
        return within | Q(**{f"{value}__lt": low, f"{top}__gte": low})

    def filter(self, qs, value):
        intervals = dict.fromkeys(v for v in value or () if v)  # a blank value (" ") cleans to ""
        if not intervals:
            return qs
        condition = Q()
        for low, high in intervals:
            condition |= self.overlaps(low, high)
        return qs.filter(condition)


class ReachesDateFilter(MultiValueDateFilter):
    """Events that reach the day (``date_latest`` on or after it, or after it with ``lookup_expr="gt"``). On
    PostgreSQL the start ``date`` is also bounded, by the day less the longest span of any event (index
    ``event_date_span``, migration 0012), so that the list, in ``date`` order, is read from near the day instead of
    from the first event ever."""

    def get_filter_predicate(self, v):
        predicate = {f"date_latest__{self.lookup_expr}": v}
        parent = getattr(self, "parent", None)
        if parent is not None and connections[parent.queryset.db].vendor == "postgresql":
            table = parent.queryset.model._meta.db_table
            span = f"(SELECT s.date_latest - s.date FROM {table} s ORDER BY s.date_latest - s.date DESC LIMIT 1)"
            predicate["date__gte"] = RawSQL(f"%s::date - {span}", [v])
        return predicate


class CoversDateFilter(MultiValueDateFilter):
    """Records whose (possibly imprecise) date covers the day: ``date <= day <= date_latest``."""

    def get_filter_predicate(self, v):
        return {f"{self.field_name}__lte": v, f"{self.field_name}_latest__gte": v}


#: Given the values of one parameter, the current value of those that were renamed (``{old: new}``).
Redirects = Callable[[Collection[str]], Mapping[str, str]]


class ModelMultipleChoiceField(filter_fields.ModelMultipleChoiceField):
    """django-filter's field, refusing primary keys the database could not even compare.

    With ``redirects``, a value that names no record but was renamed (a merged company's slug) stands for
    the record it now names; a value that is neither stays an error naming it.
    """

    def __init__(self, *args, redirects: Redirects | None = None, **kwargs):
        self.redirects = redirects
        super().__init__(*args, **kwargs)

    def _check_values(self, value):
        if self.to_field_name is None:
            for pk in value:
                if (self.null_label is None or pk != self.null_value) and not _is_int64(pk):
                    raise forms.ValidationError(
                        self.error_messages["invalid_pk_value"], code="invalid_pk_value", params={"pk": str(pk)[:40]}
                    )
        try:
            return self._check_current_or_renamed(value)
        except forms.ValidationError as exc:
            # The unknown value is named in the error, cut short like every other filter's.
            if getattr(exc, "code", None) == "invalid_choice" and exc.params and "value" in exc.params:
                params = {**exc.params, "value": str(exc.params["value"])[:40]}
                raise forms.ValidationError(exc.message, code=exc.code, params=params) from exc
            raise

    def _check_current_or_renamed(self, value):
        if self.redirects is None:
            return self._keys(value)
        # Current values cost one query, as without redirects; only a miss looks the renamed ones up, all at once.
        try:
            return self._keys(value)
        except forms.ValidationError as exc:
            if getattr(exc, "code", None) != "invalid_choice":
                raise
            renamed = self.redirects({v for v in value if isinstance(v, str) and v != self.null_value})
            if not renamed:
                raise
        return self._keys([renamed.get(v, v) for v in value])

    def _keys(self, value) -> list:
        """The primary keys of the records ``value`` names, with ``null`` kept as given: the checks of
        django-filter's field (``null``) and Django's (every value names a record, else an error naming the first
        that does not), in one query that reads keys only. Django's builds a queryset per value and a model
        instance per record, a fifth of a filtered list's own CPU time; the filters compare foreign keys, which a
        primary key does as well as an instance."""
        null = self.null_label is not None and self.null_value in value
        wanted = [v for v in value if not (null and v == self.null_value)]
        try:
            distinct = frozenset(wanted)
        except TypeError:
            raise forms.ValidationError(self.error_messages["invalid_list"], code="invalid_list") from None
        for v in distinct:
            self.validate_no_null_characters(v)
        key = self.to_field_name or "pk"
        found = {}
        if distinct:
            found = _keys_found(self.queryset, key, distinct)
        for v in wanted:
            if str(v) not in found:
                raise forms.ValidationError(
                    self.error_messages["invalid_choice"], code="invalid_choice", params={"value": v}
                )
        return [found[str(v)] for v in dict.fromkeys(wanted)] + ([self.null_value] if null else [])


def _keys_found(queryset: QuerySet, key: str, values: frozenset) -> dict[str, object]:
    """``{str(value): primary key}`` for the records of ``queryset`` whose ``key`` is one of ``values``.

    A queryset of every record of its model, named by a text column (a slug: what nearly every filtered request
    names), is read with a plain statement: compiling the ORM's query cost about 0.3 ms of Python a request,
    against 0.04 ms of database time. Anything else (a restricted queryset, a primary key) goes through the ORM."""
    if not values:
        return {}
    query = queryset.query
    unrestricted = not (
        query.where or query.is_sliced or query.distinct or query.annotations or query.extra or query.combinator
    )
    field = queryset.model._meta.get_field(key) if key != "pk" else None
    if not unrestricted or not isinstance(field, models.CharField) or not all(isinstance(v, str) for v in values):
        records = queryset.filter(**{f"{key}__in": values}).order_by()
        return {str(k): pk for k, pk in records.values_list(key, "pk")}
    connection = connections[queryset.db]
    quote = connection.ops.quote_name
    meta = queryset.model._meta
    placeholders = ", ".join(["%s"] * len(values))
    sql = (
        f"SELECT {quote(field.column)}, {quote(meta.pk.column)} FROM {quote(meta.db_table)} "
        f"WHERE {quote(field.column)} IN ({placeholders})"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, list(values))
        return {k: pk for k, pk in cursor.fetchall()}


def _is_int64(value) -> bool:
    try:
        return INT64_MIN <= int(value) <= INT64_MAX
    except (TypeError, ValueError):
        return False


class RelatedFilter(django_filters.ModelMultipleChoiceFilter):
    """A related record by slug (``to_field_name="slug"``) or by primary key; with ``null_label``, ``null``
    matches records without one; with ``redirects`` (see ``ModelMultipleChoiceField``), an old slug matches
    the record it was merged into."""

    field_class = ModelMultipleChoiceField

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("distinct", False)
        super().__init__(*args, **kwargs)

    def get_filter_predicate(self, v):
        # Compare the foreign key itself (no join), whether the parameter named a slug or a primary key.
        return {self.field_name: v}


class SearchField(forms.CharField):
    """A search query (``articles.search`` syntax) of at most ``max_words`` words. One with nothing to find (only
    words as common as "the", or only excluded -words) is valid and finds nothing."""

    max_words = 20

    def clean(self, value):
        value = super().clean(value)
        if value and len(value.split()) > self.max_words:
            raise forms.ValidationError(f"Search for at most {self.max_words} words.", code="max_words")
        return value


class SearchFilter(django_filters.CharFilter):
    """Full-text search (``articles.search``, the engine of ``/api/search/``): the records whose indexed text
    matches, their order unchanged."""

    field_class = SearchField

    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", 200)
        kwargs.setdefault("field_name", "q")
        # "q" is no model field: without a label, the browsable API's filter form would say "[invalid name]".
        kwargs.setdefault("label", "Search")
        super().__init__(**kwargs)

    def filter(self, qs, value):
        if value in EMPTY_VALUES or not value.strip():
            return qs
        return search.search_filter(qs, value)


class OrderingFilter(django_filters.OrderingFilter):
    """``ordering=-value,date``. Empty values sort last either way (on every database), and ties are broken by
    id, so pages never overlap or skip a record: in the direction of the last field, which is the order an index on
    (field, id) gives read either way. Broken by ascending id after a descending field, the order matched no index
    past its first column, and PostgreSQL read every record of the largest date to sort them:
    ``/api/events/?ordering=-date`` took 0.3 s at 100k (100,001 events on one day), ``/api/articles/?ordering=
    -published_on`` 0.27 s, ``/api/events/?ordering=-updated_at`` 0.74 s."""

    def __init__(self, *args, then: dict[str, tuple[str, ...]] | None = None, **kwargs):
        """``then``: the fields that break ties after a field, before the id, when it comes last (``{"type":
        ("date",)}``: ``ordering=type`` is type, date, id), chosen to be the columns of an index that starts with
        it, so that a field with few values needs no index of its own."""
        kwargs.setdefault("help_text", "Sort by these fields, comma-separated; a leading - sorts descending.")
        self.then = then or {}
        super().__init__(*args, **kwargs)

    def filter(self, qs, value):
        params = [param for param in value or () if param not in EMPTY_VALUES]
        if not params:
            return qs
        fields = [self.get_ordering_value(param) for param in params]
        last = fields[-1].removeprefix("-")
        descending = fields[-1].startswith("-")
        ties = [f"-{field}" if descending else field for field in (*self.then.get(last, ()), "pk")]
        ordering = [
            F(field[1:]).desc(nulls_last=True) if field.startswith("-") else F(field).asc(nulls_last=True)
            for field in fields + ties
        ]
        return qs.order_by(*ordering)


class _OwnFieldsForm(forms.Form):
    """A filter form given its fields: ``BaseFilterSet`` copies its filters for each request, so their fields are
    the request's own already. Django's form would deep-copy every field again (a tenth of a filtered list's CPU
    time, protecting nothing), and django-filter makes a form class per request to hold them; here one class per
    filter set takes them as they are."""

    def __init__(self, *args, fields: dict[str, forms.Field], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields.update(fields)


def _copy_filter(filter_: django_filters.Filter) -> django_filters.Filter:
    """A request's own copy of a filter, as django-filter makes it (a deep copy), sharing its ``queryset``: the
    field made from it reads ``queryset.all()``, so the shared one is never evaluated, and copying a query is
    most of the cost of copying a related filter."""
    shared = {id(value): value for value in filter_.extra.values() if isinstance(value, QuerySet)}
    return copy.deepcopy(filter_, memo=shared)


class BaseFilterSet(django_filters.FilterSet):
    """Filters generated from ``Meta.fields`` are multi-valued and validated like the declared ones.

    A request builds only the filters it uses: django-filter deep-copies every filter and builds a form field for
    each on every request (about 14 ms for the figures list's hundred filters); here a list request with two
    parameters copies two. The browsable API's filter form asks for ``every_filter``.
    """

    def __init__(self, data=None, queryset=None, *, request=None, prefix=None, every_filter: bool = False):
        if queryset is None:
            queryset = self._meta.model._default_manager.all()
        self.is_bound = data is not None
        self.data = data or QueryDict()
        self.queryset = queryset
        self.request = request
        self.form_prefix = prefix
        used = self.base_filters if every_filter or data is None else [n for n in self.base_filters if n in data]
        self.filters = {name: _copy_filter(self.base_filters[name]) for name in used}
        for filter_ in self.filters.values():
            filter_.model = queryset.model
            filter_.parent = self

    #: ``{parameter: (counts model, column)}``: a list asked for with one of these parameters alone, naming one
    #: company or person, holds as many records as the database's stored count says (``counts_schema``).
    stored_counts: Mapping[str, tuple[type[models.Model], str]] = {}

    def stored_count(self) -> int | None:
        """How many records the list holds, read from the counts the database keeps, when the request's only
        filter is one of ``stored_counts`` naming one company or person (``None`` otherwise: count the rows).

        One row read by its key instead of counting the records: ``/api/events/?company=X`` counted the company's
        events through their status, one event row each (2.5 ms of database time for 600 events at 100k, 2,400
        buffers), and the count is exact beyond ``COUNT_CAP``. The stored counts leave proposals out, as a public
        list does: the view asks only for such a list (``RecordViewSet.stored_count``)."""
        used = [name for name in self.filters if name != "ordering"]
        if len(used) != 1 or used[0] not in self.stored_counts or not self.is_valid():
            return None
        values = self.form.cleaned_data.get(used[0])
        if not isinstance(values, list) or len(values) != 1 or type(values[0]) is not int:
            return None  # several, none, or ``null``
        model, column = self.stored_counts[used[0]]
        stored = model.objects.using(self.queryset.db).filter(pk=values[0]).values_list(column, flat=True)
        return next(iter(stored), None)

    def get_form_class(self):
        """The filter set's form class, made once: the request's fields are given to each form (``form``)."""
        cls = type(self)
        form_class = cls.__dict__.get("_form_class")
        if form_class is None:
            form_class = type(f"{cls.__name__}Form", (_OwnFieldsForm, self._meta.form), {})
            cls._form_class = form_class
        return form_class

    @property
    def form(self) -> forms.Form:
        if not hasattr(self, "_form"):
            fields = {name: filter_.field for name, filter_ in self.filters.items()}
            data = self.data if self.is_bound else None
            self._form = self.get_form_class()(data, prefix=self.form_prefix, fields=fields)
        return self._form

    @classmethod
    def filter_for_lookup(cls, field, lookup_type):
        if getattr(field, "choices", None):
            return ChoiceValueFilter, {"choices": field.choices}
        if isinstance(field, models.DecimalField):
            return MultiValueDecimalFilter, {"max_digits": field.max_digits, "decimal_places": field.decimal_places}
        if isinstance(field, (models.IntegerField, models.AutoField)):
            return MultiValueIntegerFilter, {}
        if isinstance(field, models.DateTimeField):
            return MultiValueDateTimeFilter, {}
        if isinstance(field, models.DateField):
            return MultiValueDateFilter, {}
        if isinstance(field, (models.CharField, models.TextField)):
            return MultiValueCharFilter, {}
        return super().filter_for_lookup(field, lookup_type)


class FilterBackend(DjangoFilterBackend):
    """django-filter, refusing query parameters that neither a filter, the paginator nor the renderer knows."""

    always_accepted = frozenset({"limit", "offset", "cursor", "format"})
    #: Build every filter (for the browsable API's form), not only those the request uses.
    every_filter = False

    def get_filterset_kwargs(self, request, queryset, view):
        return {**super().get_filterset_kwargs(request, queryset, view), "every_filter": self.every_filter}

    def to_html(self, request, queryset, view):
        self.every_filter = True
        return super().to_html(request, queryset, view)

    def accepted_parameters(self, view, queryset) -> set[str]:
        filterset_class = self.get_filterset_class(view, queryset)
        return set(self.always_accepted) | set(filterset_class.base_filters if filterset_class else ())

    def filter_queryset(self, request, queryset, view):
        accepted = self.accepted_parameters(view, queryset)
        unknown = [name for name in request.query_params if name not in accepted]
        if unknown:
            listing = ", ".join(sorted(accepted))
            raise ValidationError({name[:100]: [f"Unknown query parameter; accepted: {listing}."] for name in unknown})
        # As django-filter's, keeping the filter set for the view (``RecordViewSet.stored_count``).
        filterset = self.get_filterset(request, queryset, view)
        if filterset is None:
            return queryset
        if not filterset.is_valid() and self.raise_exception:
            raise utils.translate_validation(filterset.errors)
        view.filterset = filterset
        return filterset.qs
