"""Figures ("over 800 companies") and dates ("July 26, 2025", "Saturday") found in a text.

Pure functions over the text and its spaCy Doc: no database, no network.

Figures. A number is a token of digits ("800", "3,000", "1.5"), optionally scaled
("1.5 billion"), or a spelled-out number from two to ninety ("three-day",
"twenty-eight"; "one" only when hyphenated, since "one of", "no one" are not counts).
A figure needs what it counts: the noun phrase after it ("large language models"),
or "percent", or a currency sign. Leading praise words ("cutting-edge",
"distinguished") and superlatives ("largest") are dropped from the unit, since
the same count of the same things is written with and without them; compound
words and descriptive adjectives ("AI-enabled devices", "large language models")
stay. A phrase cut off by an ellipsis ("over 1,000 distinguished…") keeps the
cut-off words as its unit rather than an invented noun. The span runs from the
qualifier (if any) to the end of the unit: "over 800 companies".

Qualifiers: exact; over; more_than (more than, in excess of, upwards of); at_least (at
least, no fewer than, "1,000+"); about (about, around, approximately, roughly, some, an
estimated); nearly (nearly, almost, close to: kept apart from "about" because it
bounds the value from above); up_to; fewer_than (fewer than, less than, under).
Money: the sign names the unit ($ and US$ dollars, € euros, £ pounds, ¥ yuan) and the
value is scaled ("$40bn" = 40000000000); "40 billion yuan" reads its unit from the text.
A coordinated unit is kept whole: "28 countries and the EU".

Skipped: years ("2025", "the 2023 rules"; a qualified "over 2000 delegates" counts),
digits inside names and codes ("5G", "GPT-4", "+86 10 ..."), "one in five", spelled-out
numbers that refer back ("the two sides", "the world's two largest economies"),
numbers inside dates and times, ordinals, labels ("Article 5", "WAIC 2025"),
anything inside a URL, a pic.twitter.com link or a @handle.

Dates. Explicit dates come from regular expressions (month-day-year,
day-month-year, ISO; a range "February 10-11, 2025" gives its first day). Without a
year, the year that puts the day closest to the published date is taken. A bare
weekday is the latest such day on or before the published date (news reports what
happened), the next one on or after it in a future-tense clause ("will vote on
Friday"); "next Friday" looks forward, "last Friday" strictly back. today, yesterday
and tomorrow count from the published date. "October 2023" and spaCy's relative
periods ("this year", "last month") are recorded with date None: a DateFound holds a
day or nothing. Without a published date, only dates with a year get a day. Numeric
dates like 12/05/2024 are skipped: day-first and month-first cannot be told apart.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Iterable
from functools import lru_cache

from spacy.tokens import Doc, Token

from governance.extract.types import DateFound, FigureFound

# --- Shared: spans never to read numbers or dates from ------------------------------------

_LINKISH = re.compile(
    r"https?://\S+|www\.\S+|pic\.twitter\.com/\S+|(?<![\w.])@\w+|\b[\w-]+\.(?:com|org|net|cn|gov|int)/\S*",
    re.IGNORECASE,
)


def _link_spans(text: str) -> list[tuple[int, int]]:
    return list(_links_in(text))


@lru_cache(maxsize=4)
def _links_in(text: str) -> tuple[tuple[int, int], ...]:
    # Figures and dates both ask, of the same text: the search costs ~0.2 ms an article.
    return tuple((m.start(), m.end()) for m in _LINKISH.finditer(text))


def _inside(start: int, end: int, spans: Iterable[tuple[int, int]]) -> bool:
    return any(s < end and start < e for s, e in spans)


# --- Figures ------------------------------------------------------------------------------

_DIGITS = re.compile(r"^(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?$")
_SUFFIXED = re.compile(r"^(\d+(?:\.\d+)?)(bn|mn|m|k|tn)$", re.IGNORECASE)
_YEAR = re.compile(r"^(?:1[89]|20|21)\d{2}$")

_WORD_NUMBERS = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13,
    "fourteen": 14, "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18,
    "nineteen": 19, "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50,
    "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90,
}  # fmt: skip
_TENS = {"twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"}

_SCALES = {
    "hundred": 100,
    "thousand": 1_000,
    "million": 1_000_000,
    "mn": 1_000_000,
    "billion": 1_000_000_000,
    "bn": 1_000_000_000,
    "trillion": 1_000_000_000_000,
    "tn": 1_000_000_000_000,
    "m": 1_000_000,
    "k": 1_000,
}

_CURRENCY_SIGNS = {"$": "dollars", "us$": "dollars", "€": "euros", "£": "pounds", "¥": "yuan"}

# Read right to left from the number: the longest phrase wins.
_QUALIFIERS: list[tuple[tuple[str, ...], str]] = [
    (("in", "excess", "of"), "more_than"),
    (("more", "than"), "more_than"),
    (("upwards", "of"), "more_than"),
    (("at", "least"), "at_least"),
    (("no", "fewer", "than"), "at_least"),
    (("no", "less", "than"), "at_least"),
    (("fewer", "than"), "fewer_than"),
    (("less", "than"), "fewer_than"),
    (("up", "to"), "up_to"),
    (("close", "to"), "nearly"),
    (("an", "estimated"), "about"),
    (("over",), "over"),
    (("nearly",), "nearly"),
    (("almost",), "nearly"),
    (("about",), "about"),
    (("around",), "about"),
    (("approximately",), "about"),
    (("roughly",), "about"),
    (("some",), "about"),
    (("under",), "fewer_than"),
]

# Words of praise or rank that do not change what is counted.
_EVALUATIVE = {
    "cutting-edge", "distinguished", "renowned", "leading", "top", "prominent",
    "major", "key", "notable", "various", "different", "innovative", "new",
    "latest", "eminent", "esteemed", "outstanding", "world-class", "high-profile",
    "high-level", "senior", "influential", "selected", "participating",
}  # fmt: skip

_MONTHS_LOWER = {
    "january", "february", "march", "april", "may", "june", "july", "august",
    "september", "october", "november", "december", "jan", "feb", "mar", "apr",
    "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec",
}  # fmt: skip
_TIME_WORDS = {"am", "a.m.", "pm", "p.m.", "gmt", "utc", "bst", "cet", "o'clock", "hours", "hrs"}
# Before a spelled-out number these make it point back at things already named.
_REFERRING = {"the", "these", "those", "its", "their", "our", "his", "her", "'s", "’s"}
_ELLIPSIS = {"…", "...", "…."}


def _number_value(tok: Token) -> int | float | None:
    """The value of a single number token, or None if it is not one we read."""
    if _DIGITS.match(tok.text):
        raw = tok.text.replace(",", "")
        return float(raw) if "." in raw else int(raw)
    suffixed = _SUFFIXED.match(tok.text)
    if suffixed:  # "$40bn", "1.2m"
        number, scale = suffixed.groups()
        return float(number) * _SCALES[scale.lower()]
    return _WORD_NUMBERS.get(tok.lower_)


def _part_of_word(doc: Doc, i: int) -> bool:
    """ "5G", "GPT-4", "COVID-19", "010-6512-3456": digits inside a name or a code."""
    tok = doc[i]
    if tok.whitespace_ == "" and i + 1 < len(doc) and doc[i + 1].is_alpha:
        return True
    if i == 0 or doc[i - 1].whitespace_ != "":
        return False
    glue = doc[i - 1].text
    if glue in {"+", "/"}:  # "+86", "78/265"
        return True
    # "GPT-4", "COVID-19"; but "50-60 countries" is a range whose end still counts.
    return glue == "-" and i >= 2 and doc[i - 2].whitespace_ == "" and not doc[i - 2].like_num


def _hyphen_after(doc: Doc, i: int) -> bool:
    """Token i is glued by a hyphen to the next word: "three-day", "AI-enabled"."""
    return (
        i + 2 < len(doc)
        and doc[i].whitespace_ == ""
        and doc[i + 1].text in {"-", "‑", "–"}
        and doc[i + 1].whitespace_ == ""
    )


def _word_groups(doc: Doc, i: int, limit: int = 6) -> list[tuple[int, int]]:
    """Hyphen-joined words from token i on, as (first, last) token indexes."""
    groups: list[tuple[int, int]] = []
    while i < len(doc) and len(groups) < limit:
        j = i
        while _hyphen_after(doc, j):
            j += 2
        groups.append((i, j))
        i = j + 1
    return groups


def _is_np_word(doc: Doc, first: int, last: int) -> bool:
    """Can this word sit inside the counted noun phrase?"""
    if first != last:  # hyphenated compounds are descriptive: "AI-enabled", "cross-border"
        return doc[last].pos_ not in {"PUNCT", "NUM"} and doc[first].pos_ != "NUM"
    tok = doc[first]
    if tok.is_punct or tok.like_num or tok.lower_ in _MONTHS_LOWER:
        return False
    if tok.pos_ in {"NOUN", "PROPN", "ADJ"}:
        return True
    # "participating countries", "developed economies": participles used as adjectives.
    return tok.tag_ in {"VBN", "VBG"} and tok.dep_ in {"amod", "compound"}


def _is_noun(doc: Doc, first: int, last: int) -> bool:
    return doc[last].pos_ in {"NOUN", "PROPN"} and not doc[last].like_num


def _text(text: str, doc: Doc, first: int, last: int) -> str:
    return text[doc[first].idx : doc[last].idx + len(doc[last])]


def _unit_phrase(text: str, doc: Doc, i: int, hyphenated: bool = False) -> tuple[str, int] | None:
    """The counted noun phrase starting at token i: (unit, index of its last token)."""
    groups = _word_groups(doc, i)
    taken: list[tuple[int, int]] = []
    for first, last in groups:
        if not _is_np_word(doc, first, last):
            break
        # "40 billion yuan last year": a time phrase ends the unit, except the word
        # glued to the number ("three-day event").
        if doc[first].ent_type_ in {"DATE", "TIME"} and not (hyphenated and not taken):
            break
        taken.append((first, last))
    nouns = [k for k, (f, la) in enumerate(taken) if _is_noun(doc, f, la)]
    if not nouns:
        # Cut off mid-phrase ("over 1,000 distinguished…"): keep what is there.
        after = taken[-1][1] + 1 if taken else i
        if taken and after < len(doc) and doc[after].text in _ELLIPSIS:
            return _text(text, doc, taken[0][0], taken[-1][1]), taken[-1][1]
        return None
    # The phrase ends at the first noun not followed by another noun-phrase word
    # that itself leads to a noun: "large language models", not "models Tuesday".
    end = nouns[0]
    for k in nouns[1:]:
        if k == end + 1 or all(_is_np_word(doc, *taken[m]) for m in range(end + 1, k + 1)):
            end = k
        else:
            break
    start = 0
    while start < end:
        f, la = taken[start]
        word = _text(text, doc, f, la).lower()
        if word in _EVALUATIVE or doc[la].tag_ in {"JJS", "RBS"}:
            start += 1
        else:
            break
    last_tok = taken[end][1]
    unit = _text(text, doc, taken[start][0], last_tok)
    # "28 countries and the EU", "40 countries and international organizations"
    conj = last_tok + 1
    if conj + 1 < len(doc) and doc[conj].lower_ in {"and", "or"}:
        k = conj + 1
        if doc[k].lower_ == "the":
            k += 1
        tail = _unit_phrase_simple(doc, k)
        if tail is not None:
            last_tok = tail
            unit = _text(text, doc, taken[start][0], last_tok)
    return unit, last_tok


def _unit_phrase_simple(doc: Doc, k: int) -> int | None:
    """End of a number-free noun phrase at k (for a coordinated unit), else None."""
    groups = _word_groups(doc, k, limit=4)
    end = None
    for first, last in groups:
        if not _is_np_word(doc, first, last):
            break
        if _is_noun(doc, first, last):
            end = last
        elif end is not None:
            break
    return end


def _qualifier(doc: Doc, i: int) -> tuple[str, int]:
    """The qualifier before token i and the index where the figure's span starts."""
    words = [t.lower_ for t in doc[max(0, i - 3) : i]]
    for phrase, name in _QUALIFIERS:
        n = len(phrase)
        if len(words) >= n and tuple(words[-n:]) == phrase:
            return name, i - n
    return "exact", i


def _is_label_number(doc: Doc, i: int) -> bool:
    """ "Article 5", "WAIC 2025", "G 20", "No. 3": a number naming something, not a count."""
    if i == 0:
        return False
    prev = doc[i - 1]
    if prev.text in {"#", "No.", "no.", "No", "Nos."}:
        return True
    return prev.pos_ in {"PROPN", "NOUN"} and prev.whitespace_ != "" and prev.tag_ != "POS"


def _in_date_or_time(doc: Doc, i: int) -> bool:
    tok = doc[i]
    if tok.ent_type_ in {"DATE", "TIME", "ORDINAL"}:
        return True
    near = [doc[k].lower_.rstrip(".") for k in (i - 1, i + 1) if 0 <= k < len(doc)]
    if any(w in _MONTHS_LOWER for w in near):
        return True
    return i + 1 < len(doc) and doc[i + 1].lower_ in _TIME_WORDS


def extract_figures(text: str, doc: Doc) -> list[FigureFound]:
    """Counts with their qualifier and counted noun, in text order."""
    links = _link_spans(text)
    found: list[FigureFound] = []
    # Only a token _number_value reads can start a figure: one that starts with a digit
    # (its patterns' first character is a \d, which isdigit() includes) or a number word.
    starts = [t.i for t in doc if t.text[:1].isdigit() or t.lower_ in _WORD_NUMBERS]
    i = 0
    for start in starts:
        if start < i:
            continue  # read as part of the figure before
        figure, i = _figure_at(text, doc, start, links)
        if figure is not None:
            found.append(figure)
    return found


def _figure_at(
    text: str, doc: Doc, i: int, links: list[tuple[int, int]]
) -> tuple[FigureFound | None, int]:
    """The figure starting with the number at token i, and where to read on."""
    tok = doc[i]
    value = _number_value(tok)
    if value is None or _inside(tok.idx, tok.idx + len(tok), links) or _part_of_word(doc, i):
        return None, i + 1
    if i >= 2 and (doc[i - 2].lower_, doc[i - 1].lower_) == ("one", "in"):
        return None, i + 1  # "one in five firms" is a share, not a count
    spelled = tok.lower_ in _WORD_NUMBERS
    last = i  # last token of the number itself
    if spelled and tok.lower_ in _TENS and _hyphen_after(doc, i):
        ones = _WORD_NUMBERS.get(doc[i + 2].lower_)
        if ones is not None and ones < 10:  # "twenty-eight"
            value += ones
            last = i + 2
    hyphenated = _hyphen_after(doc, last)
    if spelled and tok.lower_ == "one" and not hyphenated:
        return None, i + 1
    if spelled and not hyphenated and i > 0 and doc[i - 1].lower_ in _REFERRING:
        return None, i + 1  # "the two countries", "the world's two largest economies"
    currency = ""
    if i > 0 and doc[i - 1].lower_ in _CURRENCY_SIGNS:  # "$40 billion", "over $1 billion"
        currency = _CURRENCY_SIGNS[doc[i - 1].lower_]
        qualifier, start = _qualifier(doc, i - 1)
    else:
        qualifier, start = _qualifier(doc, i)
    if qualifier == "exact" and not hyphenated:
        # NER calls "Over 2000" a DATE too, so only an unqualified number is taken as one.
        if _in_date_or_time(doc, i):
            return None, i + 1
        if not currency and _is_label_number(doc, i):
            return None, last + 1
        # "the 2023 rules", "2025": years. A count this size is written "2,000" or qualified.
        if not spelled and _YEAR.match(tok.text):
            return None, last + 1
    while last + 1 < len(doc) and doc[last + 1].lower_ in _SCALES:
        value *= _SCALES[doc[last + 1].lower_]
        last += 1
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    nxt = last + 1
    if nxt < len(doc) and doc[nxt].text == "+" and doc[last].whitespace_ == "":
        qualifier = "at_least" if qualifier == "exact" else qualifier  # "1,000+ firms"
        nxt += 1
    unit, end_tok = "", last
    if nxt < len(doc) and doc[nxt].text == "%":
        unit, end_tok = "percent", nxt
    elif nxt + 1 < len(doc) and (doc[nxt].lower_, doc[nxt + 1].lower_) == ("per", "cent"):
        unit, end_tok = "percent", nxt + 1
    elif nxt < len(doc) and doc[nxt].lower_ == "percent":
        unit, end_tok = "percent", nxt
    else:
        phrase = _unit_phrase(text, doc, nxt + 1 if hyphenated else nxt, hyphenated)
        if phrase is not None:
            unit, end_tok = phrase
        elif currency:
            unit = currency
        else:
            return None, last + 1
    end_char = doc[end_tok].idx + len(doc[end_tok])
    if _inside(doc[start].idx, end_char, links):
        return None, end_tok + 1
    figure = FigureFound(
        value=value, qualifier=qualifier, unit=unit, start=doc[start].idx, end=end_char
    )
    return figure, max(last + 1, i + 1)


# --- Dates --------------------------------------------------------------------------------

_MONTH_NUMBERS = {
    "jan": 1, "feb": 2, "mar": 3, "apr": 4, "may": 5, "jun": 6, "jul": 7, "aug": 8,
    "sep": 9, "oct": 10, "nov": 11, "dec": 12,
}  # fmt: skip
_WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]

_MONTH = (
    r"(?P<month>January|February|March|April|May|June|July|August|September|October|"
    r"November|December|(?:Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sept?|Oct|Nov|Dec)\.?)"
)
_WEEKDAY_PREFIX = (
    r"(?:(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday|"
    r"Mon|Tue|Tues|Wed|Thu|Thur|Thurs|Fri|Sat|Sun)\.?,?\s+)?"
)
_DAY = r"(?P<day>[0-3]?\d)(?:st|nd|rd|th)?"
_DAY_RANGE = r"(?:\s*[-–—]\s*[0-3]?\d(?:st|nd|rd|th)?)?"
_YEAR_PART = r"(?:,?\s+(?P<year>(?:19|20)\d{2}))?"

# Each date pattern opens with a lookahead for the characters it can start with: the
# same test its first alternatives make, but as the pattern's first step it lets `re`
# skip to those characters instead of trying the pattern at every position (the date
# patterns took 2-3 times as long without it).
_WEEKDAY_OR_MONTH = "(?=[MTWFSJAOND])"
_WEEKDAY_OR_DAY = "(?=[MTWFS0-9])"
_DATE_PATTERNS = [
    # ISO first: it cannot overlap the others.
    re.compile(r"(?=[12])\b(?P<year>(?:19|20)\d{2})-(?P<mnum>[01]\d)-(?P<day>[0-3]\d)\b"),
    # "Saturday, July 26, 2025", "February 10-11, 2025", "July 26"
    re.compile(
        rf"{_WEEKDAY_OR_MONTH}\b{_WEEKDAY_PREFIX}{_MONTH}\s+{_DAY}{_DAY_RANGE}\b{_YEAR_PART}"
    ),
    # "Thu 2 Nov 2023", "1 November", "26-28 July 2025", "2nd of November"
    re.compile(
        rf"{_WEEKDAY_OR_DAY}\b{_WEEKDAY_PREFIX}{_DAY}{_DAY_RANGE}\s+(?:of\s+)?{_MONTH}\b{_YEAR_PART}"
    ),
]
_MONTH_YEAR = re.compile(rf"(?=[JFMASOND])\b{_MONTH}\s+(?:of\s+)?(?:19|20)\d{{2}}\b")
_WEEKDAY_ALONE = re.compile(
    r"(?=[lntoOLNTMWFS])\b(?:(?P<rel>last|next|this|on|On|Last|Next|This)\s+)?"
    r"(?P<weekday>Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)\b"
)
_DEICTIC = re.compile(r"(?=[ty])\b(?P<word>today|yesterday|tomorrow)\b", re.IGNORECASE)
_OFFSETS = {"today": 0, "yesterday": -1, "tomorrow": 1}
# Periods worth recording without a day: "this year", "earlier this month", "last week".
_RELATIVE_PERIOD = re.compile(
    r"^(?:(?:earlier|later)\s+)?(?:this|last|next|the\s+past)\s+(?:year|month|week)$",
    re.IGNORECASE,
)


def _month_number(name: str) -> int:
    return _MONTH_NUMBERS[name.lower().rstrip(".")[:3]]


def _nearest_year(month: int, day: int, published: datetime.date) -> datetime.date | None:
    """A month and day without a year: the one closest to the published date.

    "1 November" in a piece of 2 November 2023 is 2023-11-01; "28 December" read on
    5 January is the December just past, "10 February" read in December the one ahead.
    """
    options = []
    for year in (published.year - 1, published.year, published.year + 1):
        try:
            options.append(datetime.date(year, month, day))
        except ValueError:
            continue
    return min(options, key=lambda d: abs((d - published).days)) if options else None


def _explicit_date(m: re.Match[str], published: datetime.date | None) -> datetime.date | None:
    groups = m.groupdict()
    month = int(groups["mnum"]) if groups.get("mnum") else _month_number(groups["month"])
    day = int(groups["day"])
    if groups.get("year"):
        try:
            return datetime.date(int(groups["year"]), month, day)
        except ValueError:
            return None
    return _nearest_year(month, day, published) if published else None


def _weekday_date(weekday: str, rel: str, published: datetime.date | None) -> datetime.date | None:
    """A bare weekday: the most recent one on or before the published date.

    News reports what happened ("on Monday, the Assembly adopted..."), so a bare weekday
    looks back; "next Friday" looks forward, "last Friday" strictly back.
    """
    if published is None:
        return None
    target = _WEEKDAYS.index(weekday.lower())
    back = (published.weekday() - target) % 7
    rel = rel.lower()
    if rel == "next":
        return published + datetime.timedelta(days=(target - published.weekday()) % 7 or 7)
    if rel == "coming":  # "the council will vote on Friday": on or after the published day
        return published + datetime.timedelta(days=(target - published.weekday()) % 7)
    if rel == "last" and back == 0:
        back = 7
    return published - datetime.timedelta(days=back)


def _future_tense(doc: Doc, char: int) -> bool:
    """Is the clause around the word at char in the future ("will meet on Monday")?"""
    span = doc.char_span(char, char + 1, alignment_mode="expand")
    if span is None:
        return False
    for node in [span.root, *span.root.ancestors]:
        if any(c.dep_ == "aux" and c.lower_ in {"will", "shall", "'ll"} for c in node.children):
            return True
        if node.pos_ in {"VERB", "AUX"}:
            return False
    return False


def extract_dates(text: str, doc: Doc, published: datetime.date | None) -> list[DateFound]:
    """Dates in the text, normalised against the published date, in text order."""
    if isinstance(published, datetime.datetime):
        published = published.date()  # a DateFound holds a day
    blocked = _link_spans(text)
    found: list[DateFound] = []

    def add(start: int, end: int, value: datetime.date | None) -> None:
        if _inside(start, end, blocked):
            return
        blocked.append((start, end))
        found.append(DateFound(text=text[start:end], date=value, start=start, end=end))

    for pattern in _DATE_PATTERNS:
        for m in pattern.finditer(text):
            add(m.start(), m.end(), _explicit_date(m, published))
    for m in _MONTH_YEAR.finditer(text):  # "in October 2023": a month, not a day
        add(m.start(), m.end(), None)
    for m in _WEEKDAY_ALONE.finditer(text):
        rel = m.group("rel") or ""
        # "on Monday" is not a relation: keep the span to the weekday itself.
        start = m.start() if rel.lower() in {"last", "next", "this"} else m.start("weekday")
        if rel.lower() not in {"last", "next", "this"} and _future_tense(doc, m.start("weekday")):
            rel = "coming"
        add(start, m.end(), _weekday_date(m.group("weekday"), rel, published))
    for m in _DEICTIC.finditer(text):
        value = None
        if published is not None:
            value = published + datetime.timedelta(days=_OFFSETS[m.group("word").lower()])
        add(m.start(), m.end(), value)
    for ent in doc.ents:
        if ent.label_ == "DATE" and _RELATIVE_PERIOD.match(ent.text.strip()):
            add(ent.start_char, ent.end_char, None)
    found.sort(key=lambda d: d.start)
    return found
