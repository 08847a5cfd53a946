"""Pathological text through extraction, HTML cleaning and page parsing: bounded time each.

    uv run python bench/pathological_text.py [--limit SECONDS]

Issue #8, scenario 10. Each case is one hostile input (a 1 MB token, a million quote
marks, 100,000 nested elements, ...) run through the code that sees untrusted text:
`extract()` (spaCy and every rule; it cuts text at MAX_CHARS), `html_to_text`,
`sanitize_html` and `parse_page`. Every case must finish, without an unhandled
exception, within --limit seconds (default 60, half the extraction task's soft time
limit: extraction reads at most MAX_CHARS, and dense tokens there are the slowest
case). Prints a table; exits 1 on any failure.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

MB = 1_000_000

TEXTS: dict[str, Callable[[], str]] = {
    "1 MB without a space": lambda: "a" * MB,
    "1 MB of prose": lambda: ("Premier Li Qiang said China would cooperate. " * 25_000)[:MB],
    "50,000 straight-quoted words": lambda: '"a" ' * 50_000,
    "200,000 opening curly quotes": lambda: "“" * 200_000,
    "200,000 apostrophes": lambda: "'" * 200_000,
    "one paragraph of 5,000 attributed quotes": lambda: "“We must act,” Li Qiang said. " * 5_000,
    "100,000 line breaks": lambda: "\n" * 100_000 + "x",
    "100,000 full stops": lambda: ". " * 100_000,
    "a 1 MB URL": lambda: "https://example.org/" + "a" * MB,
    "1 MB of digits and dates": lambda: ("26 July 2025 1,000,000 over 30 " * 35_000)[:MB],
}
HTML: dict[str, Callable[[], str]] = {
    "100,000 nested divs": lambda: "<div>" * 100_000 + "x" + "</div>" * 100_000,
    "a 1 MB attribute": lambda: '<p title="' + "x" * MB + '">hi</p>',
    "50,000 tags": lambda: "<b>x</b>" * 50_000,
    "100,000 unclosed tags": lambda: "<p><i>" * 100_000,
    "1 MB comment": lambda: "<!--" + "-" * MB + "-->",
    "1,000,000 nested divs": lambda: "<div>" * MB + "x" + "</div>" * MB,
}


def run_case(call: Callable[[], object]) -> tuple[float, str]:
    started = time.perf_counter()
    try:
        call()
        outcome = "ok"
    except Exception as exc:  # handled errors of the parsers are fine; anything else is not
        from governance.ingest.errors import IngestError

        if not isinstance(exc, IngestError):
            traceback.print_exc()
            return time.perf_counter() - started, f"UNHANDLED {type(exc).__name__}"
        outcome = f"refused: {exc.reason.value}"
    return time.perf_counter() - started, outcome


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=float, default=60.0, help="seconds allowed per case")
    args = parser.parse_args(argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "waic.settings")
    import django

    django.setup()
    from governance.extract.pipeline import extract
    from governance.ingest.htmltext import html_to_text, sanitize_html
    from governance.ingest.parse import parse_page

    extract("Warm-up: Li Qiang said “hello”.", language="en")  # load spaCy outside the clock
    cases: list[tuple[str, Callable[[], object]]] = []
    for name, make in TEXTS.items():
        text = make()
        cases.append((f"extract: {name}", lambda text=text: extract(text, language="en")))
    for name, make in HTML.items():
        html = make()
        cases.append((f"html_to_text: {name}", lambda html=html: html_to_text(html)))
        cases.append((f"sanitize_html: {name}", lambda html=html: sanitize_html(html)))
        cases.append(
            (
                f"parse_page: {name}",
                lambda html=html: parse_page(
                    html.encode(), url="http://payloads.test/page", content_type="text/html"
                ),
            )
        )
    failures = 0
    print(f"{'case':<60}{'seconds':>9}  outcome")
    for name, call in cases:
        seconds, outcome = run_case(call)
        bad = outcome.startswith("UNHANDLED") or seconds > args.limit
        failures += bad
        print(f"{name:<60}{seconds:>9.2f}  {outcome}{'  <-- FAIL' if bad else ''}", flush=True)
    print(f"\n{len(cases)} cases, {failures} over {args.limit:g} s or unhandled")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
