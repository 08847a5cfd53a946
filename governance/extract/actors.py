"""People named in an article, with role and affiliation; `extract_actors` adds organizations.

spaCy's NER proposes PERSON spans; rules decide. NER tags companies as people
("Unitree") and nicknames as names ("Godfather of AI"), so a person needs at
least two capitalised name tokens and must not be a known organization or
country; single tokens count only as short references ("Li said") to a full
name found elsewhere. Roles come from the words around a full-name mention: a
title before it ("Chinese Premier Li Qiang"), an appositive before it
("Secretary-General of ASEAN, Dr. Kao Kim Hourn") or after it ("Rishi Sunak,
the UK prime minister,"). Organizations: organizations.py.
"""

from __future__ import annotations

import re

from spacy.tokens import Doc

from governance.extract.occurrences import matches
from governance.extract.organizations import (
    POSSESSIVE,
    affiliation_of,
    country_of,
    extract_organizations,
    organization_gazetteer,
)
from governance.extract.types import Mention, OrganizationFound, PersonFound

# Stripped from the front of a name. "Sir", "Lord" and "Sheikh" stay: news uses them as
# part of the name ("Lord Vallance"); royal titles do not ("Prince Abdulaziz bin Salman").
HONORIFICS = {"dr", "mr", "mrs", "ms", "prof", "professor", "madam", "h.e.", "prince", "princess"}
NAME_PARTICLES = {"von", "van", "der", "den", "de", "da", "del", "bin", "al", "la", "le", "ibn"}

# Title heads: a role needs one of these. Lower case; multiword heads first.
TITLE_HEADS = [
    "secretary of state",
    "chief executive officer",
    "chief executive",
    "chief scientist",
    "permanent representative",
    "special envoy",
    "under-secretary-general",
    "secretary-general",
    "secretary general",
    "director-general",
    "director general",
    "prime minister",
    "vice president",
    "vice-president",
    "state councillor",
    "premier",
    "president",
    "minister",
    "secretary",
    "chancellor",
    "ambassador",
    "envoy",
    "representative",
    "ceo",
    "cto",
    "founder",
    "co-founder",
    "chairman",
    "chairwoman",
    "chair",
    "director",
    "commissioner",
    "spokesperson",
    "spokesman",
    "spokeswoman",
    "senator",
    "governor",
    "mayor",
    "king",
    "queen",
    "professor",
    "head",
    "adviser",
    "advisor",
    "leader",
    "economist",
    "scientist",
    "researcher",
    "official",
    "lawmaker",
    "advocate",
    "activist",
    "analyst",
    "expert",
    "partner",
    "fellow",
    "campaigner",
    "lawyer",
    "engineer",
    "negotiator",
    "diplomat",
    "consultant",
    "officer",
    "politician",
    "chief",
    "czar",
    "tsar",
]
# Words that may precede a head inside a title ("Vice Foreign Minister").
TITLE_MODIFIERS = {
    "vice",
    "deputy",
    "foreign",
    "prime",
    "chief",
    "executive",
    "special",
    "general",
    "senior",
    "acting",
    "interim",
    "first",
    "permanent",
    "state",
    "digital",
    "science",
    "technology",
    "tech",
    "commerce",
    "trade",
    "finance",
    "defence",
    "defense",
    "interior",
    "industry",
    "economy",
    "ai",
    "top",
    "lead",
    "managing",
    "co",
}
_HEAD_RE = "|".join(re.escape(h) for h in sorted(TITLE_HEADS, key=len, reverse=True))
# Scoped (?i:) so that patterns embedding it stay case-sensitive elsewhere.
_TITLE_PATTERN = rf"(?i:(?:(?:{'|'.join(sorted(TITLE_MODIFIERS))})[\s-]+)*(?:{_HEAD_RE})\b)"
_TITLE_RE = re.compile(_TITLE_PATTERN)
# A name token: capitalised word ("Qiang", "O'Neill", "Jean-Noël") or initials ("JD").
_NAME_TOKEN = r"(?:[A-Z][a-zà-ÿ]+(?:[-'’][A-Za-zà-ÿ]+)*|[A-Z]{1,2}\.?(?:[A-Z]\.)?)"
_BYLINE_RE = re.compile(
    rf"^[ \t]*(?:By|Posted by:?|Written by:?|Author:)[ \t]+"
    rf"({_NAME_TOKEN}(?:[ \t]+{_NAME_TOKEN}){{1,2}})"
    rf"(?:[ \t]+and[ \t]+({_NAME_TOKEN}(?:[ \t]+{_NAME_TOKEN}){{1,2}}))?[ \t]*$",
    re.MULTILINE,
)
# A title head, then two or three capitalised tokens: a name NER may miss. The lookahead
# on a head's first letter is the same test the heads make first; it only spares the
# regex trying each of them at every word that cannot start one (half its time).
_HEAD_FIRSTS = re.escape("".join(sorted({h[0] for h in TITLE_HEADS})))
_TITLED_NAME_RE = re.compile(
    rf"\b(?=(?i:[{_HEAD_FIRSTS}]))(?i:{_HEAD_RE})\s+(?:(?:Dr|Mr|Mrs|Ms|Prof|Prince|Princess)\.?\s+)?"
    rf"({_NAME_TOKEN}(?:\s+{_NAME_TOKEN}){{0,2}}(?:\s+(?:{'|'.join(NAME_PARTICLES)})\s+{_NAME_TOKEN})?)\b"
)
# "[Read More: ...]" link lines are site boilerplate, not article facts.
# [ \t], not \s: from each line start \s* crossed every blank line after it (quadratic).
_BOILERPLATE_RE = re.compile(
    r"^[ \t]*\[(?:Read More|Related|See also)[^\]\n]*\][ \t]*$", re.I | re.M
)


# -- people -------------------------------------------------------------------


def _clean_name(text: str, start: int) -> tuple[str, int]:
    """Strip honorifics before and a possessive after; return the name and its start."""
    while True:
        m = re.match(r"([A-Za-z.]+\.?)\s+", text)
        if m and m.group(1).lower().rstrip(".") in HONORIFICS | {"h.e"}:
            start += m.end()
            text = text[m.end() :]
            continue
        break
    text = POSSESSIVE.sub("", text) if re.search(r"(?:'s|’s)$", text) else text
    return text.strip(" ,\n\t"), start


def _looks_like_name(name: str) -> bool:
    words = name.split()
    if len(words) < 2 or len(words) > 5:
        return False
    if any(w in NOT_NAME_WORDS for w in words):
        return False
    if any(ch.isdigit() or ch in "/@:#&()[]" for ch in name):
        return False
    if not words[0][:1].isupper():
        return False
    for w in words:
        if w.lower() in NAME_PARTICLES:
            continue
        if not w[:1].isupper():
            return False
    if organization_gazetteer().get(name) or country_of(name):
        return False
    # A title alone ("Prime Minister") or any word that is a known organization/country.
    if any(organization_gazetteer().get(w) or country_of(w) for w in words):
        return False
    return not _TITLE_RE.fullmatch(name)


# Words that end NER's false "names": laws, events, documents ("AI Act").
NOT_NAME_WORDS = {"AI", "Act", "Law", "Summit", "Declaration", "Conference", "Agenda", "Era"}


def _in_boilerplate(start: int, boiler: list[tuple[int, int]]) -> bool:
    return any(a <= start < b for a, b in boiler)


def _title_before(text: str, start: int, ner_orgs: frozenset[str] = frozenset()) -> tuple[str, str]:
    """Role and affiliation from words just before a name: "[former] [Aff] Title NAME"."""
    window = text[max(0, start - 120) : start]
    # A title never crosses a line break or a sentence end ("Britain. British ..."); the
    # look-behind keeps abbreviations such as "U.S." inside the window.
    cuts = [m.end() for m in re.finditer(r"\n|(?<=[a-z0-9)”\"])[.!?;]\s", window)]
    window = window[cuts[-1] if cuts else 0 :]
    m = re.search(
        rf"(?:\b((?i:former|ex-|then-?))\s*)?"
        rf"(?:((?:[A-Z][\w.&-]*|U\.S\.|U\.K\.)"
        rf"(?:[ ]+(?:of[ ]+)?[A-Z][\w.&-]*){{0,3}}?(?:'s|’s)?)[ ]+)?"
        # "Minister for Digital Development and Information Josephine Teo": a portfolio.
        rf"({_TITLE_PATTERN}"
        rf"(?:[ ]+(?:for|of)[ ]+[A-Z][\w-]*(?:[ ]+(?:and[ ]+)?[A-Z][\w-]*){{0,4}})?)"
        rf"\s+(?:(?:Dr|Mr|Mrs|Ms|Prof)\.?\s+)?$",
        window,
    )
    if not m:
        return "", ""
    role = m.group(3)
    aff_text = m.group(2) or ""
    if aff_text and _TITLE_RE.fullmatch(f"{aff_text} {role}"):
        # "Prime Minister": the capitalised word was part of the title, not an affiliation.
        role, aff_text = f"{aff_text} {role}", ""
    aff = ""
    if aff_text:
        # "Tesla CEO": a known country, organization or NER organization is the affiliation;
        # other capitalised words are the portfolio ("Kenya's ICT Cabinet Secretary").
        parts = aff_text.split()
        for i in range(len(parts), 0, -1):
            head = " ".join(parts[:i])
            bare = POSSESSIVE.sub("", head)
            if country_of(head) or bare in organization_gazetteer() or bare in ner_orgs:
                aff = affiliation_of(head)
                if parts[i:]:
                    role = " ".join(parts[i:]) + " " + role
                break
        else:
            role = f"{aff_text} {role}"
            owner = re.search(r"(\S+(?: \S+)?)(?:'s|’s)[ ]+$", window[: m.start(2)])
            aff = country_of(owner.group(1)) if owner else ""
    if m.group(1):
        role = f"former {role}" if m.group(1).lower().startswith(("former", "ex")) else role
    return role, aff


def _parse_title_phrase(phrase: str) -> tuple[str, str]:
    """ "the UK prime minister" / "China's permanent representative to the UN" /
    "Secretary-General of ASEAN" -> (role, affiliation); ("", "") if no title."""
    phrase = phrase.strip()
    former = ""
    m = re.match(r"(?:the|a|an)\s+", phrase, re.I)
    if m:
        phrase = phrase[m.end() :]
    m = re.match(r"(former|ex-)\s*", phrase, re.I)
    if m:
        former, phrase = "former ", phrase[m.end() :]
    aff = ""
    # "the French president's special envoy": the office's owner gives the country.
    owner = re.match(
        r"(.*?)\s*\b(?:president|prime minister|premier|government|king|secretary-general)"
        r"(?:'s|’s)\s+(.+)",
        phrase,
        re.IGNORECASE,
    )
    owner_prefix = ""
    if owner:
        owner_prefix, phrase = owner.group(1), owner.group(2)
    title = _TITLE_RE.search(phrase)
    if not title:
        return "", ""
    prefix = (owner_prefix + " " + phrase[: title.start()]).strip()
    role_start = title.start()
    if prefix and prefix == prefix.lower() and not owner_prefix:
        # "a digital rights advocate": lower-case descriptors are part of the role; an
        # unnamed owner ("the chipmaker's chief executive") is not.
        role_start = title.start() if re.search(r"(?:'s|’s|s')$", prefix) else 0
        prefix = ""
    if prefix:
        aff = affiliation_of(prefix)
        # "the EU's internal market commissioner": descriptors after the possessive
        # belong to the role.
        poss = re.match(r"(.+?)(?:'s|’s)\s+([a-z][\w\s-]*)$", prefix)
        if not aff and poss and (aff := affiliation_of(poss.group(1))):
            role_start = phrase.find(poss.group(2))
        if not aff:
            return "", ""
    role = phrase[role_start:].strip()
    tail = re.match(
        r"(.+?)\s+(?:of|from)\s+(?:the\s+)?(?:[A-Z]\w+\s+(?=[a-z]))?(?:[a-z][\w-]*\s+){0,2}"
        r"([A-Z][\w.&-]*(?:\s+[A-Z][\w.&-]*){0,4})$",
        role,
    )
    if tail and (a := affiliation_of(tail.group(2))):
        role, aff = tail.group(1), aff or a
    return former + role, aff


def _appositive_after(text: str, end: int) -> tuple[str, str]:
    m = re.match(
        r",\s+([^,.;:\n()“”\"]{3,90}?)(?=[,.;:)\n]|\s+(?:who|alongside|said)\b)", text[end:]
    )
    return _parse_title_phrase(m.group(1)) if m else ("", "")


def _appositive_before(text: str, start: int) -> tuple[str, str]:
    """ "UK prime minister, Rishi Sunak" / "Secretary-General of ASEAN, Dr. Kao Kim Hourn"."""
    window = text[max(0, start - 140) : start]
    m = re.search(r",\s+(?:(?:Dr|Mr|Mrs|Ms|Prof|H\.E)\.?\s+)?$", window)
    if not m:
        return "", ""
    clause = window[: m.start()]
    # The appositive runs from the last clause boundary that precedes its title word.
    titles = list(_TITLE_RE.finditer(clause))
    if not titles:
        return "", ""
    head = titles[-1]
    # Walk back to where the appositive phrase starts (sentence start or ", ").
    before = clause[: head.start()]
    cuts = [m.end() for m in re.finditer(r"[,.:;]\s|\n", before)]
    phrase = clause[cuts[-1] if cuts else 0 :].strip()
    if len(phrase) > 90 or re.search(r"\b(?:said|says|told|including|and)\s*$", phrase):
        return "", ""
    return _parse_title_phrase(phrase)


def _person_spans(text: str, doc: Doc) -> list[tuple[str, int, int]]:
    """Candidate full-name spans: NER PERSON entities, names after a title, bylines."""
    boiler = [(m.start(), m.end()) for m in _BOILERPLATE_RE.finditer(text)]
    found: list[tuple[str, int, int]] = []
    for ent_text, ent_start in _person_ents(text, doc):
        name, start = _clean_name(ent_text, ent_start)
        # NER often stops before a particle: "Luiz Inácio Lula" + " da Silva".
        tail = re.match(
            rf"(?:\s+(?:{'|'.join(NAME_PARTICLES)}))+\s+{_NAME_TOKEN}", text[start + len(name) :]
        )
        if tail and name == ent_text:
            name += tail.group()
        if _looks_like_name(name) and not _in_boilerplate(start, boiler):
            found.append((name, start, start + len(name)))
    # A capitalised name followed by a title appositive ("Dragos Tudorache, a Romanian
    # lawmaker,") is a person even when NER misses it.
    for m in re.finditer(rf"(?<![\w-])({_NAME_TOKEN}(?:\s+{_NAME_TOKEN}){{1,2}}),\s", text):
        name = m.group(1)
        if (
            _looks_like_name(name)
            and _appositive_after(text, m.end(1))[0]
            and not _in_boilerplate(m.start(1), boiler)
            and not _sentence_word(text, m.start(1))
        ):
            found.append((name, m.start(1), m.end(1)))
    # A title followed by two or three capitalised tokens is a name NER may miss.
    for m in _TITLED_NAME_RE.finditer(text):
        name = m.group(1)
        if _looks_like_name(name) and not _in_boilerplate(m.start(1), boiler):
            found.append((name, m.start(1), m.end(1)))
    for m in _BYLINE_RE.finditer(text):
        for g in (1, 2):
            if m.group(g):
                found.append((m.group(g), m.start(g), m.end(g)))
    # Popes and monarchs are known by title and one name ("Pope Francis", "King Charles III").
    for m in re.finditer(r"\b(?:Pope|King|Queen) [A-Z][a-z]+(?: [IVX]+\b)?", text):
        if not _in_boilerplate(m.start(), boiler):
            found.append((m.group(), m.start(), m.end()))
    # "Artigas said" with NER missing "... Digitalisation Carme Artigas" earlier: a lone
    # surname points back to the given name + surname right before it.
    lone = {e.text for e in doc.ents if e.label_ == "PERSON" and " " not in e.text.strip()}
    lone |= {  # NER may call the surname an organization: "Artigas said"
        m.group(1)
        for m in re.finditer(rf"(?<![\w-])({_NAME_TOKEN}) (?:said|says|told|added)\b", text)
    }
    for surname in lone:
        if not re.fullmatch(_NAME_TOKEN, surname) or any(surname in n.split() for n, *_ in found):
            continue
        for m in re.finditer(rf"(?<![\w-])({_NAME_TOKEN}) {re.escape(surname)}(?![\w-])", text):
            name = m.group()
            if _looks_like_name(name) and not _TITLE_RE.match(m.group(1)):
                found.append((name, m.start(), m.end()))
                break
    return found


def _person_ents(text: str, doc: Doc) -> list[tuple[str, int]]:
    """NER PERSON spans, joining neighbours split by NER ("Luiz Inácio" + "Lula da Silva")."""
    ents: list[tuple[str, int]] = []
    for ent in doc.ents:
        if ent.label_ != "PERSON":
            continue
        if ents and ents[-1][1] + len(ents[-1][0]) + 1 == ent.start_char:
            _, prev_start = ents.pop()
            ents.append((text[prev_start : ent.end_char], prev_start))
        else:
            ents.append((ent.text, ent.start_char))
    return ents


def _sentence_word(text: str, start: int) -> bool:
    """True when the word at start opens a sentence and is a common word ("The", "But")."""
    word = re.match(r"\w+", text[start:])
    return bool(word) and word.group().lower() in {"the", "but", "and", "in", "on", "at", "as"}


def _short_forms(name: str) -> set[str]:
    all_words = name.split()
    particle = next(
        (i for i, w in enumerate(all_words[1:], 1) if w.lower() in NAME_PARTICLES), None
    )
    if particle is not None:
        # "von der Leyen" (and "Von der Leyen" opening a sentence) is the short form.
        surname = " ".join(all_words[particle:])
        return {surname, surname[0].upper() + surname[1:]}
    words = [w for w in all_words if w.lower() not in NAME_PARTICLES]
    forms = {words[-1]}
    # Chinese, Korean and Cambodian names put the family name first ("Li said").
    if len(words[0]) > 1 and not words[0].isupper():
        forms.add(words[0])
    return forms


def extract_people(text: str, doc: Doc) -> list[PersonFound]:
    spans = _person_spans(text, doc)
    people: dict[str, PersonFound] = {}
    taken: list[tuple[int, int]] = []
    for name, start, end in sorted(spans, key=lambda s: (s[1], -(s[2] - s[1]))):
        if any(a <= start < b or a < end <= b for a, b in taken):
            continue
        # A longer name already seen ("Li Qiang" vs a spurious "Qiang Li") is not merged.
        person = people.setdefault(name, PersonFound(name=name))
        person.mentions.append(Mention(text[start:end], start, end, "name"))
        taken.append((start, end))
    # "Mr Al Olama" after "Omar Sultan Al Olama": the tail of a longer name is a short form.
    for name in list(people):
        longer = [n for n in people if n != name and n.endswith(" " + name) and len(n) > len(name)]
        if longer:
            full = people[longer[0]]
            for m in people.pop(name).mentions:
                full.mentions.append(Mention(m.text, m.start, m.end, "short"))
    bylines = {m.group(g) for m in _BYLINE_RE.finditer(text) for g in (1, 2) if m.group(g)}
    # NER calls "ICT Cabinet" an organization; a cabinet or government is a portfolio.
    ner_orgs = frozenset(
        e.text
        for e in doc.ents
        if e.label_ == "ORG"
        and e.text.split()[-1] not in {"Cabinet", "Government", "Council"}
        and not re.fullmatch(r"[A-Z]{2,3}", e.text)  # "ICT Minister": a portfolio
    )
    for person in people.values():
        if person.name in bylines:
            person.role = "author"
            continue
        for mention in person.mentions:
            for finder in (
                lambda m=mention: _title_before(text, m.start, ner_orgs),
                lambda m=mention: _appositive_before(text, m.start),
                lambda m=mention: _appositive_after(text, m.end),
            ):
                role, aff = finder()
                if role and (not person.role or (aff and not person.affiliation)):
                    person.role, person.affiliation = role, aff
            if person.role and person.affiliation:
                break
    # Short references: a family or given name alone, anywhere a full name is not.
    for person in people.values():
        for form in _short_forms(person.name):
            for m in matches(text, form, re.compile(rf"(?<![\w-]){re.escape(form)}(?![\w-])")):
                if any(a <= m.start() < b for a, b in taken):
                    continue
                # "Bletchley Park" is no mention of "Min-ji Park", nor "Li Keqiang" of "Li Qiang".
                if re.search(
                    r"[A-Z][\w-]*[ ]$", text[max(0, m.start() - 30) : m.start()]
                ) or re.match(r"[ ][A-Z]", text[m.end() : m.end() + 2]):
                    continue
                person.mentions.append(Mention(form, m.start(), m.end(), "short"))
        person.mentions.sort(key=lambda m: m.start)
    return list(people.values())


def extract_actors(text: str, doc: Doc) -> tuple[list[PersonFound], list[OrganizationFound]]:
    """People with role and affiliation, and organizations, each with exact mentions."""
    organizations = extract_organizations(text, doc)
    org_names = {o.name for o in organizations} | {
        m.text for o in organizations for m in o.mentions
    }
    people = [p for p in extract_people(text, doc) if p.name not in org_names]
    return people, organizations
