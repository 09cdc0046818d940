"""Scoring two analysed names: the part of matching that runs for every pair a
search retrieves (tens per payee name, millions in a batch).

`ledger.screening.names` analyses names (`normalize_name`) into the `Token` and
`NormalizedName` defined here, picks the list names worth scoring, and weighs
whole entries; this module aligns two analysed names' parts and scores them.
It imports nothing of the project and nothing untyped but rapidfuzz, so that
mypyc can compile it to C when the package is installed (``setup.py``): the
same source, faster (docs/screening.md, "Compiled scoring").
`ledger.screening.SCORING_COMPILED` tells which one is running;
``test_the_compiled_scoring_answers_as_its_source`` (tests/screening/test_names.py)
holds the compiled module to the source's answers.
"""

from __future__ import annotations

import math
import re
from collections.abc import Hashable
from dataclasses import dataclass, field
from functools import lru_cache

from rapidfuzz.distance import Indel, JaroWinkler, Levenshtein

#: A part on many list entries says less (Mohammed, Ahmad): its weight falls by
#: this much per doubling of its entries beyond `MIN_ENTRIES`, to the floor.
COMMON_PART_SLOPE = 0.08
COMMON_PART_FLOOR = 0.65

#: A part of the father's chain (Token.role "middle") left over in the longer of two
#: names counts this much of its weight: "Ismail Abdel Salam Ahmed Haniyeh"
#: is still "HANIYA, Ismail", "Abeer Mohammed Hassan Radwan" is not
#: "Mohamed Hassan" (her father's and grandfather's names).
MIDDLE_PART_FACTOR = 0.5

#: A shorter name whose given (or family) name is found only among a longer
#: name's links, while the longer name's own given (or family) name is not
#: found, is multiplied by this when that part is as common as a part gets
#: (less when it is rarer, nothing when it is rare): "MOHAMMAD HEJAZI" in
#: "Fatima Mohammed Hejazi" (her father), "KAMEL, Mohamed" in "Khaled Kamal
#: Mohammed Al-Shawwa" (his father and grandfather).
ROLE_CROSSING_FACTOR = 0.85
# The shorter name's family name found only as a given name of a longer name whose
# own family name went unmatched: the score times this, for the commonest names.
FAMILY_CROSSING_FACTOR = 0.85

#: A weak alias (UN quality "Low", OFAC remarks a.k.a.) is a broad nickname:
#: its name score is multiplied by this.
WEAK_ALIAS_FACTOR = 0.85


@dataclass(frozen=True, slots=True)
class Token:
    """One comparable part of a name."""

    text: str  # ASCII form of the part (without its particle)
    key: str  # folded form: romanisation variants erased
    skeleton: str  # consonants of the key, for comparing across scripts
    skeletons: tuple[str, ...]  # the skeleton's readings (ambiguous letters), first = skeleton
    vowels: str  # long vowels an Arabic spelling writes (a, i, u); "" for Latin parts
    prefix: str = ""  # "abu", "bin" or "umm" when the part follows one
    weight: float = 1.0  # less for generic words, lone particles and initials
    initial: bool = False
    full: bool = True  # a name part proper: not an initial, a lone particle or a generic word
    rarity: float = 1.0  # what the part says: less when many list entries carry it
    # In a person's name: "given", "family" or "middle" (a link of the
    # father's chain, nasab); "" for one-part names and organisations.
    role: str = ""
    # Same number, same answers from `_part_similarity` (see `_part_id`). Kept as the
    # one int object that every token of the part shares (typed ``Hashable`` so that
    # compiled code keeps that object, not the number): the part-pair cache's key,
    # found by identity, with no number boxed anew and compared at each look-up.
    part_id: Hashable = field(default=-1, compare=False)


@dataclass(frozen=True, slots=True)
class NormalizedName:
    """A name as the matcher sees it."""

    original: str
    tokens: tuple[Token, ...]
    arabic: bool  # written in Arabic script: compare on skeletons
    joined: str  # keys joined, in order: catches split / merged parts
    joined_skeleton: str
    weight: float  # sum of the parts' weights
    information: float  # sum of the parts' weights times their rarity: what the name says
    # The same with the father's chain counted at `MIDDLE_PART_FACTOR`: what the
    # name says as the longer of two names (see `_align`).
    edge_information: float


# --------------------------------------------------------------------------- scoring


@lru_cache(maxsize=65_536)
def _vowel_agreement(written: str, key: str) -> float:
    """Share of the long vowels an Arabic spelling writes that a Latin key
    has, in order (alif a; ya i, also read a / e; waw u)."""
    if not written:
        return 1.0
    latin = re.sub(r"[^aiu]", "", key)
    row = [0] * (len(latin) + 1)
    for v in written:
        prev = row[:]
        for j, c in enumerate(latin, 1):
            same = c == v or (v == "i" and c == "a")
            row[j] = prev[j - 1] + 1 if same else max(prev[j], row[j - 1])
    return row[-1] / len(written)


def _skeleton_similarity(a: Token, b: Token) -> float:
    """Best normalised Levenshtein similarity over the two parts' skeleton readings."""
    if a.skeleton == b.skeleton:
        return 1.0
    if len(a.skeletons) == len(b.skeletons) == 1:
        return Levenshtein.normalized_similarity(a.skeleton, b.skeleton)
    return _readings_similarity(a.skeletons, b.skeletons)


@lru_cache(maxsize=262_144)
def _readings_similarity(xs: tuple[str, ...], ys: tuple[str, ...]) -> float:
    best = 0.0
    for x in xs:
        for y in ys:
            if x == y:
                return 1.0
            best = max(best, Levenshtein.normalized_similarity(x, y))
    return best


_NOT_VOWEL = re.compile(r"[^aiu]")
_jaro_winkler = JaroWinkler.normalized_similarity


def _part_similarity(a: Token, b: Token, on_skeleton: bool) -> float:
    if a.initial or b.initial:
        if a.initial and b.initial:
            return 1.0 if a.text == b.text else 0.0
        if a.prefix or b.prefix:
            return 0.0  # M. says nothing about Abu Mouailek: the initial would be of "Abu"
        return 0.85 if a.text[0] == b.text[0] else 0.0
    ak, bk = a.key, b.key
    if ak == bk:
        sim = 1.0
    elif on_skeleton:
        if not (a.skeleton and b.skeleton):
            return 0.0
        sim = _skeleton_similarity(a, b)
        if sim <= 0.7:
            return sim
        # Consonants decide; the long vowels Arabic does write must roughly
        # agree too (Hadi is not Huda).
        sim *= 0.6 + 0.4 * _vowel_agreement(a.vowels or b.vowels, b.key if a.vowels else a.key)
    else:
        la, lb = len(ak), len(bk)
        shorter = la if la < lb else lb
        if shorter <= 3:
            # Jaro-Winkler is too generous on short parts (Ali / Ala).
            sim = Indel.normalized_similarity(ak, bk)
            if (
                0.6 < sim < 0.9
                and _NOT_VOWEL.sub("", ak) == _NOT_VOWEL.sub("", bk)
                and _readings_similarity(a.skeletons, b.skeletons) == 1.0
            ):
                sim = 0.9  # same vowels, a letter romanised two ways (Chi / Shi)
        else:
            sim = _jaro_winkler(ak, bk)
            if (
                ak[0] != bk[0]
                and a.text[0] in "aeiou"  # a written vowel, not a folded w (Wisam)
                and b.text[0] in "aeiou"
                and shorter >= 5  # not Omar / Ammar
            ):
                # An initial vowel (often an ayn) is written i, e or a: Inayat / Anayat.
                sim = max(sim, 0.95 * _jaro_winkler(ak[1:], bk[1:]))
        if sim <= 0.7:
            return sim  # earns nothing whatever follows (the factors below are <= 1)
        if a.skeleton != b.skeleton:
            # Romanisations of one name differ in vowels; a different
            # consonant is a different name (Mohammed / Mohannad).
            sim *= 0.5 + 0.5 * _skeleton_similarity(a, b)
    if a.prefix != b.prefix:
        # Abu Ali (father of Ali) is not Ali; Abu Marzook is still Marzook.
        sim *= 0.8
    return sim


def _credit(sim: float) -> float:
    """How much of a part a similarity earns: full above 0.85, nothing below
    0.7, a ramp between (continuous, so scores do not jump)."""
    if sim >= 0.85:
        return sim
    if sim <= 0.7:
        return 0.0
    return (sim - 0.7) / 0.15 * 0.85


# One row a part: the other part's id -> _part_similarity (on keys, or on skeletons).
# A search looks up the rows of its query's few parts (a batch's heads of household
# have ~180 distinct parts in all), so its look-ups stay in the processor's caches;
# one table of every pair (75 MB) missed them at nearly every look-up.
_ROWS: dict[Hashable, dict[Hashable, float]] = {}
_SKELETON_ROWS: dict[Hashable, dict[Hashable, float]] = {}
# Cleared when full. A 100,000-row batch meets ~760,000 distinct pairs (its heads of
# household against the list names retrieved for them): at 500,000 each screening
# process cleared it midway and computed a third of its pairs again. A million
# pairs take ~75 MB.
_PART_CACHE_SIZE = 1_000_000
_cached_pairs = 0


def clear_caches() -> None:
    """Forget every part pair's similarity (a benchmark's cold start)."""
    global _cached_pairs
    _ROWS.clear()
    _SKELETON_ROWS.clear()
    _cached_pairs = 0


# How far below ``floor`` a pair's bound must be for `_align` to stop early: far more
# than a float's error in summing the same terms in another order, and than
# `score_names`' rounding to four decimals.
_BOUND_MARGIN = 1e-3


def _coverage_bound(name: NormalizedName, pairs: list[tuple[float, int, int]], side: int) -> float:
    """At most the coverage `_align` can give ``name`` (not the longer of the two),
    whose parts are at position ``side`` (1 or 2) of `_align`'s ``(-sim, i, j)``
    pairs: each part counted at its best pair and full weight, whatever the other
    name's parts (a part in no pair is found at none)."""
    best: dict[int, float] = {}
    for neg_sim, i, j in pairs:
        part = i if side == 1 else j
        if -neg_sim > best.get(part, 0.0):
            best[part] = -neg_sim
    got = sum(name.tokens[i].weight * name.tokens[i].rarity * _credit(s) for i, s in best.items())
    return got / name.information


def _align(a: NormalizedName, b: NormalizedName, floor: float = 0.0) -> float:
    """The parts' alignment score; with ``floor``, 0.0 as soon as the pairs of
    parts found show that the score stays below it (see `score_names`)."""
    on_skeleton = a.arabic or b.arabic
    pairs: list[tuple[float, int, int]] = []
    a_tokens, b_tokens = a.tokens, b.tokens
    global _cached_pairs
    rows = _SKELETON_ROWS if on_skeleton else _ROWS
    if _cached_pairs > _PART_CACHE_SIZE:
        clear_caches()
    for i in range(len(a_tokens)):
        ta = a_tokens[i]
        row = rows.get(ta.part_id)
        if row is None:
            row = rows[ta.part_id] = {}
        for j in range(len(b_tokens)):
            tb = b_tokens[j]
            sim = row.get(tb.part_id)
            if sim is None:
                sim = _part_similarity(ta, tb, on_skeleton)
                # A pair at or below 0.7 earns nothing: all of them share one float.
                sim = row[tb.part_id] = sim if sim > 0.7 else 0.0
                _cached_pairs += 1
            if sim > 0.7:
                pairs.append((-sim, i, j))
    if not pairs:
        return 0.0  # nothing found: both coverages are 0
    # The longer name (if one is) counts its father's chain for less.
    same_weight = math.isclose(a.weight, b.weight)
    a_longer = not same_weight and a.weight > b.weight
    b_longer = not same_weight and b.weight > a.weight
    if floor > 0.0:
        # The score is at most the shorter name's coverage (every factor below is
        # at most 1), and a coverage at most each part found at its best pair.
        if a_longer:
            bound = _coverage_bound(b, pairs, 2)
        elif b_longer:
            bound = _coverage_bound(a, pairs, 1)
        else:
            bound = min(_coverage_bound(a, pairs, 1), _coverage_bound(b, pairs, 2))
        if bound < floor - _BOUND_MARGIN:
            return 0.0
    pairs.sort()  # best first; ties by position
    used_a = used_b = 0  # bit n: part n is paired
    got_a = got_b = 0.0
    crossed: list[tuple[Token, Token]] = []  # (shorter's part, longer's link) pairs
    # The shorter name's family name found as another part of the longer one, and
    # whether the shorter's given name was found as the longer's given name.
    family_crossed: list[Token] = []
    given_anchored = False
    for neg_sim, i, j in pairs:
        if used_a >> i & 1 or used_b >> j & 1:
            continue
        used_a |= 1 << i
        used_b |= 1 << j
        credit = _credit(-neg_sim)
        ta, tb = a.tokens[i], b.tokens[j]
        if b_longer and tb.role == "middle" and ta.role in ("given", "family"):
            crossed.append((ta, tb))
        elif a_longer and ta.role == "middle" and tb.role in ("given", "family"):
            crossed.append((tb, ta))
        if b_longer and ta.role == "family" and tb.role != "family":
            family_crossed.append(ta)
        elif a_longer and tb.role == "family" and ta.role != "family":
            family_crossed.append(tb)
        given_anchored |= ta.role == "given" and tb.role == "given"
        wa, wb = ta.weight, tb.weight
        if ta.initial != tb.initial:
            # An initial says one letter: the full part it stands for earns
            # no more than the initial weighs (Khaled A. is not Khaled Ashour).
            wa = wb = min(wa, wb)
        # Shares are counted on what the parts say: a found Mohammed is
        # weaker evidence than a found Shaaban, a missed one a smaller gap.
        if a_longer and ta.role == "middle":
            wa *= MIDDLE_PART_FACTOR
        if b_longer and tb.role == "middle":
            wb *= MIDDLE_PART_FACTOR
        got_a += wa * ta.rarity * credit
        got_b += wb * tb.rarity * credit
    cov_a = got_a / (a.edge_information if a_longer else a.information)
    cov_b = got_b / (b.edge_information if b_longer else b.information)
    if a_longer:
        short, long_, shorter = cov_b, cov_a, b
    elif b_longer:
        short, long_, shorter = cov_a, cov_b, a
    else:
        short, long_ = min(cov_a, cov_b), max(cov_a, cov_b)
        shorter = a if a.information < b.information else b
    # A short name wholly inside a longer one is a hit when it says enough
    # (HANIYA, Ismail inside a four-part payee name); a single word inside a
    # long name (YOUSEF, NOOR) is not, nor two common ones (Mohamed Hassan
    # inside a daughter's name that carries them as her father's and
    # grandfather's).
    base = 0.5 + 0.3 * min(1.0, max(0.0, shorter.information - 1.0))
    score = short * (base + (1.0 - base) * long_)
    if crossed:
        # The shorter name's given (or family) name was found only as a link
        # of the longer one's father's chain, while the longer name's own
        # given (or family) name went unmatched: most likely the father, when
        # the name is a common one (Mohammad in Fatima Mohammed Hejazi); a
        # rare one found there (Janet in MORAN SANCHEZ, Maria Janette) still
        # says much.
        longer, used = (a, used_a) if a_longer else (b, used_b)
        unmatched = {t.role for n, t in enumerate(longer.tokens) if not used >> n & 1}
        commonness = max(
            (
                (1.0 - part.rarity) / (1.0 - COMMON_PART_FLOOR)
                for part, _ in crossed
                if part.role in unmatched
            ),
            default=0.0,
        )
        score *= 1.0 - (1.0 - ROLE_CROSSING_FACTOR) * commonness
    if family_crossed and not given_anchored:
        # The shorter name's family name was found as another part of the longer
        # one (its given name, or a link of its father's chain), and its given
        # name not as the longer's given name: nothing lines up. Gaza registries
        # write the family name last, and a listed MOHAMMED, Mustafa is not
        # Mohammed Mustafa Abu Sharekh, nor Haji Ghul Mohammad a Fatima Nasser
        # Mohammed Al-Ghoul (but HUSSEIN, Udai Saddam is Uday Saddam Hussein
        # AL-TIKRITI: the given names line up). Weighed by how common the
        # family name is.
        commonness = max((1.0 - part.rarity) / (1.0 - COMMON_PART_FLOOR) for part in family_crossed)
        score *= 1.0 - (1.0 - FAMILY_CROSSING_FACTOR) * commonness
    return score


# The joined parts' similarity, squared, counts this much (Xi Jinping / Xi Jin Ping).
_JOINED_FACTOR = 0.95


def _score(a: NormalizedName, b: NormalizedName, floor: float = 0.0) -> float:
    if not a.tokens or not b.tokens:
        return 0.0
    if a.joined == b.joined:
        return 1.0
    score = _align(a, b, floor)
    if len(a.tokens) != len(b.tokens):
        # Parts split or merged differently (Xi Jinping / Xi Jin Ping). With a
        # floor, a similarity that cannot lift the score to it comes back as 0.
        cutoff = math.sqrt(max(0.0, floor - _BOUND_MARGIN) / _JOINED_FACTOR)
        if a.arabic or b.arabic:
            x, y = a.joined_skeleton, b.joined_skeleton
        else:
            x, y = a.joined, b.joined
        # The similarity is at most what the lengths allow (2 x the shorter / both):
        # a pair that cannot reach the cutoff is not sent to rapidfuzz to hear 0.
        both = len(x) + len(y)
        if both and 2 * min(len(x), len(y)) < (cutoff - 1e-9) * both:
            joined = 0.0
        else:
            joined = Indel.normalized_similarity(x, y, score_cutoff=cutoff)
        score = max(score, _JOINED_FACTOR * joined**2)
    return score


def score_normalized(na: NormalizedName, nb: NormalizedName, floor: float = 0.0) -> float:
    """`ledger.screening.names.score_names` of two names already analysed."""
    if na.joined > nb.joined or (na.joined == nb.joined and na.original > nb.original):
        na, nb = nb, na  # a fixed order makes tie-breaking, hence the score, symmetric
    score = _score(na, nb, floor)
    if score <= 0.0:
        return 0.0  # most pairs of a search (rounding to four places is slow)
    return round(min(1.0, score), 4)


@dataclass(frozen=True, slots=True)
class ListName:
    """One name of a list entry, analysed, as `NameIndex` keeps it."""

    entry_id: int
    name: NormalizedName
    weak: bool  # a weak alias: its score counts `WEAK_ALIAS_FACTOR` as much


def add_near(
    query: NormalizedName, candidates: list[ListName], reach: float, near: set[int]
) -> None:
    """Add to ``near`` the entry of every candidate whose score against ``query``
    (a weak alias's times `WEAK_ALIAS_FACTOR`) reaches ``reach``; an entry already
    in ``near`` is not scored again."""
    weak_floor = reach / WEAK_ALIAS_FACTOR
    for candidate in candidates:
        if candidate.entry_id in near:
            continue
        if candidate.weak:
            score = score_normalized(query, candidate.name, weak_floor) * WEAK_ALIAS_FACTOR
        else:
            score = score_normalized(query, candidate.name, reach)
        if score >= reach:
            near.add(candidate.entry_id)
