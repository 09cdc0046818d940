"""Name matching for restricted-party screening.

`score_names` scores two names in [0, 1]; ``score_names(a, b) >= threshold``
is exactly the rule that opens a review case for a pair of names.
`score_entry` scores a payee's names against one list entry, weighing weak
aliases lower and using birth dates, nationalities and identifiers when both
sides have them. `NameIndex` picks, for a query name, the few list names worth
scoring (token, consonant-skeleton and identifier keys), so that screening a
name does not compare it with every name of every list.

How a name becomes comparable (see ``docs/screening.md`` for the figures):

1. Arabic script: harakat and tatweel removed; the article ``ال`` split off;
   ``أبو`` / ``ابن`` / ``عبد`` recognised as particles; ``ة`` dropped; each word
   transliterated by ICU (through ``rigour.text.ascii_text``). Hebrew is read
   the same way (an abjad: consonants letter by letter).
2. Every other script: ``rigour.text.ascii_text`` (ICU / normality; Hangul
   with a table of Korean surnames); person
   titles (``rigour.names.remove_person_prefixes`` plus Arabic honorifics such
   as Sheikh and Hajj) and legal forms (``rigour.names.remove_org_types`` plus
   Co., Company, Est., Establishment) removed; hyphenated and standalone
   articles (``al-``, ``el-``, ``ad-``, ``ash-`` …) dropped.
3. Particles: ``abd``/``abdel``/``abdul`` + X becomes the single given name
   ``abdX`` (Abdul Rahman = Abdelrahman = عبد الرحمن); ``abu``, ``bin``/``ibn``,
   ``umm`` become a *prefix* of the following part, so that Abu Ali (father of
   Ali) does not match Ali Abu Shaaban.
4. Each part gets a folded *key* that erases what Arabic romanisation varies
   on (o/u, e/a, i/y/ee, w/u, q/k, doubled letters, a final -h: Haniyeh =
   Haniya = Haniyya, Zahhar = Zahar, Marzook = Marzouq) and a consonant
   *skeleton* (Arabic writes no short vowels, so an Arabic-script name is
   compared with a Latin one on skeletons: هنية → hn ← Haniyeh).
   Letters romanised several ways keep every reading (Gaddafi / Qadhafi);
   Arabic script is read letter by letter (ض d/z, ظ z/d, ة silent or t), and
   its written long vowels must agree with the Latin part's vowels.
5. Parts are aligned regardless of order (greedy best pairs, Jaro-Winkler
   from rapidfuzz on keys, normalised Levenshtein on skeletons and on short
   parts); business-activity words (Trading, Contracting, General …) weigh
   less; a single letter matches a part with that initial.
6. The score is the share of the shorter name's weight that found a match,
   lightly discounted by what the longer name has left over; a Latin part's
   weight falls with how many list entries carry it (a static table,
   `ledger.screening.name_frequencies`, generated from the lists): a found
   Mohammed is weaker evidence than a found Shaaban.
"""

from __future__ import annotations

import gc
import itertools
import logging
import math
import multiprocessing
import re
import threading
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from functools import lru_cache
from typing import NamedTuple

import numpy as np
import numpy.typing as npt
from rigour.names import remove_org_types, remove_person_prefixes
from rigour.text import ascii_text

from ledger.screening.name_frequencies import MIN_ENTRIES, PART_ENTRIES
from ledger.screening.scoring import (
    COMMON_PART_FLOOR,
    COMMON_PART_SLOPE,
    MIDDLE_PART_FACTOR,
    WEAK_ALIAS_FACTOR,
    ListName,
    NormalizedName,
    Token,
    add_near,
    score_normalized,
)
from ledger.screening.sources import ListEntry
from ledger.screening.text import readable

log = logging.getLogger(__name__)

__all__ = [
    "MATCHER_VERSION",
    "REVIEW_THRESHOLD",
    "WEAK_ALIAS_FACTOR",
    "EntryMatch",
    "NameIndex",
    "NormalizedName",
    "Query",
    "SearchHit",
    "Token",
    "normalize_name",
    "score_entry",
    "score_names",
]

#: Bump whenever a change can move any score: stored screening results say
#: which matcher produced them, and re-screening is due when it changes.
MATCHER_VERSION = "1.7"

#: ``score_names(a, b) >= REVIEW_THRESHOLD`` opens a review case. Chosen from
#: the labelled benchmark (benchmarks/screening); config/screening.toml can
#: override it, and every function that decides takes the threshold as a
#: parameter.
REVIEW_THRESHOLD = 0.80


# --------------------------------------------------------------------------- words
# Small closed word classes that no library lists for Arabic-region names.
# rigour supplies the international legal forms and person titles.

_ARTICLES = frozenset(
    {"al", "el", "ul", "il", "l", "ud", "ur", "ad", "ed", "ar", "as", "ash", "az"}
)
# The second half of a compound given name (Nasr ad-Din, Hidayat Allah) is
# joined to the first, as the Latin spellings Nasruddin, Hidayatullah do.
_COMPOUND_TAILS = {
    "din": "uddin", "deen": "uddin", "dine": "uddin", "eddine": "uddin", "eddin": "uddin",
    "uddin": "uddin", "allah": "ullah", "ullah": "ullah", "ulla": "ullah", "alla": "ullah",
    "illah": "ullah",
}  # fmt: skip
_BARRIER = ","  # a comma: "ABD, Ahmad" is family name Abd, given name Ahmad
_HYPHEN_ARTICLE = re.compile(
    r"\b(?:al|el|ul|il|ad|ed|ar|er|ur|as|es|ash|esh|at|et|az|ez|an|en|ath|adh|ad|aj)-(?=[a-z])"
)
_TITLES = frozenset(
    {
        "mr", "mrs", "ms", "miss", "dr", "doctor", "prof", "professor", "eng", "engineer",
        "sheikh", "shaykh", "shaikh", "sheik", "cheikh", "haj", "hajj", "hajji", "haji",
        "mullah", "mulla", "maulana", "mawlana", "maulvi", "mawlawi", "imam", "jr", "junior",
    }
)  # fmt: skip
_MESSRS = re.compile(r"(?i)(?<![a-z0-9])(?:m/s|messrs)(?![a-z0-9])\.?")
_STOPWORDS = frozenset({"for", "of", "the", "and", "li", "lil", "wa", "w", "de", "la", "del"})
_LEGAL_FORMS = frozenset(
    {
        "co", "company", "companies", "corp", "corporation", "inc", "incorporated", "ltd",
        "limited", "llc", "plc", "est", "establishment", "establishments", "sa", "sarl",
        "sal", "gmbh", "ag", "fze", "fzco", "fzc", "fzllc", "jsc", "ojsc", "cjsc", "pjsc",
        "pvt", "bv", "nv", "srl", "spa", "ltda", "cia", "wll", "lp", "llp", "ooo", "zao",
        "oao", "pte", "sdn", "bhd", "cv", "private", "public", "joint", "stock",
    }
)  # fmt: skip
_GENERIC_ORG = frozenset(
    {
        "trading", "trade", "traders", "contracting", "contractors", "contractor",
        "general", "group", "import", "export", "services", "service", "industries",
        "industrial", "industry", "international", "holding", "holdings", "enterprises",
        "enterprise", "investment", "investments", "development", "commercial",
        "commerce", "construction", "engineering", "foundation", "association", "society",
        "charity", "charitable", "organization", "organisation", "committee", "institute",
        "center", "centre", "brothers", "bros", "sons", "works", "agency", "office",
        "factory", "store", "stores", "shop", "supplies", "supply", "materials",
        "building", "projects", "company", "exchange", "money", "transfer", "bank",
        "network", "media", "front", "movement", "brigades", "brigade", "battalions",
        "forces", "army", "party", "union", "fund", "relief", "aid",
        # business activities, as Gaza firm names carry them
        "glass", "steel", "aluminium", "aluminum", "iron", "furniture", "plastics",
        "plastic", "paints", "paint", "fuel", "petroleum", "oil", "gas", "transport",
        "transportation", "printing", "press", "poultry", "fishing", "fish", "agriculture",
        "agricultural", "pharmacy", "pharmaceuticals", "pharmaceutical", "medical",
        "medicine", "food", "foods", "water", "electric", "electrical", "electricity",
        "electronics", "solar", "energy", "tiles", "concrete", "cement", "stone", "marble",
        "wood", "tourism", "travel", "textiles", "textile", "clothing", "cars", "motors",
        "shipping", "logistics", "chemicals", "chemical", "machinery", "equipment",
        "drilling", "workshop", "cooperative", "school", "clinic", "hospital", "hotel",
        "restaurant", "bakery", "sweets", "market", "supermarket", "trust", "consulting",
        "technology", "systems", "communications", "telecom", "insurance", "finance",
        "financial", "removal", "rubble", "well", "wells", "security", "products",
        "manufacturing", "factories", "mills", "mill", "farm", "farms", "dairy",
    }
)  # fmt: skip
# Abbreviations that lists and payees write for whole words.
_ABBREVIATIONS = {
    "shpg": "shipping", "intl": "international", "mfg": "manufacturing", "bros": "brothers",
    "mhd": "muhammad", "mohd": "muhammad", "mhmd": "muhammad",
    # and forms of one activity word
    "charitable": "charity", "organisation": "organization", "centre": "center",
}  # fmt: skip
# An acronym in brackets after a name (KHATIBA AL-TAWHID WAL-JIHAD (KTJ)).
_BRACKETED_ACRONYM = re.compile(r"(?<=\S)\s*\(\s*[A-Z0-9.&-]{2,8}\s*\)")
_WADE_GILES_HS = re.compile(r"\bhs(?=[aeiou])")
_ABD = re.compile(r"^abd(?:[aeiou]l|ul|el|al|ol|il|ou|u)?(?=[a-z]{2,}$)")
_ABD_WORDS = frozenset({"abd", "abdel", "abdul", "abdal", "abdil", "abdol", "abdu", "abdoul"})
_PREFIXES = {
    "abu": "abu", "abou": "abu", "abo": "abu", "aboo": "abu",
    "bin": "bin", "ben": "bin", "ibn": "bin", "bint": "bin", "binti": "bin", "bn": "bin",
    "umm": "umm", "um": "umm", "om": "umm", "oum": "umm",
}  # fmt: skip

# Arabic script.
# Abjads (Arabic, Hebrew): written without short vowels, compared on consonants.
_ARABIC_CHAR = re.compile(
    r"[\u0590-\u05ff\u0600-\u06ff\u0750-\u077f\u08a0-\u08ff\ufb50-\ufdff\ufe70-\ufeff]"
)
_ARABIC_MARKS = re.compile(r"[\u064b-\u065f\u0670\u0640\u06d6-\u06ed]")
_ARABIC_WORD = re.compile(r"[\u0621-\u064a\u0671-\u06d3\w]+")
_ARABIC_PARTICLES = {
    "ابو": "abu", "أبو": "abu", "ابي": "abu", "أبي": "abu", "ابن": "bin", "إبن": "bin",
    "بن": "bin", "بنت": "bin", "ام": "umm", "أم": "umm",
}  # fmt: skip
_ARABIC_TAILS = {"الله": "ullah", "الدين": "uddin"}
# Persian and Urdu letter forms that ICU's Arabic-Latin does not read.
# (Escaped: several look like Latin letters to a reader.)
_PERSIAN = str.maketrans(
    {
        "\u06cc": "\u064a",  # farsi yeh -> yeh
        "\u06a9": "\u0643",  # keheh -> kaf
        "\u06be": "\u0647",  # heh doachashmee -> heh
        "\u06d5": "\u0647",  # ae -> heh
        "\u06c0": "\u0647",  # heh with yeh above -> heh
        "\u06d2": "\u064a",  # yeh barree -> yeh
        "\u0649": "\u064a",  # alef maksura -> yeh
    }
)
# fmt: off
_ARABIC_DROP = frozenset(
    {
        "شركة", "مؤسسة", "للمقاولات", "للتجارة", "لل", "و", "في", "من", "الشيخ", "شيخ", "الحاج",
        "الإبن", "الابن", "لمتد", "ليمتد", "المحدودة",  # Jr., Ltd
    }
)
# fmt: on


# --------------------------------------------------------------------------- tokens


_FOLD_STEPS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(p), r)
    for p, r in (
        (r"dzh", "j"),  # Russian transliteration of jim (Dzhihad)
        (r"x", "ks"),  # Alexander / Aleksandr
        (r"ck|q|c(?=[aou])", "k"),
        (r"c(?=[eiy])", "s"),  # Feliciano: c before e / i is an s
        (r"ph", "f"),
        (r"ou|oo|o|u|w", "u"),
        (r"e[iy](?![aeiou])", "ai"),  # the diphthong: Hussein / Husain, Seif / Saif, Mdein
        (r"ee|ie|ei|ey|y|i", "i"),
        (r"e", "a"),
        (r"(.)\1+", r"\1"),
        (r"(?<=[aiu])h$", ""),
    )
)


@lru_cache(maxsize=65_536)
def _fold(word: str) -> str:
    """Erase the spelling choices of Arabic romanisation (see module doc)."""
    if word.isdigit():
        return word
    for pattern, repl in _FOLD_STEPS:
        word = pattern.sub(repl, word)
    return word


_SKELETON_STEPS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(p), r)
    for p, r in (
        # gh is ghayn or (Maghreb) qaf; dh is dhal, often written z.
        (r"gh", "k"),
        (r"dj|g", "j"),
        (r"dh", "z"),
        (r"th", "s"),  # tha: Uthman / Osman
        (r"[aiu]", ""),
        (r"(.)\1+", r"\1"),
        # A final h is the romanised ta marbuta / -ah as often as a letter.
        (r"(?<=.)h$", ""),
    )
)


def _skeleton(key: str) -> str:
    for pattern, repl in _SKELETON_STEPS:
        key = pattern.sub(repl, key)
    return key


# Letters that Latin romanisations write in several ways: each reading is kept.
_AMBIGUOUS = re.compile(r"gh|dh|th|ch|zh|dj|sh|kh|g")
_READINGS = {
    "g": ("j", "k"),  # jim (Egyptian g), qaf (Gulf, Libya: Gaddafi), gaf
    "dh": ("z", "d"),  # dhal, dad, za
    "th": ("s", "t", "z"),  # tha (Uthman / Osman / Otman), za (Kathim / Kazim)
    "ch": ("sh", "kh", "ch"),  # French sh (Charia), German kh, Persian / Slavic ch
    "zh": ("j", "z", "zh"),  # Zhukov, Mazhar; also z + h (Al-Azhar)
    "gh": ("k",),
    "dj": ("j",),
    "sh": ("sh",),
    "kh": ("kh", "k"),  # kh is also k + h, or a misheard kaf (MAKHTAB for مكتب)
}
_MAX_READINGS = 8


def _strip_vowels(key: str) -> str:
    key = re.sub(r"(?<=[aiueoy])h$", "", key)  # -ah, -eh: a vowel, not a letter
    key = re.sub(r"[aiueoy]", "", key)
    return re.sub(r"(.)\1+", r"\1", key)


@lru_cache(maxsize=65_536)
def _skeletons(key: str) -> tuple[str, ...]:
    """Every reading of a Latin key's consonants (Gaddafi: jdf, kdf; Qadhafi:
    kzf, kdf), the usual one first."""
    if key.startswith("abd") and len(key) > 4:  # Abd + Hai is no dh
        return tuple(dict.fromkeys(_strip_vowels("bd" + s) for s in _skeletons(key[3:])))
    out = [""]
    pos = 0
    for m in _AMBIGUOUS.finditer(key):
        plain = key[pos : m.start()]
        options = _READINGS[m.group()]
        out = [o + plain + r for o in out for r in options][:_MAX_READINGS]
        pos = m.end()
    out = [o + key[pos:] for o in out]
    seen: dict[str, None] = {}
    for o in out:
        seen.setdefault(_strip_vowels(o), None)
    return tuple(seen)


# Arabic letters -> (how a romanisation writes them in a key, consonant readings).
# Long vowels are written (alif a, waw u, ya i), short ones are not.
_AR_LETTERS: dict[str, tuple[str, tuple[str, ...]]] = {
    "ب": ("b", ("b",)), "ت": ("t", ("t",)), "ث": ("th", ("s", "t")),
    "ج": ("j", ("j",)), "ح": ("h", ("h",)), "خ": ("kh", ("kh",)), "د": ("d", ("d",)),
    "ذ": ("dh", ("z", "d")), "ر": ("r", ("r",)), "ز": ("z", ("z",)), "س": ("s", ("s",)),
    "ش": ("sh", ("sh",)), "ص": ("s", ("s",)), "ض": ("d", ("d", "z")), "ط": ("t", ("t",)),
    "ظ": ("z", ("z", "d")), "ع": ("", ("",)), "غ": ("gh", ("k",)), "ف": ("f", ("f",)),
    "ق": ("q", ("k",)), "ك": ("k", ("k",)), "ل": ("l", ("l",)), "م": ("m", ("m",)),
    "ن": ("n", ("n",)), "ه": ("h", ("h",)), "و": ("u", ("",)), "ي": ("i", ("",)),  # noqa: RUF001
    "ى": ("a", ("",)), "ا": ("a", ("",)), "ة": ("a", ("", "t")), "ء": ("", ("",)),  # noqa: RUF001
    "أ": ("a", ("",)), "إ": ("i", ("",)), "آ": ("a", ("",)), "ؤ": ("u", ("",)),
    "ئ": ("i", ("",)), "ٱ": ("a", ("",)), "پ": ("p", ("p", "b")), "چ": ("ch", ("ch", "sh")),
    "ژ": ("zh", ("j", "z")), "گ": ("g", ("k", "j")), "ڑ": ("r", ("r",)), "ڈ": ("d", ("d",)),
    "ٹ": ("t", ("t",)), "ں": ("n", ("n",)), "ہ": ("h", ("h",)), "ھ": ("h", ("h",)),  # noqa: RUF001
    "ے": ("i", ("",)), "ۃ": ("a", ("", "t")), "ڤ": ("v", ("v", "f")),
    # Hebrew, read the same way (vav and yod are vowels or v / y).
    "א": ("a", ("",)), "ב": ("b", ("b", "v")), "ג": ("g", ("j", "k")), "ד": ("d", ("d",)),
    "ה": ("h", ("h",)), "ו": ("u", ("", "v")), "ז": ("z", ("z",)), "ח": ("kh", ("kh", "h")),  # noqa: RUF001
    "ט": ("t", ("t",)), "י": ("i", ("",)), "כ": ("k", ("k", "kh")), "ך": ("kh", ("kh", "k")),  # noqa: RUF001
    "ל": ("l", ("l",)), "מ": ("m", ("m",)), "ם": ("m", ("m",)), "נ": ("n", ("n",)),
    "ן": ("n", ("n",)), "ס": ("s", ("s",)), "ע": ("", ("",)), "פ": ("p", ("p", "f")),  # noqa: RUF001
    "ף": ("f", ("f", "p")), "צ": ("ts", ("ts", "tz", "z")), "ץ": ("ts", ("ts", "tz", "z")),
    "ק": ("k", ("k",)), "ר": ("r", ("r",)), "ש": ("sh", ("sh", "s")), "ת": ("t", ("t", "s")),
}  # fmt: skip


def _arabic_analysis(word: str) -> tuple[str, tuple[str, ...], str] | None:
    """A romanisation-like key (long vowels written) and the consonant
    skeleton's readings of one Arabic word, read letter by letter."""
    key = vowels = ""
    readings = [""]
    last = len(word) - 1
    for n, letter in enumerate(word):
        found = _AR_LETTERS.get(letter)
        if found is None:
            return None
        latin, options = found
        if n == last and letter in "هہה" and n > 0:
            latin, options = "a", ("", "h")  # final heh: Hamada / Hamadah
        elif n == last and letter == "ح" and n > 0:
            options = ("h", "")  # Saleh: romanisations drop a final -h
        key += latin
        if letter in "اويىآ" and n > 0:
            vowels += "a" if letter in "اىآ" else latin
        readings = [r + o for r in readings for o in options][:_MAX_READINGS]
    seen: dict[str, None] = {}
    for r in readings:
        seen.setdefault(re.sub(r"(.)\1+", r"\1", r), None)
    return _fold(key), tuple(seen), vowels


def _arabic_words(text: str, analysed: dict[str, tuple[str, tuple[str, ...], str]]) -> list[str]:
    """Arabic-script text → romanised words: particles marked, abd + X and
    X + Allah / ad-Din joined. ``analysed`` receives each word's key and
    skeleton readings, read from the Arabic letters (see `_arabic_analysis`)."""
    text = _ARABIC_MARKS.sub("", unicodedata.normalize("NFKC", text)).translate(_PERSIAN)
    words: list[str] = []
    letters: list[str] = []  # the Arabic letters behind each word
    abd = False
    for word in _ARABIC_WORD.findall(text):
        if word in _ARABIC_DROP:
            continue
        if word in _ARABIC_PARTICLES:
            words.append(_ARABIC_PARTICLES[word])
            letters.append("")
            continue
        if word in _ARABIC_TAILS and words and not abd:
            words[-1] += _ARABIC_TAILS[word]
            letters[-1] += word[2:]  # Nasr ud-Din, Hidayat ullah
            continue
        if word.startswith(("ابو", "أبو")) and len(word) > 5:
            words.append("abu")
            letters.append("")
            word = word[3:]
        elif word.startswith("بن") and len(word) >= 6 and "bin" in words:
            # A glued bin in a chain of them (بن عمر بن محمد بنحسين); not Benghazi.
            words.append("bin")
            letters.append("")
            word = word[2:]
        if word.startswith("عبد"):
            word = word[3:]
            abd = True
            if not word:
                continue
        if word.startswith("ال") and len(word) > 3:
            word = word[2:]
        elif word.startswith(("وال", "بال")) and len(word) > 4:
            word = word[3:]
        source = word
        if word.endswith("ة"):  # ta marbuta: a vowel in romanisation
            word = word[:-1]
        latin = re.sub(r"[^a-z0-9]", "", ascii_text(word).lower())
        if abd:
            latin, abd, source = "abd" + latin, False, "عبد" + source
        if latin:
            words.append(latin)
            letters.append(source)
    for latin, source in zip(words, letters, strict=True):
        if source and (found := _arabic_analysis(source)):
            analysed[latin] = found
    return words


_HANGUL = re.compile(r"[\uac00-\ud7a3]+")
# Korean surnames as they are romanised in names (ICU's Revised Romanisation
# writes 김 gim, 박 bag, 이 i).
_KOREAN_SURNAMES = {
    "김": "kim", "이": "lee", "리": "ri", "박": "park", "최": "choi", "정": "jung", "강": "kang",
    "조": "cho", "윤": "yoon", "장": "jang", "임": "lim", "한": "han", "오": "oh", "서": "seo",
    "신": "shin", "권": "kwon", "황": "hwang", "안": "ahn", "송": "song", "류": "ryu",
    "전": "jeon", "홍": "hong", "고": "ko", "문": "moon", "양": "yang", "손": "son", "배": "bae",
    "백": "baek", "허": "heo", "남": "nam", "심": "sim", "노": "roh", "하": "ha", "곽": "kwak",
    "성": "sung", "차": "cha", "주": "joo", "우": "woo", "구": "koo", "민": "min", "유": "yoo",
}  # fmt: skip


def _romanise_hangul(match: re.Match[str]) -> str:
    """A Korean name in Hangul, romanised as names are (surname apart: 김정은 →
    kim jongun); eo / eu written o / u, as in Jong Un."""
    word = match.group()
    first = 1 if 2 <= len(word) <= 4 and word[0] in _KOREAN_SURNAMES else 0
    rest = "".join(ascii_text(c) for c in word[first:]).lower()
    rest = rest.replace("eo", "o").replace("eu", "u")
    return (_KOREAN_SURNAMES[word[0]] + " " if first else "") + rest


def _remove_org_types(text: str) -> str:
    """rigour's legal forms removed, but not the activity words some of them
    hold: RAHMAH CHARITABLE ORGANIZATION stays a charity, not a bare Rahmah."""
    removed = remove_org_types(text)
    if removed == text:
        return text
    lost = Counter(re.findall(r"\w+", text.casefold())) - Counter(
        re.findall(r"\w+", removed.casefold())
    )
    kept = [w for w in lost.elements() if w in _GENERIC_ORG]
    return " ".join([removed, *kept]) if kept else removed


def _latin_words(text: str) -> list[str]:
    # Apostrophes, ayn and hamza marks: Sa'id = Said.
    text = re.sub("['`\u00b4\u2019\u2018\u02bf\u02be]", "", text)
    text = _MESSRS.sub(" ", text)  # M/S (Messrs) before a firm's name: a title
    text = _BRACKETED_ACRONYM.sub(" ", text)
    text = _HANGUL.sub(_romanise_hangul, text)
    text = remove_person_prefixes(_remove_org_types(text))
    text = ascii_text(text).lower()
    text = _HYPHEN_ARTICLE.sub(" ", text)
    text = _WADE_GILES_HS.sub("x", text)  # Wade-Giles Hsueh = pinyin Xue
    return [_ABBREVIATIONS.get(w, _unfused(w)) for w in re.findall(r"[a-z0-9]+|,", text)]


def _unfused(word: str) -> str:
    """A word that fuses the article with a listed name part (Alduri, Elsayed,
    Alhussein; and A L D U R I once spaced letters are joined) loses the article,
    as al-Duri does; a word that is itself a name (Albert, Alan) stays."""
    fused = len(word) >= 5 and word[:2] in ("al", "el")
    if fused and _fold(word) not in PART_ENTRIES and _fold(word[2:]) in PART_ENTRIES:
        return word[2:]
    return word


def _rarity(key: str) -> float:
    """How much a Latin-script name part says, from how many list entries
    carry it (`name_frequencies`): 1 for a part on a handful of entries, down
    to `COMMON_PART_FLOOR` for Mohammed or Ahmad. (Arabic-script parts keep
    weight 1: their consonant skeletons collide too often to be counted.)"""
    entries = PART_ENTRIES.get(key, 0)
    if entries <= MIN_ENTRIES:
        return 1.0
    return max(COMMON_PART_FLOOR, 1.0 - COMMON_PART_SLOPE * math.log2(entries / MIN_ENTRIES))


def _is_full_part(token: Token) -> bool:
    return token.full


def _tokens(
    words: list[str],
    *,
    arabic: bool,
    analysed: dict[str, tuple[str, tuple[str, ...], str]] | None = None,
) -> tuple[Token, ...]:
    # Merge abd + X and X + ad-Din / Allah; drop articles, titles, stopwords and
    # legal forms (unless that would leave nothing: "CO" alone is still a name).
    meaningful = [w for w in words if w != _BARRIER]
    keep_all = len(meaningful) <= 1
    cleaned: list[str] = []
    i = 0
    while i < len(words):
        word = words[i]
        i += 1
        if word == _BARRIER:
            cleaned.append(word)
            continue
        if (
            not keep_all
            and not arabic  # Arabic words are romanised: عمر is "mr", not Mr.
            and (word in _ARTICLES or word in _TITLES or word in _STOPWORDS or word in _LEGAL_FORMS)
        ):
            continue
        if not arabic:
            if word in _ABD_WORDS:
                while i < len(words) and words[i] in _ARTICLES:
                    i += 1
                if i < len(words) and words[i] != _BARRIER:
                    word = "abd" + words[i]
                    i += 1
            word = _ABD.sub("abd", word)
            tail = _COMPOUND_TAILS.get(word)
            if tail and cleaned and cleaned[-1] != _BARRIER and cleaned[-1] not in _PREFIXES:
                cleaned[-1] += tail
                continue
        cleaned.append(word)
    # "FAMILY, Given Father" is read Given Father FAMILY: the family name is
    # what comes before the first comma, when something follows it.
    family_words = 0
    if _BARRIER in cleaned:
        cut = cleaned.index(_BARRIER)
        if any(w != _BARRIER for w in cleaned[cut:]) and cut:
            family_words = cut
    cleaned = [w for w in cleaned if w != _BARRIER]
    # Each part's Token fields but its role, which waits for the whole name.
    parts: list[tuple[str, str, tuple[str, ...], str, str, float, bool, bool, float, int]] = []
    prefix = ""
    family_tokens = 0
    for n, word in enumerate(cleaned):
        particle = _PREFIXES.get(word)
        if particle and n + 1 < len(cleaned):
            prefix = particle
            continue
        if word.startswith("abu") and len(word) >= 6 and not prefix:
            prefix, word = "abu", word[3:]
        key = _fold(word)
        weight = 1.0
        if word in _GENERIC_ORG:
            weight = 0.35
        elif particle:  # a lone particle at the end ("Abu")
            weight = 0.5
        initial = len(word) == 1 and word.isalpha()
        if initial:
            weight = 0.5
        full = weight == 1.0
        vowels = ""
        if analysed and word in analysed:
            key, skeletons, vowels = analysed[word]
        else:
            skeletons = _skeletons(key)
        rarity = _rarity(key) if full and not arabic else 1.0
        part_id = _part_id(word, key, skeletons, vowels, prefix, initial)
        parts.append((word, key, skeletons, vowels, prefix, weight, initial, full, rarity, part_id))
        if n < family_words:
            family_tokens = len(parts)
        prefix = ""
    if any(w in _LEGAL_FORMS or w in _GENERIC_ORG for w in words):
        roles = [""] * len(parts)  # an organisation's name: no father's chain
    else:
        roles = _roles(len(parts), family_tokens)
    return tuple(
        Token(
            word, key, skeletons[0], skeletons, vowels, prefix, weight, initial, full, rarity,
            role=role, part_id=part_id,
        )
        for (word, key, skeletons, vowels, prefix, weight, initial, full, rarity, part_id), role
        in zip(parts, roles, strict=True)
    )  # fmt: skip


_PART_IDS: dict[tuple[str, str, tuple[str, ...], str, str, bool], int] = {}
_NEXT_PART_ID = itertools.count()  # never reset: a number stays with its part


def _part_id(
    text: str, key: str, skeletons: tuple[str, ...], vowels: str, prefix: str, initial: bool
) -> int:
    """A number for everything `_part_similarity` reads of a part, so that a
    pair of parts met again (Mohammed / Muhammad) is looked up, not recomputed.
    Safe across threads: ``next`` on a counter and ``setdefault`` are single
    steps, so two threads meeting a new part at once agree on its number and
    two new parts never share one."""
    found = (text, key, skeletons, vowels, prefix, initial)
    number = _PART_IDS.get(found)
    if number is None:
        number = _PART_IDS.setdefault(found, next(_NEXT_PART_ID))
    return number


def _roles(count: int, family: int) -> list[str]:
    """The roles of the ``count`` parts of a person's name. An Arabic name reads given name,
    father's, grandfather's…, family name (``FAMILY, Given Father…`` on the
    lists): the given name and the family name say who the person is, the
    links between them mostly who the father was. ``family`` is how many
    parts came before a comma (0: none, the last part is the family name).
    `_align` counts the links for less when a longer name has them left
    over, and doubts a shorter name whose given or family name is found
    only among the longer name's links (Mohammad Hejazi in Fatima Mohammed
    Hejazi: her father). (Set as each part's Token is made: ``dataclasses.replace``
    afterwards cost a tenth of building the list names' index.)"""
    if count < 2 or (family and family >= count):
        return [""] * count
    given = family  # the first part after the family name(s), or the first part
    roles = []
    for n in range(count):
        if n == given:
            roles.append("given")
        elif (n < family) if family else n == count - 1:
            roles.append("family")
        else:
            roles.append("middle")
    return roles


@lru_cache(maxsize=262_144)
def normalize_name(name: str) -> NormalizedName:
    """Analyse a name once; cached because list names are scored over and over."""
    text = readable(unicodedata.normalize("NFKC", name)).strip()
    arabic = bool(_ARABIC_CHAR.search(text))
    analysed: dict[str, tuple[str, tuple[str, ...], str]] = {}
    words = _arabic_words(text, analysed) if arabic else _latin_words(text)
    tokens = _tokens(words, arabic=arabic, analysed=analysed)
    joined = "".join(t.prefix + t.key for t in tokens)
    return NormalizedName(
        original=name,
        tokens=tokens,
        arabic=arabic,
        joined=joined,
        joined_skeleton=_skeleton(joined),
        weight=sum(t.weight for t in tokens),
        information=sum(t.weight * t.rarity for t in tokens),
        edge_information=sum(
            t.weight * t.rarity * (MIDDLE_PART_FACTOR if t.role == "middle" else 1.0)
            for t in tokens
        ),
    )


def score_names(a: str, b: str, *, floor: float = 0.0) -> float:
    """Score how likely two names name the same party, in [0, 1].

    Pure, deterministic and symmetric (``score_names(a, b) == score_names(b, a)``).
    Handles Arabic script against its romanisations (هنية / Haniyeh / Haniya /
    Haniyya), articles and particles (al-, el-, abu, bin, ibn, abd), any order
    of the name parts, punctuation and case, legal-form words (Co., Ltd,
    Company for Contracting, Est.) and initials. ``score_names(a, b) >=
    review threshold`` is the rule that opens a review case.

    ``floor`` is for a caller that only asks whether the score reaches it (a
    search, against the threshold): a pair whose parts alone show it cannot is
    answered 0.0 without being aligned in full. Every score at or above ``floor``
    is exactly the score, and every score below it stays below it.
    """
    return score_normalized(normalize_name(a), normalize_name(b), floor)


# --------------------------------------------------------------------------- entries


@dataclass(frozen=True, slots=True)
class EntryMatch:
    """How a payee's names matched one list entry, with the evidence."""

    score: float  # final score, after the adjustments below
    name_score: float  # best score_names over the name pairs
    query_name: str
    entry_name: str
    entry_name_kind: str  # "primary", "alias", "weak_alias" or "original_script"
    adjustments: tuple[str, ...] = ()  # readable: what moved the score and by how much
    identifier_match: bool = False
    birth_date_match: bool | None = None  # None: one side has no birth date
    nationality_match: bool | None = None


def _entry_names(entry: ListEntry) -> list[tuple[str, str]]:
    names = [(entry.name, "primary")]
    names += [(a.name, "alias" if a.strength == "strong" else "weak_alias") for a in entry.aliases]
    names += [(n, "original_script") for n in entry.original_script_names]
    seen: set[str] = set()
    out = []
    for name, kind in names:
        if name not in seen:
            seen.add(name)
            out.append((name, kind))
    return out


def _norm_id(value: str) -> str:
    return re.sub(r"[^A-Z0-9]", "", value.upper())


# A birth year this many years or fewer from a listed one may be the same person
# (lists give approximate years, "circa 1962"); further, it is another person.
BIRTH_YEARS_APART = 3
OTHER_PERSON_FACTOR = 0.6
_PERSON_KINDS = {"person": "person", "individual": "person"}


def _kinds_agree(kind: str, listed: str) -> bool:
    """A person may be the listed person (or an entry of no stated kind); an
    organisation a listed organisation (or an entry of no stated kind)."""
    ours = _PERSON_KINDS.get(kind, kind)
    if listed == "other" or ours not in ("person", "organization"):
        return True
    return listed == ours


def _years_apart(query: str, listed: Sequence[str]) -> int | None:
    """How many years the birth year ``query`` lies from the nearest listed one,
    or None when a year cannot be read on either side."""
    if not query[:4].isdigit():
        return None
    year = int(query[:4])
    return min((abs(year - int(d[:4])) for d in listed if d[:4].isdigit()), default=None)


def _dates_agree(query: str, listed: str) -> bool:
    """Same date as far as both are precise (1962 agrees with 1962-05-01)."""
    n = min(len(query), len(listed))
    return query[:n] == listed[:n]


def score_entry(
    names: Sequence[str],
    entry: ListEntry,
    *,
    birth_date: str | None = None,
    nationality: str | None = None,
    identifiers: Sequence[str] = (),
    kind: str | None = None,
) -> EntryMatch:
    """Score a payee (all its names: legal name, aliases, original-script
    names) against a list entry (all its names; weak aliases count
    `WEAK_ALIAS_FACTOR` as much).

    Then, when both sides have them: a shared identifier is strong evidence
    (score at least 0.95); a birth year more than `BIRTH_YEARS_APART` from every
    listed one is another person (x`OTHER_PERSON_FACTOR`, below review), a nearer
    contradicting birth date lowers the score by 15% and an agreeing full date
    raises it by 0.05; a contradicting nationality lowers it by 0.05 and an
    agreeing one raises it by 0.02. A person (``kind``) is not matched against an
    entry that is an organisation or a vessel, nor an organisation against a
    person, unless a name is the same (score 1). Every adjustment is listed in
    `EntryMatch.adjustments`.
    """
    best: tuple[float, float, str, str, str] = (0.0, 0.0, "", entry.name, "primary")
    for query in names:
        if not query.strip():
            continue
        for entry_name, name_kind in _entry_names(entry):
            raw = score_names(query, entry_name)
            weighted = raw * WEAK_ALIAS_FACTOR if name_kind == "weak_alias" else raw
            if weighted > best[0]:
                best = (weighted, raw, query, entry_name, name_kind)
    score, raw, query_name, entry_name, name_kind = best
    adjustments: list[str] = []
    if name_kind == "weak_alias":
        adjustments.append(f"weak alias: x{WEAK_ALIAS_FACTOR}")
    if kind and not _kinds_agree(kind, entry.kind) and raw < 1.0:
        score = 0.0
        adjustments.append(f"a {kind} is not the {entry.kind} listed: not matched")

    id_match = False
    if identifiers and entry.identifiers:
        listed = {_norm_id(i) for i in entry.identifiers} - {""}
        id_match = any(_norm_id(i) in listed for i in identifiers)
        if id_match:
            score = max(score, 0.95)
            adjustments.append("identifier match: score at least 0.95")

    dob_match: bool | None = None
    if birth_date and entry.birth_dates:
        dob_match = any(_dates_agree(birth_date, d) for d in entry.birth_dates)
        apart = _years_apart(birth_date, entry.birth_dates)
        if not dob_match and apart is not None and apart > BIRTH_YEARS_APART:
            score *= OTHER_PERSON_FACTOR
            adjustments.append(
                f"born {apart} years from the listed birth dates: another person, "
                f"x{OTHER_PERSON_FACTOR}"
            )
        elif not dob_match:
            score *= 0.85
            adjustments.append("birth date contradicts: x0.85")
        elif len(birth_date) == 10 and birth_date in entry.birth_dates:
            score += 0.05
            adjustments.append("same birth date: +0.05")

    nat_match: bool | None = None
    if nationality and entry.nationalities:
        nat_match = nationality.upper() in entry.nationalities
        if nat_match:
            score += 0.02
            adjustments.append("same nationality: +0.02")
        else:
            score -= 0.05
            adjustments.append("different nationality: -0.05")

    return EntryMatch(
        score=round(min(1.0, max(0.0, score)), 4),
        name_score=raw,
        query_name=query_name,
        entry_name=entry_name,
        entry_name_kind=name_kind,
        adjustments=tuple(adjustments),
        identifier_match=id_match,
        birth_date_match=dob_match,
        nationality_match=nat_match,
    )


# --------------------------------------------------------------------------- index


@dataclass(frozen=True, slots=True)
class SearchHit:
    """One list entry that a search found, with how it matched."""

    entry_id: int
    entry: ListEntry
    match: EntryMatch


def _keys(name: NormalizedName) -> set[str]:
    keys: set[str] = set()
    for t in name.tokens:
        if not t.full:
            continue  # initials, lone particles and generic words pick nothing
        if not name.arabic:
            keys.add("k:" + t.key)
        if t.skeleton:  # the usual reading only: every reading would flood the postings
            keys.add("s:" + t.skeleton)
    if not keys and name.joined:
        keys.add("j:" + name.joined)
    return keys


class Query(NamedTuple):
    """One payee's (or party's) names and what else `NameIndex.search` weighs."""

    names: tuple[str, ...]
    birth_date: str | None = None
    nationality: str | None = None
    identifiers: tuple[str, ...] = ()
    kind: str | None = None  # "person" or "organization": who is screened


class NameIndex:
    """Candidate retrieval over list entries.

    Every entry name is analysed once and indexed under its parts' folded
    keys (Latin names) and consonant skeletons (all names, which is how an
    Arabic-script query finds Latin list names and back), and every entry under
    its identifiers. A query collects the names that share keys, ranks them by
    the summed rarity (idf) of the shared keys and keeps the best
    ``max_candidates`` names: a name is scored against tens of list names,
    not thousands.
    """

    def __init__(
        self, entries: Iterable[tuple[int, ListEntry]] = (), *, max_candidates: int = 40
    ) -> None:
        self.max_candidates = max_candidates
        self._entries: dict[int, ListEntry] = {}
        self._names: list[ListName] = []
        self._postings: defaultdict[str, list[int]] = defaultdict(list)
        self._arrays: dict[str, npt.NDArray[np.intp]] = {}  # postings as arrays, made on use
        self._identifiers: defaultdict[str, set[int]] = defaultdict(set)
        self._scratch = threading.local()  # each thread's votes array, see _votes
        for entry_id, entry in entries:
            self.add(entry_id, entry)

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def name_count(self) -> int:
        """How many list names (primary, aliases, original script) are indexed."""
        return len(self._names)

    def add(self, entry_id: int, entry: ListEntry) -> None:
        """Index one entry under ``entry_id`` (ids are the caller's)."""
        if entry_id in self._entries:
            raise ValueError(f"entry id {entry_id} is already indexed")
        self._entries[entry_id] = entry
        self._arrays.clear()
        for name, kind in _entry_names(entry):
            normalized = normalize_name(name)
            index = len(self._names)
            self._names.append(ListName(entry_id, normalized, kind == "weak_alias"))
            for key in _keys(normalized):
                self._postings[key].append(index)
        for identifier in entry.identifiers:
            if norm := _norm_id(identifier):
                self._identifiers[norm].add(entry_id)

    def _idf(self, key: str) -> float:
        return math.log(1 + len(self._names) / (1 + len(self._postings.get(key, ()))))

    def _votes(self) -> npt.NDArray[np.float64]:
        """A zeroed array of one vote per list name, this thread's own, kept: a
        fresh ``np.zeros`` of 25,000 names is memory the system maps anew and
        faults in page by page, which cost more than the votes themselves."""
        votes: npt.NDArray[np.float64] | None = getattr(self._scratch, "votes", None)
        if votes is None or len(votes) != len(self._names):
            votes = self._scratch.votes = np.zeros(len(self._names))
        else:
            votes.fill(0.0)
        return votes

    def _candidate_names(self, name: str) -> list[int]:
        votes = self._votes()
        for key in sorted(_keys(normalize_name(name))):  # a fixed order: the same sums
            postings = self._arrays.get(key)
            if postings is None:
                listed = self._postings.get(key)
                if not listed:
                    continue
                postings = self._arrays[key] = np.array(listed, dtype=np.intp)
            votes[postings] += self._idf(key)  # a name is once in a key's postings
        found = (votes != 0.0).nonzero()[0]
        got = votes[found]
        if len(found) > self.max_candidates:
            # Keep every name tied with the last place, then order exactly. (A sort
            # finds the last place four times faster than np.partition here: the
            # votes are sums of a few idfs, full of ties, which slow its selection.)
            cut = np.sort(got)[len(found) - self.max_candidates]
            kept = got >= cut
            found, got = found[kept], got[kept]
        # Most votes first, ties by index.
        ranked = found[np.lexsort((found, -got))][: self.max_candidates]
        return ranked.tolist()  # type: ignore[no-any-return]

    def candidates(self, name: str, *, identifiers: Sequence[str] = ()) -> set[int]:
        """Ids of the entries worth scoring against ``name``."""
        found = {self._names[index].entry_id for index in self._candidate_names(name)}
        for identifier in identifiers:
            found |= self._identifiers.get(_norm_id(identifier), set())
        return found

    def search(
        self,
        names: Sequence[str],
        *,
        limit: int = 10,
        threshold: float = REVIEW_THRESHOLD,
        birth_date: str | None = None,
        nationality: str | None = None,
        identifiers: Sequence[str] = (),
        kind: str | None = None,
    ) -> list[SearchHit]:
        """Entries whose `score_entry` against ``names`` reaches ``threshold``,
        best first (ties by entry id), at most ``limit``.

        Only the retrieved list names are scored first; an entry is scored in
        full (all its names, with the birth date / nationality / identifier
        adjustments) when one of them comes within reach of the threshold
        (the adjustments add at most 0.07) or an identifier matched.
        """
        by_id: set[int] = set()
        for identifier in identifiers:
            by_id |= self._identifiers.get(_norm_id(identifier), set())
        near: set[int] = set(by_id)
        reach = threshold - 0.07
        for name in names:
            if not name.strip():
                continue
            query = normalize_name(name)
            add_near(query, [self._names[i] for i in self._candidate_names(name)], reach, near)
        hits: list[SearchHit] = []
        for entry_id in near:
            entry = self._entries[entry_id]
            match = score_entry(
                names,
                entry,
                birth_date=birth_date,
                nationality=nationality,
                identifiers=identifiers,
                kind=kind,
            )
            if match.score >= threshold:
                hits.append(SearchHit(entry_id, entry, match))
        hits.sort(key=lambda h: (-h.match.score, h.entry_id))
        return hits[:limit]

    def knows_identifier(self, identifiers: Sequence[str]) -> bool:
        """Whether any of these identifiers is on an indexed entry. When none is,
        a search with them answers exactly as one without them."""
        return any(_norm_id(i) in self._identifiers for i in identifiers)

    def search_many(
        self,
        queries: Sequence[Query],
        *,
        workers: int = 1,
        limit: int = 10,
        threshold: float = REVIEW_THRESHOLD,
    ) -> list[list[SearchHit]]:
        """`search` for each of many queries, in order, with exactly its answers.

        With ``workers`` > 1 and enough queries, the searches are shared out
        between that many forked processes, which read this index as it is
        in memory (copy-on-write: nothing is rebuilt or sent but the queries
        and the hits). Matching is pure computation, so two processes screen
        about twice as many names per second as one on a 2-core machine.
        """
        if workers <= 1 or len(queries) < _PARALLEL_MINIMUM:
            return [_search(self, q, limit, threshold) for q in queries]
        global _FORKED_INDEX
        size = max(64, len(queries) // (workers * 8))  # a few chunks each: they even out
        chunks = [
            (list(queries[start : start + size]), limit, threshold)
            for start in range(0, len(queries), size)
        ]
        _FORKED_INDEX = self  # the children start with it (fork), nothing is pickled
        # Objects that exist now are left out of the children's garbage
        # collections, which would otherwise write to (and so copy) every page
        # of the parent's heap they share. A process that had frozen its
        # long-lived objects already (ledger/ops/collector.py) keeps them so.
        was_frozen = gc.get_freeze_count() > 0
        gc.freeze()
        try:
            context = multiprocessing.get_context("fork")
            with ProcessPoolExecutor(workers, mp_context=context) as pool:
                parts = list(pool.map(_search_chunk, chunks))
        except BrokenProcessPool:
            # A worker died (killed for memory, say): screen here instead. Slower,
            # never wrong, and nothing is left unscreened.
            log.warning("search_many: a worker process died; searching in this process")
            return [_search(self, q, limit, threshold) for q in queries]
        finally:
            if not was_frozen:
                gc.unfreeze()
            _FORKED_INDEX = None
        return [
            [SearchHit(entry_id, self._entries[entry_id], match) for entry_id, match in hits]
            for part in parts
            for hits in part
        ]


def _search(index: NameIndex, query: Query, limit: int, threshold: float) -> list[SearchHit]:
    return index.search(
        query.names,
        limit=limit,
        threshold=threshold,
        birth_date=query.birth_date,
        nationality=query.nationality,
        identifiers=query.identifiers,
        kind=query.kind,
    )


#: Below this many queries a process pool costs more than it saves.
_PARALLEL_MINIMUM = 2000
_FORKED_INDEX: NameIndex | None = None


def _search_chunk(
    job: tuple[list[Query], int, float],
) -> list[list[tuple[int, EntryMatch]]]:
    """In a forked child: search a chunk of queries in the parent's index."""
    queries, limit, threshold = job
    index = _FORKED_INDEX
    assert index is not None, "search_many's children are forked with the index"
    return [
        [(hit.entry_id, hit.match) for hit in _search(index, q, limit, threshold)] for q in queries
    ]
