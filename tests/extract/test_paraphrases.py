"""Paraphrased statements: labelled snippets (fixtures/extraction/paraphrases.yaml)."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from governance.extract.actors import extract_actors
from governance.extract.nlp import english
from governance.extract.paraphrases import extract_paraphrases
from governance.extract.quotes import extract_quotes
from governance.extract.types import ParaphraseFound
from tests.extract.devset import FIXTURES

CASES = yaml.safe_load((FIXTURES / "paraphrases.yaml").read_text(encoding="utf-8"))["cases"]


def run(text: str) -> list[ParaphraseFound]:
    doc = english()(text)
    people, organizations = extract_actors(text, doc)
    quotes = extract_quotes(text, doc, people, organizations)
    found = extract_paraphrases(text, doc, people, quotes)
    for paraphrase in found:
        # The span is the evidence: it must be exactly what the record says.
        assert text[paraphrase.start : paraphrase.end] == paraphrase.text
    return found


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_labelled_snippets(case: dict[str, Any]) -> None:
    found = run(case["text"])
    if case.get("none"):
        assert found == [], case["rule"]
        return
    got = {(p.speaker, p.text): p for p in found}
    for expected in case["paraphrases"]:
        key = (expected["speaker"], expected["text"])
        assert key in got, f"{key!r} not in {list(got)}"
        if "verb" in expected:
            assert got[key].verb == expected["verb"]
    assert len(found) == len(case["paraphrases"])
