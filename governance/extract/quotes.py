# Curly quotation marks are this module's subject, not typos.
# ruff: noqa: RUF002
"""Direct and partial quotations with their speaker resolved to a full name.

quote_marks.py pairs the marks; here each quoted span is kept or dropped and
attributed, trying in order:
1. a cue after the closing mark in the same sentence (“…,” Li said / said Li);
2. a cue before the opening mark (Sunak said: “…” / warning, “…”), or at the
   end of the previous paragraph (She also said: / he stated,);
3. an open-quote continuation: a paragraph reopening a quote the previous
   paragraph left open takes that quote's speaker; a paragraph that is
   wholly a quote right after an attributed quote paragraph takes its speaker;
4. for a quote inside a sentence, the nearest actor-like grammatical subject
   up the dependency tree (Vance warned against “excessive regulation”).
Speakers are people (full names from PersonFound, pronouns resolved to the
most recent person, "she" preferring a known woman), documents ("the
declaration" or its name when the text gives it) or bodies. A span with no
speaker is dropped: a quote nobody said cannot become a Statement.
Capitalised title-like spans (“Action Plan for Global AI Governance”) are
names, not speech; one- or two-word scare quotes need a person speaker.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from dataclasses import dataclass, field

from spacy.tokens import Doc, Token

from governance.extract.quote_marks import Quoted, find_quoted, is_title, paragraphs, word_count
from governance.extract.types import OrganizationFound, PersonFound, QuoteFound

SPEECH_VERBS = (
    "said|says|say|saying|told|tells|added|adding|stated|states|noted|notes|stressed|"
    "stressing|emphasi[sz]ed|emphasi[sz]ing|warned|warning|warns|argued|arguing|argues|"
    "explained|remarked|declared|announced|urged|urging|insisted|wrote|writes|asked|"
    "replied|continued|commented|observed|highlighted|underlined|underscored|"
    "acknowledged|acknowledges|described|describes|called|calls|posted|tweeted|"
    "concluded|cautioned|reiterated|pointed out|predicted|recalled|affirmed|"
    "[Aa]ccording to|reads|read|declares|proclaimed|promised|vowed|pledged"
)
# Verbs whose object is the listener, never the speaker.
OBJECT_VERBS = {"told", "tells", "asked", "urged", "warned", "called", "described", "urging"}
SPEECH_LEMMAS = {
    "say", "tell", "add", "state", "note", "stress", "emphasize", "emphasise", "warn", "argue",
    "explain", "declare", "announce", "urge", "insist", "call", "describe", "highlight",
    "acknowledge", "caution", "predict", "promise", "vow", "pledge", "criticise", "criticize",
    "complain", "accuse", "welcome", "praise", "reject", "demand",
}  # fmt: skip
_VERB_RE = re.compile(rf"\b(?:{SPEECH_VERBS})\b")
_PRONOUN_RE = re.compile(r"\b(?:he|she|He|She)\b")
DOC_NOUNS = (
    "declaration|statement|resolution|communiqu[eé]|plan|report|document|agreement|"
    "treaty|charter|framework|guidelines|letter|text|convention|principles|pact"
)
_DOC_RE = re.compile(
    # Up to three describing words, none a verb or preposition ("the G7 said in a statement"
    # is the G7 speaking, not a statement).
    rf"\b(?:[Tt]he|[Tt]his|[Ii]ts)\s+((?:(?!(?:said|says|in|on|a|an|of|to|at)\b)[\w'’-]+\s+){{0,3}}?)"
    rf"((?i:{DOC_NOUNS}))\b"
)
_ROLE_RE = re.compile(
    r"\b[Tt]he ((?:prime |foreign |vice |deputy )?(?:minister|president|premier|pope|king|queen|"
    r"secretary-general|secretary|chancellor|ambassador|envoy|commissioner|senator|"
    r"chief executive|ceo|spokesperson|spokesman|spokeswoman|chair|chairman|governor))\b"
)
BODY_NOUNS = {"government", "ministry", "administration", "assembly", "council", "commission"}
FEMALE_NAMES = {
    "anne", "michelle", "ursula", "kamala", "margrethe", "gina", "theresa", "liz", "angela",
    "giorgia", "hillary", "mary", "sarah", "jacinda", "amina", "doreen", "audrey", "fei-fei",
    "mira", "daniela", "lina", "kristalina", "christine", "helen", "jane", "lucy", "emma",
    "catherine", "maria", "marie", "elizabeth", "nicola", "rachel", "priti", "kemi", "yvette",
    "penny", "chloe", "vera", "henna", "hua", "danielle", "rebecca", "laura", "julia",
    "mélanie", "melanie", "kristi", "nancy", "elisabeth", "ségolène", "clara",
    "barbara", "karen", "susan", "patricia", "linda", "margaret", "carme", "lucilla", "paula",
    "josephine", "amani", "nnenna", "christina", "marija", "francesca", "luciana", "anna",
    "sophie", "isabelle", "claudia", "dina", "meredith", "joanna", "lisa",
}  # fmt: skip


@dataclass(frozen=True)
class Actor:
    """A place in the text where a possible speaker is named."""

    start: int
    end: int
    speaker: str  # resolved full name or document/body name; "" for an unresolved pronoun
    person: bool


@dataclass
class Attribution:
    speaker: str
    cue_start: int
    cue_end: int
    person: bool


class Speakers:
    """Person mentions in reading order, for name look-up and pronoun resolution."""

    def __init__(self, text: str, people: list[PersonFound]) -> None:
        self.text = text
        # Authors (bylines) write the article; they are not quoted in it.
        self.mentions = sorted(
            (
                (m.start, m.end, p)
                for p in people
                if p.role != "author"
                for m in p.mentions
                if m.type != "pronoun"
            ),
            key=lambda x: x[0],
        )
        self.female = {p.name for p in people if _is_female(text, p)}

    def at(self, start: int, end: int) -> str:
        for m_start, m_end, person in self.mentions:
            if m_start < end and start < m_end:
                return person.name
        return ""

    def by_title(self, pos: int, title: str) -> str:
        title = title.lower()
        for s, _, person in reversed(self.mentions):
            if s < pos and (
                person.role.lower().endswith(title) or person.name.lower().startswith(title)
            ):
                return person.name
        return ""

    def before(self, pos: int, pronoun: str) -> str:
        """The most recent person before pos; "she" prefers a known woman, "he" a man."""
        earlier = [p for s, _, p in self.mentions if s < pos]
        if not earlier:
            return ""
        want_female = pronoun.lower() == "she"
        for person in reversed(earlier):
            if (person.name in self.female) == want_female:
                return person.name
        return earlier[-1].name


def _is_female(text: str, person: PersonFound) -> bool:
    if person.name.split()[0].lower() in FEMALE_NAMES:
        return True
    return any(re.search(r"\b(?:Ms|Mrs|Madam)\.?\s+$", text[: m.start]) for m in person.mentions)


def _actors_in(text: str, start: int, end: int, speakers: Speakers, orgs: list[OrganizationFound]):
    """Possible speakers named between start and end, in order."""
    found: list[Actor] = []
    for m_start, m_end, person in speakers.mentions:
        if start <= m_start and m_end <= end:
            spokes = re.search(
                r"\b(?:[Aa]|[Tt]he)\s+(spokes(?:person|man|woman)\s+for)\s+(?:[\w.-]+\s+){0,3}$",
                text[max(start, m_start - 60) : m_start],
            )
            if spokes:
                # "A spokesperson for Prime Minister Keir Starmer" speaks for him, not as him.
                found.append(Actor(m_start, m_end, f"spokesperson for {person.name}", True))
            else:
                found.append(Actor(m_start, m_end, person.name, True))
    for m in _PRONOUN_RE.finditer(text, start, end):
        if any(s <= m.start() < e for s, e, _ in speakers.mentions):
            continue  # "He Yadong" is a name, not a pronoun
        found.append(Actor(m.start(), m.end(), speakers.before(m.start(), m.group()), True))
    for m in _ROLE_RE.finditer(text, start, end):
        # "the pope said", "the minister added": the latest person holding that title.
        if person := speakers.by_title(m.start(), m.group(1)):
            found.append(Actor(m.start(), m.end(), person, True))
    for m in _DOC_RE.finditer(text, start, end):
        words = (m.group(1) + m.group(2)).split()
        if all(w[0].isupper() for w in words) and len(words) > 1:
            name = " ".join(words)  # "The Bletchley Declaration" names itself
        else:
            name = _document_name(text, m.start(), m.group(2).lower())
        found.append(Actor(m.start(), m.end(), name, False))
    for org in orgs:
        for mention in org.mentions:
            if start <= mention.start and mention.end <= end:
                found.append(Actor(mention.start, mention.end, org.name, False))
    return sorted(found, key=lambda a: a.start)


def _document_name(text: str, pos: int, noun: str) -> str:
    """ "the declaration" -> the last named one before it ("Bletchley Declaration")."""
    if noun.capitalize() not in text[:pos]:
        return f"the {noun}"  # the search below would find nothing, slowly
    names = re.findall(rf"\b((?:[A-Z][\w-]+\s+){{1,4}}{noun.capitalize()})\b", text[:pos])
    if names:
        return re.sub(r"^(?:The|This)\s+", "", names[-1])
    return f"the {noun}"


def _sentence_end(text: str, start: int, limit: int) -> int:
    m = re.compile(r"(?<![A-Z])[.!?;](?=\s|$)|\n").search(text, start, limit)
    return m.start() if m else limit


def _cue_after(text: str, q: Quoted, p_end: int, speakers: Speakers, orgs) -> Attribution | None:
    if q.close is None:
        return None
    pos = q.close + 1
    m = re.match(r"[\s,.!?—–-]*", text[pos:p_end])
    if m and "." in m.group():
        # “…”. She also said: — a full stop after the mark starts a new sentence.
        return None
    pos += m.end() if m else 0
    clause_end = _sentence_end(text, pos, min(p_end, pos + 140))
    verb = _VERB_RE.search(text, pos, clause_end)
    # Room for a title before the name: “…,” Dutch Digital Minister Alexandra van Huffelen said.
    if not verb or verb.start() - pos > 90:
        return None
    near = [a for a in _actors_in(text, pos, clause_end, speakers, orgs) if a.start - pos <= 60]
    if verb.group() in OBJECT_VERBS:
        # “…,” Guterres told the Security Council: after "told", the listener.
        near = [a for a in near if a.start < verb.start()]
    # A person beats the body in their title: “…,” said Council of Europe Secretary
    # General Marija Pejčinović Burić.
    near = [a for a in near if a.speaker and a.person] or [a for a in near if a.speaker]
    if not near:
        return None
    actor = near[0]
    return Attribution(
        actor.speaker, min(actor.start, verb.start()), max(actor.end, verb.end()), actor.person
    )


def _cue_before(
    text: str, start: int, end: int, speakers: Speakers, orgs, need_cue_end: bool
) -> Attribution | None:
    """A speech verb and its speaker in the last sentence of text[start:end]."""
    # Only the last CUE_WINDOW characters: the cue's sentence ends at the quote, and
    # rescanning a whole paragraph for each of its quotes was quadratic.
    start = max(start, end - CUE_WINDOW)
    before = text[start:end].rstrip()
    if need_cue_end and not (
        before.endswith((":", ",")) or re.search(rf"\b(?:{SPEECH_VERBS})(?:\s+that)?$", before)
    ):
        return None
    bounds = [m.end() for m in re.finditer(r"(?<![A-Z])[.!?](?=\s)", before)]
    s_start = start + (bounds[-1] if bounds else 0)
    verbs = list(_VERB_RE.finditer(text, s_start, start + len(before)))
    if not verbs:
        return None
    verb = verbs[-1]
    if verb.group().lower() == "according to":
        # "According to Plonk, countries wanted “a common vocabulary”": the source follows.
        after = [
            a for a in _actors_in(text, verb.end(), end, speakers, orgs) if a.speaker and a.person
        ]
        if after and after[0].start - verb.end() < 40:
            return Attribution(after[0].speaker, verb.start(), after[0].end, True)
    actors = [a for a in _actors_in(text, s_start, verb.start(), speakers, orgs) if a.speaker]
    # The last person before the verb is its subject ("Speaking to the FT, ..., Michelle
    # Donelan, described"); failing a person, the first document or body named.
    people = [a for a in actors if a.person]
    chosen = people[-1] if people else (actors[0] if actors else None)
    if chosen is None:
        return None
    return Attribution(chosen.speaker, chosen.start, verb.end(), chosen.person)


# Characters before a quote searched for its cue ("Li said:"): longer than any sentence.
CUE_WINDOW = 1000
# A subject this many tokens or more before the quote is in another clause (news
# sentences are far shorter); the bound also keeps text without sentence breaks linear.
SUBJECT_WINDOW = 120


@dataclass
class _Subjects:
    """The nominal-subject children of each token, computed once per document: a quote
    mark-heavy text with no sentence breaks gives one root with thousands of children,
    and scanning them again for every quote was quadratic."""

    by_head: dict[int, tuple[list[int], list[Token]]] = field(default_factory=dict)

    def before(self, token: Token, end: int) -> list[Token]:
        """Subjects of `token` in [end - SUBJECT_WINDOW, end), in order."""
        if token.i not in self.by_head:
            subjects = [c for c in token.children if c.dep_ in ("nsubj", "nsubjpass")]
            self.by_head[token.i] = ([c.i for c in subjects], subjects)
        positions, subjects = self.by_head[token.i]
        return subjects[bisect_left(positions, end - SUBJECT_WINDOW) : bisect_left(positions, end)]


def _subject(
    doc: Doc, q: Quoted, text: str, speakers: Speakers, orgs, subjects: _Subjects
) -> Attribution | None:
    """The speaker among the nominal subjects up the dependency tree from the quote.

    A person anywhere up the chain wins ("Sullivan said the government would use “a
    small yard”"); then a document or body actor; then a body noun ("the government");
    last, a proper-noun subject of a speech verb ("CCIA Europe warned that ...")."""
    span = doc.char_span(q.start, q.end, alignment_mode="expand")
    if span is None:
        return None
    ranked: list[tuple[int, int, Attribution]] = []
    token = span.root
    for depth in range(12):
        for child in subjects.before(token, span.start):
            last = child.i
            if child.lemma_.lower() in {"spokesperson", "spokesman", "spokeswoman"}:
                last = child.right_edge.i  # "A spokesman for Prime Minister Keir Starmer"
            sub = doc[child.left_edge.i : last + 1]
            actors = [
                a
                for a in _actors_in(text, sub.start_char, sub.end_char, speakers, orgs)
                if a.speaker
            ]
            # The cue runs from the subject to its verb, or from the verb to a subject
            # written after it ("said Premier Li Qiang").
            verb_start, verb_end = token.idx, token.idx + len(token)
            if actors:
                a = actors[-1]
                cue = (min(a.start, verb_start), max(a.end, verb_end))
                ranked.append((0 if a.person else 1, depth, Attribution(a.speaker, *cue, a.person)))
            elif child.lemma_.lower() in BODY_NOUNS:
                name = re.sub(r"^(?:[Tt]he)\s+", "", sub.text)
                ranked.append((2, depth, Attribution(name, sub.start_char, sub.end_char, False)))
            elif child.pos_ == "PROPN" and token.lemma_.lower() in SPEECH_LEMMAS:
                name = re.sub(r"^(?:[Tt]he)\s+", "", sub.text)
                cue = (min(sub.start_char, verb_start), max(sub.end_char, verb_end))
                ranked.append((3, depth, Attribution(name, *cue, False)))
        if token.head is token:
            break
        token = token.head
    return min(ranked, key=lambda r: r[:2])[2] if ranked else None


def _is_partial(text: str, q: Quoted, p_start: int) -> bool:
    """Inside a sentence (a word right before the mark) or a short phrase: partial."""
    words = text[q.start : q.end]
    if q.single:
        return True
    # A short quote is a phrase unless it is a whole sentence (“That has to change.”).
    if word_count(words) < 5 and not (words[:1].isupper() and words.endswith((".", "!", "?"))):
        return True
    before = text[p_start : q.open].rstrip()
    return bool(before) and before[-1].isalnum()


def extract_quotes(
    text: str,
    doc: Doc,
    people: list[PersonFound],
    organizations: list[OrganizationFound],
) -> list[QuoteFound]:
    """Quotations with speakers, one per paragraph of a multi-paragraph quote."""
    speakers = Speakers(text, people)
    subjects = _Subjects()
    paras = paragraphs(text)
    found: list[tuple[Quoted, bool, Attribution | None]] = []
    last_by_paragraph: dict[int, Attribution] = {}
    for q in find_quoted(text):
        words = text[q.start : q.end]
        p_start, p_end = paras[q.paragraph]
        partial = _is_partial(text, q, p_start)
        attribution = _cue_after(text, q, p_end, speakers, organizations)
        if attribution is None and partial:
            # Inside a sentence the grammatical subject is the surest speaker.
            attribution = _subject(doc, q, text, speakers, organizations, subjects)
        if attribution is None:
            attribution = _cue_before(text, p_start, q.open, speakers, organizations, not partial)
        if attribution is None and text[p_start : q.open].strip() == "" and q.paragraph > 0:
            prev = q.paragraph - 1
            if q.continues or (_whole_paragraph(text, q, p_end) and prev in last_by_paragraph):
                attribution = last_by_paragraph.get(prev)
            else:
                pp_start, pp_end = paras[prev]
                attribution = _cue_before(text, pp_start, pp_end, speakers, organizations, True)
        if attribution is None and not partial and q.paragraph in last_by_paragraph:
            # “…,” Yoon told the session. “Now we must act together.” — the same speaker.
            attribution = last_by_paragraph[q.paragraph]
        if attribution is None and partial:
            attribution = _subject(doc, q, text, speakers, organizations, subjects)
        if _naming(text, p_start, q) or (is_title(words) and not _cue_after_only(text, q, p_end)):
            continue
        found.append((q, partial, attribution))
        if not partial and attribution is not None:
            last_by_paragraph[q.paragraph] = attribution
    _share_along_chains(found)
    quotes: list[QuoteFound] = []
    for q, partial, attribution in found:
        if attribution is None or not attribution.speaker:
            continue
        if word_count(text[q.start : q.end]) <= 2 and not attribution.person:
            continue
        quotes.append(
            QuoteFound(
                speaker=attribution.speaker,
                text=text[q.start : q.end],
                start=q.start,
                end=q.end,
                kind="partial" if partial else "direct",
                cue_start=attribution.cue_start,
                cue_end=attribution.cue_end,
            )
        )
    return quotes


def _share_along_chains(found: list[tuple[Quoted, bool, Attribution | None]]) -> None:
    """A quote over several paragraphs often names its speaker only at the end
    (“…,” von der Leyen said.): every paragraph of the chain takes that speaker."""
    chains: list[list[int]] = []
    for i, (q, _, _) in enumerate(found):
        if q.continues and chains and found[chains[-1][-1]][0].close is None:
            chains[-1].append(i)
        else:
            chains.append([i])
    for chain in chains:
        known = [found[i][2] for i in chain if found[i][2] is not None]
        if not known:
            continue
        for i in chain:
            if found[i][2] is None:
                found[i] = (found[i][0], found[i][1], known[0])


def _whole_paragraph(text: str, q: Quoted, p_end: int) -> bool:
    after = text[(q.close + 1) if q.close is not None else q.end : p_end]
    return not after.strip(' .,!?"”’')


_NAMING_RE = re.compile(
    r"\b(?:called|dubbed|known as|so-called|nicknamed|named|titled|entitled|themed|theme)"
    r"(?:\s+(?:the|a|an|as))?[\s,:—–-]*$",
    re.IGNORECASE,
)


def _naming(text: str, p_start: int, q: Quoted) -> bool:
    """ "often called the ‘Godfather of AI’": a name or nickname, not speech."""
    return bool(_NAMING_RE.search(text[max(p_start, q.open - 40) : q.open]))


def _cue_after_only(text: str, q: Quoted, p_end: int) -> bool:
    """A title-like span counts as speech only when a speech cue follows it at once."""
    if q.close is None:
        return False
    return bool(
        re.match(rf"[\s,.!?]*(?:\w+\s+){{0,3}}(?:{SPEECH_VERBS})\b", text[q.close + 1 : p_end])
    )
