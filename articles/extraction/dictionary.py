"""The names extraction looks for: every company and person, with every alias (garbled ones included).

``Dictionary.from_database()`` reads them in three queries; ``Dictionary(entries)`` builds one from plain
``Entry`` values (tests, scripts). The Aho–Corasick automaton and the fuzzy-matching tables are built once,
when first needed, and kept on the instance: build the dictionary once and reuse it for many articles.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property

import ahocorasick


@dataclass(frozen=True)
class Entry:
    """One spelling of one company or person."""

    kind: str  # "company" | "person"
    slug: str
    spelling: str  # the name or alias as the press writes it
    name: str  # the record's own name
    garbled: bool = False
    company_kind: str = ""  # articles.choices.CompanyKind, for companies
    affiliation: str | None = None  # a person's company slug


def fold(text: str) -> str:
    """Lower case, with typographic apostrophes and dashes made plain; one character for one character."""
    return text.lower().translate(_FOLD)


_FOLD = str.maketrans({"’": "'", "‘": "'", "–": "-", "—": "-", "\u00a0": " "})


class Dictionary:
    def __init__(self, entries: Iterable[Entry]):
        self.entries: list[Entry] = []
        seen: set[tuple[str, str, str]] = set()
        for entry in entries:
            spelling = " ".join(entry.spelling.split())
            if not spelling:
                continue
            key = (entry.kind, entry.slug, spelling)
            if key in seen:
                continue
            seen.add(key)
            self.entries.append(
                Entry(
                    entry.kind,
                    entry.slug,
                    spelling,
                    entry.name,
                    entry.garbled,
                    entry.company_kind,
                    entry.affiliation,
                )
            )
        self.companies: dict[str, Entry] = {}
        self.people: dict[str, Entry] = {}
        for entry in self.entries:
            table = self.companies if entry.kind == "company" else self.people
            if entry.spelling == entry.name or entry.slug not in table:
                table[entry.slug] = entry

    @classmethod
    def from_database(cls) -> Dictionary:
        from ..models import Alias, Company, Person

        entries: list[Entry] = []
        companies = {c["id"]: c for c in Company.objects.values("id", "slug", "name", "kind")}
        people = {p["id"]: p for p in Person.objects.values("id", "slug", "name", "affiliation__slug")}
        for company in companies.values():
            entries.append(Entry("company", company["slug"], company["name"], company["name"], False, company["kind"]))
        for person in people.values():
            entries.append(
                Entry("person", person["slug"], person["name"], person["name"], affiliation=person["affiliation__slug"])
            )
        for alias in Alias.objects.values("company_id", "person_id", "name", "garbled").order_by("id"):
            if alias["company_id"] in companies:
                company = companies[alias["company_id"]]
                entries.append(
                    Entry("company", company["slug"], alias["name"], company["name"], alias["garbled"], company["kind"])
                )
            elif alias["person_id"] in people:
                person = people[alias["person_id"]]
                entries.append(
                    Entry(
                        "person",
                        person["slug"],
                        alias["name"],
                        person["name"],
                        alias["garbled"],
                        affiliation=person["affiliation__slug"],
                    )
                )
        return cls(entries)

    def entry(self, kind: str, slug: str) -> Entry | None:
        return (self.companies if kind == "company" else self.people).get(slug)

    def company_kind(self, slug: str) -> str:
        entry = self.companies.get(slug)
        return entry.company_kind if entry else ""

    @cached_property
    def automaton(self) -> ahocorasick.Automaton:
        """Folded spelling -> the entries spelled so (several records may share a spelling)."""
        by_spelling: dict[str, list[Entry]] = {}
        for entry in self.entries:
            by_spelling.setdefault(fold(entry.spelling), []).append(entry)
        automaton = ahocorasick.Automaton()
        for folded, entries in by_spelling.items():
            automaton.add_word(folded, (folded, tuple(entries)))
        if by_spelling:
            automaton.make_automaton()
        return automaton

    @cached_property
    def spellings(self) -> frozenset[str]:
        return frozenset(fold(entry.spelling) for entry in self.entries)

    @cached_property
    def fuzzy_table(self) -> dict[int, list[tuple[str, Entry]]]:
        """Word count -> (folded spelling, entry), for near misses. Spellings of fewer than five letters are
        left out: one letter off in a short name is another word."""
        table: dict[int, list[tuple[str, Entry]]] = {}
        for entry in self.entries:
            if len(entry.spelling.replace(" ", "")) < 5:
                continue
            table.setdefault(len(entry.spelling.split()), []).append((fold(entry.spelling), entry))
        return table

    def __len__(self) -> int:
        return len(self.entries)
