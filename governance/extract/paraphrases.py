"""Reported speech without quote marks, attributed to a known person.

"Ma Zhaoxu said Beijing is considering ..." is a statement as much as a quote is,
but quotes.py only reads spans between quote marks. Here a sentence counts when
the grammatical subject of a speech or stance verb is a person extractors already
found (full name, short name or a pronoun resolved to the last person named),
and what the verb reports is not a quotation already captured:
- a verb with a clause ("said [that] X", "told reporters X"): the text is X;
- a stance verb with an object ("emphasized the need for X, warning against Y"):
  there is no clause to cut out, so the text runs from the verb to the sentence end.
Sentences that merely attribute a quotation ("…,” Li said.") are skipped: the
quote is the statement. Pure functions, no database.
"""

from __future__ import annotations

from spacy.tokens import Doc, Span, Token

from governance.extract.types import ParaphraseFound, PersonFound, QuoteFound

# Verbs that report what someone said, whatever follows them.
SPEECH_LEMMAS = {
    "say", "tell", "add", "state", "announce", "explain", "claim", "note", "argue",
    "insist", "stress", "emphasize", "emphasise", "warn", "urge", "call", "reiterate",
    "caution", "highlight", "underline", "underscore", "point", "acknowledge", "suggest",
}  # fmt: skip
# These only report when they carry a clause: "announced the proposal" is an act,
# "said in Geneva" is not content.
CLAUSE_ONLY = {"say", "tell", "add", "state", "announce", "explain", "claim", "suggest"}
# Particles a verb needs before it is a stance: "called for", "pointed out".
NEEDS_PARTICLE = {"call": {"for"}, "point": {"out"}}
PRONOUNS = {"he", "she"}
QUOTE_MARKS = "“”\"‘’'«»"
# Fewer words than this is not content ("he said so").
MIN_WORDS = 3


def extract_paraphrases(
    text: str, doc: Doc, people: list[PersonFound], quotes: list[QuoteFound]
) -> list[ParaphraseFound]:
    mentions = sorted(
        (
            (m.start, m.end, p.name)
            for p in people
            if p.role != "author"  # bylines write the article, they do not speak in it
            for m in p.mentions
            if m.type != "pronoun"
        ),
        key=lambda m: m[0],
    )
    found: list[ParaphraseFound] = []
    for sent in doc.sents:
        covered_until = -1
        for token in sent:
            if token.idx < covered_until or not _is_speech_verb(token):
                continue
            if _in_quote_or_cue(token.idx, quotes):
                continue  # "…,” Li said.": the quote is the statement
            speaker = _speaker(token, mentions)
            if not speaker:
                continue
            span = _content(text, sent, token)
            if span is None:
                continue
            start, end = span
            if _mostly_quoted(start, end, quotes) or text[start] in QUOTE_MARKS:
                continue  # "said in a statement: “…”" is a quote, already captured
            if len(text[start:end].split()) < MIN_WORDS:
                continue
            found.append(ParaphraseFound(speaker, text[start:end], start, end, _verb(token)))
            covered_until = end  # "emphasized …, warning …" is one statement
    return found


def _is_speech_verb(token: Token) -> bool:
    if token.pos_ not in {"VERB", "AUX"} or token.lemma_.lower() not in SPEECH_LEMMAS:
        return False
    # A gerund or participle ("warning against …") continues a statement; its
    # subject is the main verb's, so it is read only with that verb.
    participle = token.dep_ in {"advcl", "acl", "xcomp", "amod", "pcomp"} or token.tag_ in {
        "VBG",
        "VBN",
    }
    if participle and not any(c.dep_ == "nsubj" for c in token.children):
        return False
    if particles := NEEDS_PARTICLE.get(token.lemma_.lower()):
        return any(c.lower_ in particles for c in token.children)
    return True


def _verb(token: Token) -> str:
    particle = next(
        (c for c in token.children if c.lower_ in NEEDS_PARTICLE.get(token.lemma_.lower(), ())),
        None,
    )
    return f"{token.text} {particle.text}" if particle is not None else token.text


def _speaker(verb: Token, mentions: list[tuple[int, int, str]]) -> str:
    """The full name of the person who is the verb's subject, or ""."""
    subject = next((c for c in verb.children if c.dep_ == "nsubj"), None)
    if subject is None:
        return ""
    if subject.lower_ in PRONOUNS:
        # The last person named before the pronoun: news prose refers back, not forward.
        earlier = [name for start, _, name in mentions if start < subject.idx]
        return earlier[-1] if earlier else ""
    # The head of the subject must be inside a person's mention: in "China's Vice
    # Foreign Minister Ma Zhaoxu" the head is "Zhaoxu"; in "The ministry said" no
    # person is the subject even if one is named nearby.
    head_start, head_end = subject.idx, subject.idx + len(subject.text)
    for start, end, name in mentions:
        if start < head_end and head_start < end:
            return name
    return ""


def _content(text: str, sent: Span, verb: Token) -> tuple[int, int] | None:
    """Where the reported content is written: the verb's clause, or verb to sentence end."""
    clause = next((c for c in verb.children if c.dep_ == "ccomp"), None)
    if clause is not None and clause.i > verb.i:
        tokens = [t for t in clause.subtree if t.dep_ != "mark" or t.head != clause]
        # "said that X": the complementiser is not part of what was said.
        tokens = [t for t in tokens if not (t.i < clause.i and t.lower_ == "that")]
        if not tokens:
            return None
        start, end = tokens[0].idx, tokens[-1].idx + len(tokens[-1].text)
    elif verb.lemma_.lower() in CLAUSE_ONLY:
        return None
    else:
        start, end = verb.idx, sent.end_char
    return _trim(text, start, end)


def _trim(text: str, start: int, end: int) -> tuple[int, int] | None:
    while end > start and (text[end - 1].isspace() or text[end - 1] in ".,;:"):
        end -= 1
    while start < end and text[start].isspace():
        start += 1
    return (start, end) if end > start else None


def _in_quote_or_cue(pos: int, quotes: list[QuoteFound]) -> bool:
    for q in quotes:
        if q.start <= pos < q.end:
            return True
        if q.cue_start is not None and q.cue_end is not None and q.cue_start <= pos < q.cue_end:
            return True
    return False


def _mostly_quoted(start: int, end: int, quotes: list[QuoteFound]) -> bool:
    """More than half the content is a captured quote: a quote's cue, not a paraphrase."""
    quoted = sum(max(0, min(end, q.end) - max(start, q.start)) for q in quotes)
    return quoted * 2 > end - start
