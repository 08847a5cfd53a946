"""Screenshots of the analyst pages for docs/screenshots/, desktop and phone widths.

Run against a running tracker (e.g. `manage.py up`, or with generated data):

    uv run python scripts/screenshots.py [--base http://127.0.0.1:8000] [--out docs/screenshots]

Uses Playwright with Debian's Chromium (/usr/bin/chromium); no browser is downloaded.
Only the given base URL is visited.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from playwright.sync_api import Browser, sync_playwright

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PAGES = {
    "dashboard": "/",
    "proposal": "/proposals/international-organization-for-global-ai-cooperation/",
    "statements": "/statements/?q=export+controls&country=us&country=cn",
    "compare": "/compare/?countries=cn,us,gb,fr",
}
VIEWPORTS = {"desktop": (1366, 900), "phone": (390, 844)}
# The seed article's page with Li Qiang's quote targeted, as a link from his statement lands.
DOCUMENT_SEARCH = "/documents/?q=%22exclusive+game%22"
DOCUMENT_FACT = "AI should be a common good"
DOCUMENT_VIEWPORTS = {"desktop": (1280, 900), "phone": (390, 844)}


def document_shots(browser: Browser, base: str, out: Path) -> None:
    """document-<width>.png: the window as a reader following the quote's source link sees
    it, the span highlighted and centred; on the desktop, with its facts listed (clicked)."""
    for width_name, (width, height) in DOCUMENT_VIEWPORTS.items():
        phone = width_name == "phone"
        context = browser.new_context(
            viewport={"width": width, "height": height},
            device_scale_factor=1,
            is_mobile=phone,
            has_touch=phone,
        )
        page = context.new_page()
        page.goto(base + DOCUMENT_SEARCH, wait_until="networkidle")
        page.locator("main td a[href^='/documents/']").first.click()
        fact = page.locator(".doc-facts li", has_text=DOCUMENT_FACT).first
        anchor = fact.locator("a.span-link").get_attribute("href")
        page.goto(page.url.split("#")[0] + (anchor or ""), wait_until="networkidle")
        if not phone:
            page.locator(".doc-text .ev.is-target").last.click()
        target = out / f"document-{width_name}.png"
        page.screenshot(path=str(target))
        print(target)
        context.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", default="http://127.0.0.1:8000")
    parser.add_argument("--out", default="docs/screenshots", type=Path)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        for width_name, (width, height) in VIEWPORTS.items():
            context = browser.new_context(
                viewport={"width": width, "height": height},
                device_scale_factor=1,
                is_mobile=width_name == "phone",
                has_touch=width_name == "phone",
            )
            page = context.new_page()
            for name, path in PAGES.items():
                response = page.goto(args.base.rstrip("/") + path, wait_until="networkidle")
                if response is None or response.status != 200:
                    raise SystemExit(f"{path}: HTTP {response.status if response else '?'}")
                target = args.out / f"{name}-{width_name}.png"
                # The top of each page, two screens tall: what a visitor meets first.
                height_shown = min(page.evaluate("document.body.scrollHeight"), height * 2)
                page.screenshot(
                    path=str(target),
                    full_page=True,
                    clip={"x": 0, "y": 0, "width": width, "height": height_shown},
                )
                print(target)
            context.close()
        document_shots(browser, args.base.rstrip("/"), args.out)
        browser.close()


if __name__ == "__main__":
    main()
