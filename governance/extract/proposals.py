"""Proposals, commitments and measures ("who proposes/adopts/signs/imposes what") and the
points of the plans they introduce.

Pure functions over the text and its spaCy Doc: no database, no network.

A proposal is a clause whose verb is one of the cue verbs below and whose doer can be
read from the parse:
- active: the subject ("China has proposed...", "The US and UK declined to sign...");
  a verb under "decline/refuse to" or joined by "and" borrows the subject of its head;
- passive: the "by" agent ("a resolution proposed by China", "a declaration backed by
  approximately 60 nations").
Strong cue verbs (propose, sign, adopt, endorse, commit, pledge, impose, ...) are enough by
themselves; common verbs (announce, launch, release, unveil, establish, pass, ...) count
only when what they act on is a governance thing (an organization, body, plan,
declaration, resolution, framework, restriction, ...), so "Huawei announced a new phone"
is not a proposal.
Refusals keep their cue ("declined to sign", "not sign"); tentative ones do not count
("is considering establishing"); a document is never the doer ("The act imposes fines").
Pronoun doers are resolved to the nearest name before them (he/she: a person; it/they:
the previous proposer or organization/country; who/that: the noun the clause describes);
metonyms ("Beijing", "Washington") stay as written, the country step maps them. The
recorded text is the sentence, cut at line breaks, and a dateline ("BRUSSELS (Reuters) -")
is blanked before parsing so that the city is not read as the subject.

Action-plan items: a sentence whose subject is the plan itself ("The plan advocates
open-source collaboration and cross-border exchanges to bridge gaps in regulatory
philosophies and technical standards") gives one item per coordinated object and per
object of its purpose clause, worded as a gerund ("bridging gaps in technical
standards"); a bulleted or numbered list after such a sentence or after a line ending
in ":" gives one item per line; "includes seven principles: a, b and c" splits after the
colon. Items go to the nearest earlier proposal naming the same thing ("plan"), else to
a close one (within a sentence or two) naming any plan-like thing, else (for "It calls
for ...") to the close one; otherwise they are dropped rather than guessed. A plan
sentence whose subject is a title ('The "Statement on Inclusive ... AI" outlines ...')
is also recorded as a proposal of the proposer its items went to: the title is the
evidence of what was proposed.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence

from spacy.tokens import Doc, Span, Token

from governance.extract.nlp import english, lemma_filter
from governance.extract.types import ProposalFound

_STRONG = {
    "propose", "sign", "adopt", "endorse", "commit", "pledge", "ratify", "impose",
    "co-sponsor", "cosponsor", "sponsor", "call", "decline", "refuse",
}  # fmt: skip
_WEAK = {
    "announce", "launch", "release", "unveil", "introduce", "establish", "create", "set",
    "publish", "issue", "back", "approve", "pass", "put", "reject", "enact", "initiate",
    "found", "table", "submit", "agree", "join", "veto", "roll", "present",
}  # fmt: skip
# A document does not propose: "The act imposes fines" restates the act's content.
_DOCUMENTS = {"act", "law", "regulation", "rule", "bill", "order", "report", "document",
              "text", "draft"}  # fmt: skip
# Verbs that need a particle or preposition to be a cue: "call for", "put forward", "set up".
_NEEDS_PARTICLE = {
    "call": {"for"},
    "put": {"forward"},
    "set": {"up", "out"},
    "roll": {"out"},
}
# "decline to sign": the refusal verb heads the cue verb.
_REFUSALS = {"decline", "refuse", "fail"}
# "is considering establishing": a thought about a proposal, not one.
_TENTATIVE = {"consider", "mull", "weigh", "explore", "study"}

_GOVERNANCE_NOUNS = {
    "organization", "organisation", "body", "initiative", "plan", "declaration",
    "resolution", "framework", "agreement", "treaty", "statement", "convention",
    "proposal", "principle", "guideline", "regulation", "law", "act", "rule",
    "restriction", "control", "measure", "standard", "pact", "charter", "code",
    "partnership", "alliance", "network", "fund", "mechanism", "centre", "center",
    "institute", "commission", "roadmap", "strategy", "programme", "program", "accord",
    "commitment", "consensus", "sanction", "ban", "tariff", "policy", "bill",
    "directive", "order", "compact", "protocol", "dialogue", "forum", "panel",
    "council", "agency", "office", "platform", "blueprint", "governance", "moratorium",
    "safeguard", "limit", "export", "cooperation", "action", "vision", "group",
    "process", "coalition", "taskforce", "force", "hub", "lab", "laboratory", "registry",
    "observatory", "consortium", "summit", "watchdog", "regime",
}  # fmt: skip
# What a plan-like subject is called when its points are listed.
_PLAN_NOUNS = {
    "plan", "initiative", "declaration", "resolution", "framework", "statement",
    "document", "roadmap", "strategy", "agreement", "proposal", "charter", "blueprint",
    "programme", "program", "accord", "pact", "treaty", "convention", "principle",
}  # fmt: skip
# Any of them as a word, singular or plural (one search, not one per noun).
_PLAN_NOUN = re.compile(rf"\b({'|'.join(sorted(_PLAN_NOUNS))})s?\b")
_PLAN_NOUN_ANY_CASE = re.compile(_PLAN_NOUN.pattern, re.IGNORECASE)
_ITEM_VERBS = {
    "advocate", "call", "urge", "propose", "include", "outline", "set", "recommend",
    "encourage", "promote", "cover", "list", "prioritize", "prioritise", "envisage",
    "envision",
}  # fmt: skip
# Every lemma a sentence needs to yield a proposal or a plan's items.
_CUES = frozenset(_STRONG | _WEAK | _ITEM_VERBS)
_PROPOSING = frozenset(_STRONG | _WEAK)  # the lemmas of a verb that proposes
_VERB_POS = frozenset({"VERB", "AUX"})

_BULLET = re.compile(r"^[ \t]*(?:[-•*▪●◦–]|\(?\d{1,2}[.)]|\(?[a-z][.)])[ \t]+(?P<item>\S.*)$")


def extract_proposals(text: str, doc: Doc) -> list[ProposalFound]:
    """Proposals in text order, each with the plan items listed with it."""
    proposals: list[ProposalFound] = []
    seen: set[tuple[int, str]] = set()
    for sent in _sentences(text, doc):
        listing = _plan_items(sent, proposals)
        for verb in sent:
            if verb.pos_ not in _VERB_POS or verb.lemma_.lower() not in _PROPOSING:
                continue  # no proposing verb (_verb_phrase's first test, before a call)
            if listing is not None and verb.i == listing[0].i:
                continue  # "The plan calls for ...": its points, not a new proposal
            found = _proposal_at(text, sent.doc, sent, verb, proposals)
            if found is None:
                continue
            key = (found.start, found.proposer.lower())
            if key not in seen:
                seen.add(key)
                proposals.append(found)
        if listing is not None:
            # "China's initiative, unveiled by Xi, calls for ...": the proposal read from
            # the same sentence owns the items.
            verb, items, noun = listing
            target = _attach(proposals, sent.end_char, items, noun)
            titled = _titled_restatement(text, sent, verb, target)
            if titled is not None and (titled.start, titled.proposer.lower()) not in seen:
                seen.add((titled.start, titled.proposer.lower()))
                proposals.append(titled)
    for start, items, noun in _bullet_lists(text):
        _attach(proposals, start, items, noun)
    return proposals


def _titled_restatement(
    text: str, sent: Span, verb: Token, target: ProposalFound | None
) -> ProposalFound | None:
    """'The "Statement on Inclusive and Sustainable AI" outlines commitments ...': a plan
    named by its title, after the sentence saying who backed it ("a declaration backed by
    60 nations"). Recorded as a proposal of the same proposer, since the title is the
    evidence of what was proposed; its items stay with the proposal they were given to."""
    if target is None:
        return None
    start, end = _clause_bounds(text, sent, verb)
    if target.start >= start:
        return None
    subject = next((c for c in verb.children if c.dep_ == "nsubj"), None)
    # A title is capitalized mid-sentence ("The \"Statement on ...\""); "The plan" is not.
    titled = subject is not None and subject.text[:1].isupper() and not subject.is_sent_start
    if not titled:
        return None  # "The plan advocates ...": no title, nothing new
    return ProposalFound(
        proposer=target.proposer, text=text[start:end], start=start, end=end, verb=verb.text
    )


# Where a Doc keeps _sentences(text, doc) made for a batch (read_sentences): (text, them).
_SENTENCES = "governance.proposals.sentences"


def read_sentences(texts: Sequence[str], docs: Sequence[Doc]) -> None:
    """_sentences of each text and its doc, made for a batch of documents at once: the
    lines they parse again go to the pipeline in one call (its fixed cost is ~3 ms, a
    tenth of an article's parse, and was paid by each document that had any). Kept in
    each doc's user_data, where _sentences finds them."""
    parts = [_parts(text, doc) for text, doc in zip(texts, docs, strict=True)]
    lines = [p for doc_parts in parts for p in doc_parts if isinstance(p, Doc)]
    parsed = iter(english().pipe(lines) if lines else [])
    for text, doc, doc_parts in zip(texts, docs, parts, strict=True):
        doc.user_data[_SENTENCES] = (text, _assembled(doc_parts, parsed))


def _sentences(text: str, doc: Doc) -> list[Span]:
    """The doc's sentences; one that runs across a line break (a headline or dateline run
    into the first paragraph) is parsed again line by line. The re-parsed text is padded
    with spaces so its character offsets are the original text's."""
    made = doc.user_data.get(_SENTENCES)
    if made is not None and made[0] == text:
        return made[1]
    parts = _parts(text, doc)
    # A text's lines are parsed together: the same parses, less the fixed cost of a
    # pipeline call for each.
    return _assembled(parts, english().pipe(p for p in parts if isinstance(p, Doc)))


def _parts(text: str, doc: Doc) -> list[Span | Doc]:
    """The doc's sentences, with a line still to parse (a Doc) in place of each one that
    needs parsing again."""
    nlp = english()
    cues = lemma_filter(_CUES)
    parts: list[Span | Doc] = []
    for sent in doc.sents:
        dateline = _DATELINE.match(sent.text)
        if "\n" not in sent.text.strip() and not dateline:
            parts.append(sent)
            continue
        pos = sent.start_char
        for line in text[sent.start_char : sent.end_char].split("\n"):
            if line.strip():
                # "Seoul, May 22, 2024 - Sixteen companies signed ...": blank the dateline,
                # or the parser makes "Seoul" the subject.
                cut = _DATELINE.match(line)
                if cut:
                    line = " " * cut.end() + line[cut.end() :]
                sub = nlp.make_doc(" " * pos + line)
                # A line without a word that can be a cue yields nothing: not parsed.
                if cues is None or cues.may_occur(sub):
                    parts.append(sub)
            pos += len(line) + 1
    return parts


def _assembled(parts: list[Span | Doc], parsed: Iterator[Doc]) -> list[Span]:
    """The sentences of `parts`, a line's taken from its parse, the next of `parsed`."""
    out: list[Span] = []
    for part in parts:
        if isinstance(part, Doc):
            out.extend(s for s in next(parsed).sents if s.text.strip())
        else:
            out.append(part)
    return out


_DATELINE = re.compile(
    # "BRUSSELS (Reuters) - ", "GENEVA - "
    r"^\s*[A-Z][A-Z .'-]{2,30}(?:,\s*[A-Z][A-Za-z .]+)?\s*(?:\([^)]{1,30}\))?\s*[–—-]\s+|"
    # "Seoul, May 22, 2024 - ", "Shanghai, 28 July (Xinhua) - "
    r"^\s*[A-Z][A-Za-z .'-]{1,40},\s+(?:[A-Z][a-z]{2,8}\.?\s+\d{1,2}(?:,\s+\d{4})?|"
    r"\d{1,2}\s+[A-Z][a-z]{2,8}\.?(?:\s+\d{4})?)\s*(?:[–—-]|\(\w+\))\s*|"
    # "Shanghai: China has proposed ...", "New Delhi: "
    r"^\s*[A-Z][a-z]+(?:\s[A-Z][a-z]+)?:\s+(?=[A-Z])"
)


# --- Proposals ----------------------------------------------------------------------------


def _is_boilerplate(line: str) -> bool:
    """ "[Read More: ...]" links and other bracketed navigation are not article text."""
    stripped = line.strip()
    return stripped.startswith("[") or stripped.lower().startswith("read more")


def _verb_phrase(verb: Token) -> str | None:
    """The cue as written ("proposed", "called for", "declined to sign"), or None."""
    lemma = verb.lemma_.lower()
    if verb.pos_ not in _VERB_POS or lemma not in _PROPOSING:
        return None
    if lemma in _REFUSALS:
        return None  # read through the verb they govern: "declined to sign"
    if verb.dep_ == "xcomp" and verb.head.lemma_.lower() in _TENTATIVE:
        return None  # "Beijing is considering establishing ...": not yet a proposal
    words = [verb.text]
    doc = verb.doc
    if verb.i >= 2 and doc[verb.i - 1].text == "-" and doc[verb.i - 2].lower_ == "co":
        words = [f"co-{verb.text}"]  # "co-sponsored", split by the tokenizer
    needed = _NEEDS_PARTICLE.get(lemma)
    if needed is not None:
        particle = next(
            (c for c in verb.children if c.lower_ in needed and c.dep_ in {"prt", "prep"}), None
        )
        if particle is None:
            return None
        objects = [c for c in particle.children if c.dep_ == "pobj"]
        if any(o.ent_type_ in {"DATE", "TIME"} for o in objects):
            return None  # "called on each other for an hour"
        words.append(particle.text)
    if any(c.dep_ == "neg" for c in verb.children):
        words.insert(0, "not")
    head = verb.head
    if verb.dep_ == "xcomp" and head.lemma_.lower() in _REFUSALS:
        return f"{head.text} to {' '.join(words)}"
    return " ".join(words)


def _is_passive(verb: Token) -> bool:
    if any(c.dep_ in {"auxpass", "nsubjpass", "agent"} for c in verb.children):
        return True
    return verb.dep_ in {"acl", "relcl"} and verb.tag_ == "VBN"


def _object_tokens(verb: Token) -> list[Token]:
    """What the verb acts on: its objects (and their subtrees), or for a passive
    verb the thing that was proposed/signed/adopted."""
    out: list[Token] = []
    if _is_passive(verb):
        if verb.dep_ in {"acl", "relcl"}:
            out.append(verb.head)
        out.extend(c for c in verb.children if c.dep_ == "nsubjpass")
    for child in verb.children:
        if child.dep_ in {"dobj", "attr", "oprd", "xcomp", "ccomp", "dative"}:
            out.extend(child.subtree)
        elif child.dep_ in {"prep", "prt"}:
            out.extend(t for t in child.subtree if t.i != child.i)
    return out


def _needs_governance_object(verb: Token) -> bool:
    lemma = verb.lemma_.lower()
    if lemma == "agree":  # "agreed to cooperate" commits; "agree on the urgency" does not
        return not any(c.dep_ == "xcomp" for c in verb.children)
    return lemma in _WEAK


def _mentions_governance(tokens: list[Token]) -> bool:
    for t in tokens:
        lemma = t.lemma_.lower()
        if t.pos_ == "PROPN" and lemma in _GOVERNANCE_NOUNS:
            return True  # part of a name: "Global Partnership on AI", "Hiroshima AI Process"
        if t.pos_ == "NOUN" and lemma in _GOVERNANCE_NOUNS - _ALSO_COMMERCIAL:
            return True
    return False


# Companies announce these all the time ("a partnership with OpenAI", "a new AI lab"):
# they mark governance only as part of a name.
_ALSO_COMMERCIAL = {
    "partnership", "platform", "lab", "laboratory", "hub", "network", "fund", "program",
    "programme", "cooperation", "action", "vision", "export", "group", "process", "forum",
    "alliance", "consortium", "office", "centre", "center", "limit",
}  # fmt: skip


def _doer(verb: Token) -> Token | None:
    """The token naming who does it: subject, "by" agent, or the subject of a head verb."""
    if _is_passive(verb):
        for child in verb.children:
            if child.dep_ == "agent":
                return next((c for c in child.children if c.dep_ == "pobj"), None)
        return None
    node = verb
    for _ in range(4):
        subject = next((c for c in node.children if c.dep_ in {"nsubj", "csubj"}), None)
        if subject is not None and subject.lower_ in {"who", "which", "that"}:
            # "the countries that have backed ...": the noun the clause describes.
            return node.head if node.dep_ == "relcl" else None
        if subject is not None:
            return subject
        # "declined to sign", "met and signed", "Modi said, calling for ...".
        if node.dep_ not in {"xcomp", "conj", "advcl"} or node.head.i == node.i:
            return None
        node = node.head
    return None


_PHRASE_DROP = {"relcl", "acl", "appos", "punct", "prep"}


def _phrase(text: str, token: Token) -> tuple[str, int, int]:
    """The noun phrase of token, without relative clauses, appositions or "including ..."."""
    kept: list[Token] = []

    def walk(t: Token) -> None:
        kept.append(t)
        for child in t.children:
            if child.dep_ in _PHRASE_DROP and not (child.dep_ == "prep" and child.lower_ == "of"):
                continue
            walk(child)

    walk(token)
    # Only the head's own line: a headline parsed into the next sentence is not part of it.
    line_start = text.rfind("\n", 0, token.idx) + 1
    line_end = text.find("\n", token.idx)
    line_end = len(text) if line_end == -1 else line_end
    kept = sorted(
        (t for t in kept if line_start <= t.idx < line_end and not t.is_space), key=lambda t: t.i
    )
    # Contiguous from the first kept token to the last.
    first, last = kept[0], kept[-1]
    while first.i < last.i and (first.is_punct or first.lower_ in {"the", "a", "an"}):
        first = first.doc[first.i + 1]
    while last.i > first.i and last.is_punct:
        last = last.doc[last.i - 1]
    start, end = first.idx, last.idx + len(last)
    # "the UK and the Republic of Korea, co-hosts of the summit": a description after a
    # comma is not part of the name (a list of names after a comma is).
    described = re.search(r",\s+(?!the\b|and\b|or\b)[a-z]", text[start:end])
    if described:
        end = start + described.start()
    return text[start:end], start, end


def _resolve_pronoun(doc: Doc, pronoun: Token, proposals: list[ProposalFound]) -> str | None:
    """He/she: the nearest person named before; it/they: the last proposer, or the
    nearest country or organization named before."""
    word = pronoun.lower_
    before = [e for e in doc.ents if e.end <= pronoun.i]
    if word in {"he", "she"}:
        people = [e for e in before if e.label_ == "PERSON"]
        return people[-1].text if people else None
    if word in {"it", "they"}:
        if proposals:
            return proposals[-1].proposer
        bodies = [e for e in before if e.label_ in {"GPE", "ORG", "NORP"}]
        return bodies[-1].text if bodies else None
    return None  # I/we/you: the speaker of a quote, the quotes step knows them


def _proposal_at(
    text: str, doc: Doc, sent: Span, verb: Token, proposals: list[ProposalFound]
) -> ProposalFound | None:
    phrase = _verb_phrase(verb)
    if phrase is None:
        return None
    if _needs_governance_object(verb) and not _mentions_governance(_object_tokens(verb)):
        return None
    doer = _doer(verb)
    if doer is None:
        return None
    if doer.pos_ == "NOUN" and doer.lemma_.lower() in _PLAN_NOUNS | _DOCUMENTS:
        return None
    if doer.pos_ == "PRON":
        proposer = _resolve_pronoun(doc, doer, proposals)
        if proposer is None:
            return None
    else:
        proposer = _phrase(text, doer)[0]
    if not proposer or proposer.lower() in {"who", "which", "that"}:
        return None
    start, end = _clause_bounds(text, sent, verb)
    if _is_boilerplate(text[start:end]):
        return None
    return ProposalFound(proposer=proposer, text=text[start:end], start=start, end=end, verb=phrase)


def _clause_bounds(text: str, sent: Span, verb: Token) -> tuple[int, int]:
    """The sentence around the verb, cut at line breaks: spaCy runs a headline or a
    dateline into the next paragraph's first sentence."""
    line_start = text.rfind("\n", 0, verb.idx) + 1
    line_end = text.find("\n", verb.idx)
    if line_end == -1:
        line_end = len(text)
    start, end = max(sent.start_char, line_start), min(sent.end_char, line_end)
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


# --- Items --------------------------------------------------------------------------------


def _plan_items(sent: Span, proposals: list[ProposalFound]) -> tuple[Token, list[str], str] | None:
    """(verb, items, plan noun) if the sentence lists what a plan contains, else None."""
    for verb in sent:
        if verb.pos_ != "VERB" or verb.lemma_.lower() not in _ITEM_VERBS:
            continue
        subject = next((c for c in verb.children if c.dep_ == "nsubj"), None)
        if subject is None or not _is_plan_subject(subject, proposals):
            continue
        noun = "" if subject.pos_ == "PRON" else subject.lemma_.lower()
        if sent.text.rstrip().endswith(":"):
            return verb, [], noun  # "The plan calls for:" - its points follow as a list
        # "The framework includes seven principles: transparency, fairness, ...".
        colon = sent.text.find(":", verb.idx - sent.start_char)
        if colon != -1 and sent.text[colon + 1 :].strip():
            tail = sent.text[colon + 1 :].strip().rstrip(".;")
            return verb, [_strip_article(p) for p in _SPLIT.split(tail) if p.strip()], noun
        return verb, _items_of(verb) or _items_from_text(sent, verb), noun
    return None


def _is_plan_subject(subject: Token, proposals: list[ProposalFound]) -> bool:
    if subject.lemma_.lower() in _PLAN_NOUNS and subject.pos_ in {"NOUN", "PROPN"}:
        return True
    # "It calls for ...": only right after a proposal, whose plan "it" is.
    return subject.lower_ == "it" and bool(proposals) and proposals[-1].end <= subject.idx


def _conjuncts(token: Token) -> list[Token]:
    out = [token]
    for child in token.children:
        if child.dep_ == "conj":
            out.extend(_conjuncts(child))
    return out


def _own_words(token: Token, drop: set[str]) -> str:
    """The token's phrase without its conjuncts and the given dependents."""
    kept: list[Token] = []

    def walk(t: Token) -> None:
        kept.append(t)
        for child in t.children:
            if child.dep_ in {"conj", "cc", "punct"} | drop:
                continue
            walk(child)

    walk(token)
    kept.sort(key=lambda t: t.i)
    while kept and kept[0].lower_ in {"the", "a", "an"}:
        kept.pop(0)
    if not kept:
        return ""
    doc = token.doc
    return doc[kept[0].i : kept[-1].i + 1].text


def _gerund(verb: Token) -> str:
    lemma = verb.lemma_.lower()
    if lemma.endswith("ie"):
        return lemma[:-2] + "ying"
    if lemma.endswith("e") and not lemma.endswith(("ee", "ye", "oe")):
        return lemma[:-1] + "ing"
    return lemma + "ing"


def _items_of(verb: Token) -> list[str]:
    """Coordinated objects of the verb, then what its purpose clause would achieve."""
    items: list[str] = []
    objects = [c for c in verb.children if c.dep_ in {"dobj", "attr"}]
    for prep in (c for c in verb.children if c.dep_ == "prep" and c.lower_ in {"for", "to"}):
        objects.extend(c for c in prep.children if c.dep_ == "pobj")
    for obj in objects:
        for conj in _conjuncts(obj):
            words = _own_words(conj, drop={"relcl"})
            if words:
                items.append(words)
    purposes = [
        c
        for c in verb.children
        if c.dep_ in {"xcomp", "advcl"} and any(a.lower_ == "to" for a in c.children)
    ]
    for purpose in purposes:
        for action in _conjuncts(purpose):
            items.extend(_purpose_items(action))
    return [i for i in items if i]


_SPLIT = re.compile(r"\s*[,;]\s*(?:and\s+|or\s+)?|\s+(?:and|or)\s+")
_PURPOSE = re.compile(r"\s+to\s+(?P<verb>[a-z]+)\s+(?P<rest>.+)$")
_PREP = re.compile(r"^(?P<base>.+?\s(?:in|on|of|for|between|across|among)\s)(?P<objects>.+)$")


def _items_from_text(sent: Span, verb: Token) -> list[str]:
    """When the parse of a list goes wrong ("capacity building and data sharing" read as
    a clause), split the words after the verb at commas and "and" instead."""
    after = verb.doc[verb.i + 1 : sent.end]
    if after and after[0].lower_ in {"for", "out"}:
        after = after[1:]
    words = after.text.strip().rstrip(".:;").strip()
    if not words:
        return []
    purpose = _PURPOSE.search(words)
    objects = words[: purpose.start()] if purpose else words
    items = [_strip_article(p) for p in _SPLIT.split(objects) if p.strip()]
    if purpose:
        lemma = purpose.group("verb")
        gerund = (lemma[:-1] if lemma.endswith("e") and not lemma.endswith("ee") else lemma) + "ing"
        rest = purpose.group("rest")
        m = _PREP.match(rest)
        if m:
            items += [
                f"{gerund} {m.group('base')}{o}" for o in _SPLIT.split(m.group("objects")) if o
            ]
        else:
            items.append(f"{gerund} {rest}")
    return [i for i in items if i]


def _strip_article(words: str) -> str:
    words = words.strip()
    for article in ("the ", "a ", "an "):
        if words.lower().startswith(article):
            return words[len(article) :]
    return words


def _purpose_items(action: Token) -> list[str]:
    """ "to bridge gaps in X and Y" -> ["bridging gaps in X", "bridging gaps in Y"]."""
    head = _gerund(action)
    obj = next((c for c in action.children if c.dep_ == "dobj"), None)
    prep = next((c for c in action.children if c.dep_ == "prep"), None)
    if obj is not None and prep is None:
        prep = next((c for c in obj.children if c.dep_ == "prep"), None)
    base = head if obj is None else f"{head} {_own_words(obj, drop={'prep', 'relcl', 'acl'})}"
    pobj = next((c for c in prep.children if c.dep_ == "pobj"), None) if prep else None
    if pobj is None:
        # "to help countries strengthen AI capacity": the whole clause, as a gerund.
        rest = [t for t in action.subtree if t.i > action.i]
        tail = action.doc[rest[0].i : rest[-1].i + 1].text if rest else ""
        return [f"{head} {tail}".strip().rstrip(",;.")]
    return [f"{base} {prep.text} {_own_words(c, drop={'relcl', 'acl'})}" for c in _conjuncts(pobj)]


def _bullet_lists(text: str) -> list[tuple[int, list[str], str]]:
    """Blocks of bulleted/numbered lines introduced by a line ending in ":" or naming a
    plan: (where the block starts, its items, the plan noun the intro names or "")."""
    blocks: list[tuple[int, list[str], str]] = []
    offset = 0
    intro: str | None = None  # the plan noun of the line before, "" if only a colon
    current: list[str] = []
    current_start = 0
    for line in text.splitlines(keepends=True):
        m = _BULLET.match(line.rstrip("\r\n"))
        if m and intro is not None:
            if not current:
                current_start = offset
            current.append(m.group("item").strip().rstrip(";,.").removesuffix(" and").strip())
        elif line.strip():
            if current:
                blocks.append((current_start, current, intro or ""))
                current = []
            stripped = line.strip().lower()
            # The first plan noun the line names ("The plan and its declaration:" -> plan).
            noun = _PLAN_NOUN.search(stripped)
            intro = noun.group(1) if noun else ("" if stripped.endswith(":") else None)
        offset += len(line)
    if current:
        blocks.append((current_start, current, intro or ""))
    return blocks


def _attach(
    proposals: list[ProposalFound], start: int, items: list[str], noun: str = ""
) -> ProposalFound | None:
    """Give items to the proposal they belong to: the nearest earlier one naming the same
    kind of thing ("plan"), else a close one (a sentence or two before) naming any plan,
    declaration, strategy..., else, for "It calls for" or a bare list, the close one;
    otherwise nobody: items of an unknown plan are not guessed."""
    earlier = [p for p in proposals if p.start < start]
    if not earlier:
        return None
    named = [p for p in earlier if noun and _names(p.text, noun)]
    near = [p for p in earlier if start - p.end <= _NEAR]
    near_plans = [p for p in near if _PLAN_NOUN_ANY_CASE.search(p.text)]
    if named:
        target = named[-1]
    elif near_plans:  # "released a continental AI strategy. The plan advocates ..."
        target = near_plans[-1]
    elif near and not noun:  # "It calls for ...", a list after a colon
        target = near[-1]
    else:
        return None
    for item in items:
        if item not in target.items:
            target.items.append(item)
    return target


def _names(text: str, noun: str) -> bool:
    return re.search(rf"\b{noun}s?\b", text, re.IGNORECASE) is not None


# How far (characters) items may be from a proposal that does not name their plan.
_NEAR = 400
