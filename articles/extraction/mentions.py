"""Mentions: known names through an Aho–Corasick automaton, near misses through RapidFuzz, new organisations.

Rules, each tested in tests/test_extraction.py:
- a name matches on word boundaries, whatever its case, except that a one-word name written with capitals
  ("Block", "Riot", "Battle") does not match the same word in lower case ("a block of", "the battle for");
- a run-on capture ("2019Bitmain") still matches: a name may start right after digits;
- where names overlap the longest wins; a company named as the owner inside another's name ("Tencent's QQ")
  is kept as a nested mention of its own ("BitMEX Research" does not name BitMEX);
- a capitalised word or phrase one edit away from a known spelling of six letters or more (two edits from
  eleven), starting with the same letter, is proposed as "probably" that record ("Bitmian" -> Bitmain); a
  plural of a known name ("Hashfarms") is not;
- a capitalised phrase of two words or more ending in an organisation word ("Inc.", "Group", "Holdings",
  "Technologies", ...) that matches nothing is proposed as a new company.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rapidfuzz import process
from rapidfuzz.distance import OSA

from . import COMPANY, NEW_COMPANY, PERSON, MentionProposal
from .dictionary import Dictionary, Entry, fold

ORG_SUFFIXES = frozenset(
    """inc inc. incorporated ltd ltd. limited llc llp plc corp corp. corporation co co. company group holdings
    technologies technology tech capital digital partners exchange bank mining miners research university committee
    commission council association foundation fund ventures labs laboratories systems networks network media news
    agency ministry department bureau authority institute center centre platforms semiconductor semiconductors
    electronics securities investments investment insurance energy power solutions industries international
    enterprises trust gmbh ag sa nv bv""".split()
)
# Capitalised words that start sentences or name things other than organisations: never a near miss or a new
# company by themselves.
COMMON_WORDS = frozenset(
    """a an the this that these those it its he she they we i you his her their our my your there here in on at
    of for to from by with as and or but if when while after before since until during about above over under
    according although though however meanwhile moreover therefore thus also even still yet now then today
    new old first second last next many most more some any each every all both other another such no not
    mr mrs ms dr ceo cfo president senator minister chairman chief director spokesman spokesperson analyst
    january february march april may june july august september october november december
    monday tuesday wednesday thursday friday saturday sunday
    bitcoin ethereum crypto cryptocurrency cryptocurrencies blockchain ai asic asics ipo us usa uk eu un
    chinese american european asian russian china america europe asia russia""".split()
)

_CAP_WORD = re.compile(r"[A-Z][\w.&'’-]*|[0-9]+[A-Z][\w]*")
_WORD_CHAR = re.compile(r"\w")


@dataclass
class _Match:
    start: int
    end: int
    entry: Entry
    nested: bool = False


def _boundary_ok(text: str, start: int, end: int) -> bool:
    before = text[start - 1] if start > 0 else " "
    after = text[end] if end < len(text) else " "
    if before.isalpha() or before == "_":
        return False
    if before.isdigit() and not text[start].isupper():
        return False
    if after.isalnum() or after == "_":
        # "Bitmain.A" is fine (a full stop); "Bitmains" is not; "BitmainTechnologies" is a run-on.
        return after.isupper() and text[end - 1].islower()
    return True


def _case_ok(found: str, spelling: str) -> tuple[bool, bool]:
    """(accept, exact case)."""
    if found == spelling:
        return True, True
    if " " not in spelling and any(c.isupper() for c in spelling) and found == found.lower():
        return False, False
    return True, False


def find_known(text: str, dictionary: Dictionary) -> list[_Match]:
    folded = fold(text)
    candidates: list[_Match] = []
    if not len(dictionary):
        return candidates
    for end_index, (spelling_folded, entries) in dictionary.automaton.iter(folded):
        end = end_index + 1
        start = end - len(spelling_folded)
        if not _boundary_ok(text, start, end):
            continue
        found = text[start:end]
        for entry in entries:
            accept, _ = _case_ok(found, entry.spelling)
            if accept:
                candidates.append(_Match(start, end, entry))
    # Longest first; among equals, the record's own name before an alias, a real alias before a garble.
    candidates.sort(key=lambda m: (-(m.end - m.start), m.start, m.entry.garbled, m.entry.spelling != m.entry.name))
    kept: list[_Match] = []
    for candidate in candidates:
        overlapping = [k for k in kept if candidate.start < k.end and k.start < candidate.end]
        if not overlapping:
            kept.append(candidate)
            continue
        # A company inside another company's (or another record's) name: kept as nested, once per record.
        if candidate.entry.kind != COMPANY:
            continue
        inside = [k for k in overlapping if k.start <= candidate.start and candidate.end <= k.end and not k.nested]
        if len(inside) != 1 or inside[0].entry.slug == candidate.entry.slug or inside[0].entry.kind != COMPANY:
            continue
        if any(k.nested and k.entry.slug == candidate.entry.slug and k.start >= inside[0].start for k in overlapping):
            continue
        if text[candidate.end : candidate.end + 2] not in ("'s", "’s"):
            continue  # only an owner is named inside a name: "Tencent's QQ", not "BitMEX Research"
        kept.append(_Match(candidate.start, candidate.end, candidate.entry, nested=True))
    kept.sort(key=lambda m: (m.start, m.nested))
    return kept


def _known_proposal(text: str, match: _Match) -> MentionProposal:
    entry = match.entry
    found = text[match.start : match.end]
    exact_case = found == entry.spelling
    if match.nested:
        confidence, reason = 0.6, f"{entry.name} is named as the owner inside a longer name"
    elif entry.garbled:
        confidence, reason = 0.75, f'"{entry.spelling}" is a known garble of {entry.name}'
    elif entry.spelling == entry.name:
        confidence, reason = 0.95, f"the name of {entry.name}"
    else:
        confidence, reason = 0.9, f'"{entry.spelling}" is an alias of {entry.name}'
    if not exact_case:
        confidence -= 0.1
        reason += " (written in another case)"
    return MentionProposal(
        kind=entry.kind,
        slug=entry.slug,
        name=found,
        start=match.start,
        end=match.end,
        confidence=round(confidence, 2),
        reason=reason,
        probable=False,
    )


def _capitalised_runs(text: str) -> list[list[tuple[int, int]]]:
    """Runs of capitalised words (with "of", "and", "&" inside them), as lists of (start, end)."""
    runs: list[list[tuple[int, int]]] = []
    current: list[tuple[int, int]] = []
    pending: list[tuple[int, int]] = []  # connector words waiting for a capitalised word after them
    for match in re.finditer(r"[\w.&'’-]+", text):
        word = match.group()
        stripped = word.rstrip(".,'’")
        if not stripped:
            continue
        start, end = match.start(), match.start() + len(stripped)
        if stripped.lower() in ("inc", "ltd", "corp", "co") and word.endswith("."):
            end += 1
        gap = text[current[-1][1] : start] if current else ""
        if current and (gap.strip() not in ("", ",") or "\n" in gap or "." in gap):
            runs.append(current)
            current, pending = [], []
        if _CAP_WORD.fullmatch(stripped) or stripped.rstrip(".") in ("Inc", "Ltd", "LTD"):
            current.extend(pending)
            pending = []
            current.append((start, end))
        elif current and stripped in ("of", "and", "&", "de", "for") and not pending:
            pending.append((start, end))
        else:
            if current:
                runs.append(current)
            current, pending = [], []
        if word.endswith((".", ",")) and word.rstrip(".").lower() not in ("inc", "ltd", "corp", "co"):
            if current and word.endswith("."):
                runs.append(current)
                current, pending = [], []
    if current:
        runs.append(current)
    return runs


def _mask(length: int, spans: list[tuple[int, int]]) -> bytearray:
    mask = bytearray(length + 1)
    for start, end in spans:
        mask[start:end] = b"\x01" * (end - start)
    return mask


def find_near_misses(
    text: str, dictionary: Dictionary, taken: list[tuple[int, int]], runs: list[list[tuple[int, int]]]
) -> list[MentionProposal]:
    proposals: list[MentionProposal] = []
    table = dictionary.fuzzy_table
    if not table:
        return proposals
    used = _mask(len(text), taken)
    for run in runs:
        for size in range(min(4, len(run)), 0, -1):
            choices = table.get(size)
            if not choices:
                continue
            spellings = [c[0] for c in choices]
            for i in range(len(run) - size + 1):
                start, end = run[i][0], run[i + size - 1][1]
                if 1 in used[start:end]:
                    continue
                found = text[start:end]
                query = fold(found)
                letters = len(query.replace(" ", ""))
                if letters < 6 or query in COMMON_WORDS or query.split()[0] in COMMON_WORDS:
                    continue
                allowed = 2 if letters >= 11 else 1
                best = process.extractOne(query, spellings, scorer=OSA.distance, score_cutoff=allowed)
                if best is None or best[1] == 0:
                    continue
                if query.rstrip("s'’") in dictionary.spellings or query.endswith(("'s", "’s")):
                    continue  # a plural or possessive of a known name is that name, not a near miss
                spelling, distance, index = best
                entry = choices[index][1]
                if spelling[0] != query[0] or len(spelling.replace(" ", "")) < 6:
                    continue
                similarity = 1 - distance / max(len(spelling), len(query))
                proposals.append(
                    MentionProposal(
                        kind=entry.kind,
                        slug=entry.slug,
                        name=found,
                        start=start,
                        end=end,
                        confidence=round(0.3 + 0.4 * similarity, 2),
                        reason=f'"{found}" is {distance} letter{"s" if distance > 1 else ""} away from '
                        f'"{entry.spelling}": probably {entry.name}',
                        probable=True,
                    )
                )
                used[start:end] = b"\x01" * (end - start)
    return proposals


def find_new_companies(
    text: str, taken: list[tuple[int, int]], runs: list[list[tuple[int, int]]]
) -> list[MentionProposal]:
    proposals: list[MentionProposal] = []
    used = _mask(len(text), taken)
    for run in runs:
        # Drop leading words that start a sentence or are not names ("The", "According", "In").
        while run and fold(text[run[0][0] : run[0][1]]) in COMMON_WORDS:
            run = run[1:]
        while run and fold(text[run[-1][0] : run[-1][1]]) in ("of", "and", "&", "de", "for"):
            run = run[:-1]
        if len(run) < 2:
            continue
        start, end = run[0][0], run[-1][1]
        last = fold(text[run[-1][0] : run[-1][1]])
        if last not in ORG_SUFFIXES and last.rstrip(".") not in ORG_SUFFIXES:
            continue
        if 1 in used[start:end]:
            continue
        name = text[start:end]
        proposals.append(
            MentionProposal(
                kind=NEW_COMPANY,
                slug=None,
                name=name,
                start=start,
                end=end,
                confidence=0.5,
                reason=f'"{name}" reads as an organisation\'s name ("{text[run[-1][0] : run[-1][1]]}") and matches '
                "no company or alias",
                probable=False,
            )
        )
    return proposals


def find_mentions(text: str, dictionary: Dictionary) -> tuple[list[MentionProposal], list[_Match]]:
    """All mentions, in text order, and the exact matches (for the figure and event rules)."""
    known = find_known(text, dictionary)
    proposals = [_known_proposal(text, m) for m in known]
    taken = [(m.start, m.end) for m in known]
    runs = _capitalised_runs(text)
    near = find_near_misses(text, dictionary, taken, runs)
    proposals += near
    taken += [(p.start, p.end) for p in near]
    proposals += find_new_companies(text, taken, runs)
    proposals.sort(key=lambda p: (p.start, -p.end))
    return proposals, known


__all__ = ["COMPANY", "NEW_COMPANY", "PERSON", "find_mentions"]
