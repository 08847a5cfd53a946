"""`manage.py extract FILE --json` prints the issue's shape and never touches the database."""

from __future__ import annotations

import json
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command

SEED = Path(__file__).resolve().parents[2] / "governance/fixtures/seed/waic-2025-article.txt"


def run(*args: str) -> str:
    out = StringIO()
    call_command("extract", *args, stdout=out)
    return out.getvalue()


@pytest.mark.django_db(databases=[])  # any query would fail the test
def test_json_shape_and_the_seed_facts() -> None:
    data = json.loads(run(str(SEED), "--json", "--published", "2025-07-26"))
    assert list(data) == [
        "countries",
        "people",
        "organizations",
        "quotes",
        "proposals",
        "figures",
        "dates",
    ]
    assert {c["code"] for c in data["countries"]} == {
        "CN",
        "US",
        "RU",
        "DE",
        "KR",
        "ZA",
        "QA",
        "FR",
    }
    for country in data["countries"]:
        assert set(country) == {"code", "mentions"}
        for m in country["mentions"]:
            assert set(m) == {"text", "start", "end", "type"}
    text = SEED.read_text(encoding="utf-8")
    quote = next(q for q in data["quotes"] if q["kind"] == "direct")
    assert quote["speaker"] == "Li Qiang"
    assert text[quote["start"] : quote["end"]] == quote["text"]
    assert quote["text"].startswith("AI should be a common good for all of humanity")
    assert set(data["people"][0]) == {"name", "role", "affiliation", "mentions"}
    assert set(data["organizations"][0]) == {"name", "kind", "mentions"}
    assert set(data["proposals"][0]) == {"proposer", "text", "start", "end"}
    assert set(data["figures"][0]) == {"value", "qualifier", "unit", "start", "end"}
    assert {"text": "Saturday", "date": "2025-07-26"}.items() <= next(
        d for d in data["dates"] if d["text"] == "Saturday"
    ).items()


@pytest.mark.django_db(databases=[])
def test_plain_output_names_speaker_and_countries() -> None:
    output = run(str(SEED))
    assert "Li Qiang [direct]: “AI should be a common good" in output
    assert "Countries (8):" in output


@pytest.mark.django_db(databases=[])
def test_non_english_and_unreadable_files(tmp_path: Path) -> None:
    french = tmp_path / "fr.txt"
    french.write_text(
        "La Chine a proposé la création d'une organisation mondiale de coopération "
        "sur l'intelligence artificielle, a déclaré le Premier ministre."
    )
    assert "not supported" in run(str(french))
    binary = tmp_path / "x.txt"
    binary.write_bytes(b"\xff\xfe\xfa")
    from django.core.management import CommandError

    with pytest.raises(CommandError, match="UTF-8"):
        run(str(binary))
