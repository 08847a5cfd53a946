"""Score the extraction pipeline on a labelled folder of news texts.

    uv run python bench/extraction_eval.py [FOLDER] [--details]

FOLDER (default ../shared/corpora/news-dev) holds text files and labels.json in the
news-dev format: per file, countries (ISO alpha-3; "EU" is an organization here and
is left out), orgs, people [name, role], quotes [speaker, opening words], proposals,
numbers, dates. Line 1 of each text is its URL and a bracketed note may follow: both
are dropped before extraction, like an ingested page's header.

Prints precision/recall/F1 for countries, people and organizations (micro-averaged
over files), quotes found and quotes with the right full-name speaker, proposals
found, and seconds per document. No database is used.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "waic.settings")
# Settings want URLs; nothing here connects to them.
os.environ.setdefault("DATABASE_URL", "postgres://unused@127.0.0.1:1/unused")

HONORIFICS = re.compile(r"^(dr|mr|mrs|ms|prof|sir|dame|president|premier)\.?\s+", re.I)
STOP = {"the", "a", "an", "of", "and", "to", "for", "in", "on", "with", "its", "by", "at"}


def article_text(path: Path) -> str:
    lines = path.read_text(encoding="utf-8").splitlines()
    if lines and re.match(r"https?://", lines[0]):
        lines = lines[1:]
    while lines and (not lines[0].strip() or lines[0].startswith("[")):
        lines = lines[1:]
    return "\n".join(lines)


def norm(name: str) -> str:
    name = HONORIFICS.sub("", name.strip())
    return re.sub(r"[^\w ]", "", name.casefold()).strip()


def words(text: str) -> set[str]:
    return {w for w in re.findall(r"[a-z0-9]+", text.casefold()) if w not in STOP}


class Score:
    def __init__(self) -> None:
        self.tp = self.fp = self.fn = 0

    def add(self, found: set[str], expected: set[str]) -> tuple[set[str], set[str]]:
        self.tp += len(found & expected)
        self.fp += len(found - expected)
        self.fn += len(expected - found)
        return found - expected, expected - found

    def row(self, name: str) -> str:
        p = self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0
        r = self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0
        f = 2 * p * r / (p + r) if p + r else 0.0
        return f"| {name} | {p:.2f} | {r:.2f} | {f:.2f} | {self.tp} | {self.fp} | {self.fn} |"


ABBREVIATIONS = {"un": "united nations", "eu": "european union", "us": "united states"}


def org_forms(name: str) -> set[str]:
    """A name, its abbreviations expanded, and its initials ("financial times" → "ft")."""
    expanded = " ".join(ABBREVIATIONS.get(w, w) for w in name.split())
    initials = "".join(w[0] for w in expanded.split() if w not in STOP)
    return {name, expanded} | ({initials} if len(expanded.split()) > 1 else set())


def org_match(found: set[str], expected: set[str]) -> set[str]:
    """Map each found organization to the label it names: the same name, abbreviation
    or initials, or one name containing the other."""
    mapped = set()
    for name in found:
        forms = org_forms(name)
        hit = next(
            (
                e
                for e in expected
                if forms & org_forms(e)
                or any(f in g or g in f for f in forms for g in org_forms(e))
            ),
            None,
        )
        mapped.add(hit or name)
    return mapped


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "folder", nargs="?", type=Path, default=ROOT.parent / "shared/corpora/news-dev"
    )
    parser.add_argument("--details", action="store_true", help="List misses per file.")
    args = parser.parse_args()

    import django

    django.setup()
    import pycountry

    from governance.extract.pipeline import extract

    labels = json.loads((args.folder / "labels.json").read_text(encoding="utf-8"))
    scores = {k: Score() for k in ("countries", "people", "organizations")}
    quotes_expected = quotes_found = quotes_right = 0
    proposals_expected = proposals_found = 0
    seconds: list[float] = []
    for name, label in labels.items():
        text = article_text(args.folder / name)
        published = None
        if label.get("date"):
            from datetime import date

            published = date.fromisoformat(label["date"])
        started = time.perf_counter()
        result = extract(text, published=published)
        seconds.append(time.perf_counter() - started)

        expected_countries = {
            pycountry.countries.get(alpha_3=c).alpha_2
            for c in label.get("countries", [])
            if c != "EU"
        }
        extra, missed = scores["countries"].add(
            {c.code for c in result.countries}, expected_countries
        )
        report = [f"countries +{sorted(extra)} -{sorted(missed)}"]

        expected_people = {norm(p[0]) for p in label.get("people", [])}
        extra, missed = scores["people"].add({norm(p.name) for p in result.people}, expected_people)
        report.append(f"people +{sorted(extra)} -{sorted(missed)}")

        # The issue counts the EU as an organization, not a country.
        eu = ["European Union"] if "EU" in label.get("countries", []) else []
        expected_orgs = {norm(o) for o in [*label.get("orgs", []), *eu]}
        found_orgs = org_match({norm(o.name) for o in result.organizations}, expected_orgs)
        extra, missed = scores["organizations"].add(found_orgs, expected_orgs)
        report.append(f"organizations +{sorted(extra)} -{sorted(missed)}")

        for speaker, opening in label.get("quotes", []):
            quotes_expected += 1
            key = norm(opening)[:40]
            match = next((q for q in result.quotes if key and key in norm(q.text)), None)
            if match:
                quotes_found += 1
                quotes_right += norm(match.speaker) == norm(speaker)
            else:
                report.append(f"quote missed: {speaker}: {opening[:50]}")
            if match and norm(match.speaker) != norm(speaker):
                report.append(f"quote speaker {match.speaker!r}, expected {speaker!r}")

        for proposal in label.get("proposals", []):
            proposals_expected += 1
            wanted = words(proposal)
            best = max(
                (len(wanted & words(p.text)) / len(wanted) for p in result.proposals), default=0
            )
            proposals_found += best >= 0.4
            if best < 0.4:
                report.append(f"proposal missed: {proposal[:60]}")
        if args.details:
            print(f"\n{name}\n  " + "\n  ".join(report))

    print("\n| field | precision | recall | F1 | tp | fp | fn |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for field, score in scores.items():
        print(score.row(field))
    found_rate = quotes_found / quotes_expected if quotes_expected else 1.0
    right_rate = quotes_right / quotes_found if quotes_found else 1.0
    print(
        f"\nquotes found: {quotes_found}/{quotes_expected} ({found_rate:.0%}); "
        f"right full-name speaker: {quotes_right}/{quotes_found} ({right_rate:.0%})"
    )
    print(f"proposals found: {proposals_found}/{proposals_expected}")
    print(
        f"documents: {len(labels)}, seconds per document: "
        f"{sum(seconds) / len(seconds):.3f} (first includes loading the model: {seconds[0]:.2f})"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
