"""Screenshots of the running demo for the README: `python scripts/screenshots.py [BASE_URL]`.

Start `make demo` first; this logs in as demo/demo with Debian's headless Chromium.
"""

from __future__ import annotations

import sys
from pathlib import Path

from playwright.sync_api import sync_playwright

BASE = sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:8000"
OUT = Path(__file__).resolve().parents[1] / "docs" / "screenshots"
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=FLAGS)
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        page.goto(f"{BASE}/admin/login/?next=/review/")
        page.fill("#id_username", "demo")
        page.fill("#id_password", "demo")
        page.click("input[type=submit]")
        page.wait_for_url("**/review/")
        page.goto(f"{BASE}/review/?target=yes")
        page.screenshot(path=OUT / "review-list.png")
        # A target account one criterion short of MQA shows what is still missing.
        page.goto(f"{BASE}/review/?target=yes&status=engaged")
        page.locator("#accounts tbody tr a").first.click()
        page.wait_for_selector("#engagement-chart")
        page.wait_for_timeout(400)
        page.screenshot(path=OUT / "account.png", full_page=True)
        page.goto(f"{BASE}/admin/mqa/scoringmodelversion/")
        page.click("#new-draft")
        page.wait_for_selector("#rule-editor")
        page.screenshot(path=OUT / "rule-editor.png")
        browser.close()


if __name__ == "__main__":
    main()
