"""Screenshots for the docs, taken with Debian's headless Chromium, logged in as demo/demo.

* `python scripts/screenshots.py [BASE_URL]`: the review pages and rule editor of the running
  demo (start `make demo` first);
* `python scripts/screenshots.py BASE_URL calibration QUERY NAME`: the calibration page for a
  backtest query string, saved as docs/screenshots/NAME.png (docs/calibration-olist.md).
"""

from __future__ import annotations

import sys
from pathlib import Path

from playwright.sync_api import Page, sync_playwright

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


def calibration(page: Page, query: str, name: str) -> None:
    page.goto(f"{BASE}/review/calibration/?{query}")
    page.wait_for_selector("#contacts-curve")
    page.wait_for_timeout(600)
    page.locator("#calibration-contacts").screenshot(path=OUT / f"{name}.png")


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=FLAGS)
        context = browser.new_context(viewport={"width": 1400, "height": 900})
        page = context.new_page()
        page.goto(f"{BASE}/admin/login/?next=/review/")
        page.fill("#id_username", "demo")
        page.fill("#id_password", "demo")
        page.click("input[type=submit]")
        page.wait_for_url("**/review/")
        if sys.argv[2:3] == ["calibration"]:
            calibration(page, sys.argv[3], sys.argv[4])
            browser.close()
            return
        page.goto(f"{BASE}/review/?target=yes")
        page.screenshot(path=OUT / "review-list.png")
        # A target account one criterion short of MQA shows what is still missing.
        page.goto(f"{BASE}/review/?target=yes&status=engaged")
        page.locator("#accounts tbody tr a").first.click()
        page.wait_for_selector("#engagement-chart")
        page.wait_for_timeout(400)
        page.screenshot(path=OUT / "account.png", full_page=True)
        page.goto(f"{BASE}/review/leads/")
        page.screenshot(path=OUT / "leads.png")
        page.goto(f"{BASE}/review/funnel/?kind=lead&group_by=lead_source")
        page.wait_for_selector("#funnel-chart")
        page.wait_for_timeout(400)
        page.screenshot(path=OUT / "funnel.png", full_page=True)
        # The same account on a phone: each table row reads as a card.
        phone = context.new_page()
        phone.set_viewport_size({"width": 390, "height": 844})
        phone.goto(f"{BASE}/review/?target=yes&status=engaged")
        phone.locator("#accounts tbody tr a").first.click()
        phone.wait_for_selector("#engagement-chart")
        phone.wait_for_timeout(400)
        phone.screenshot(path=OUT / "account-phone.png")
        page.goto(f"{BASE}/admin/mqa/routingsettings/")
        page.locator("#result_list tbody tr a").first.click()
        page.wait_for_load_state("networkidle")
        page.screenshot(path=OUT / "routing.png", full_page=True)
        page.goto(f"{BASE}/admin/mqa/scoringmodelversion/")
        page.click("#new-draft")
        page.wait_for_selector("#rule-editor")
        page.screenshot(path=OUT / "rule-editor.png")
        # The first segment: what it overrides, what it inherits.
        page.locator("#segment-0").screenshot(path=OUT / "rule-editor-segment.png")
        # An edit, saved: the history names the rule by its label, old → new, and who.
        page.fill("#id_engagement-0-points", "45")
        page.fill("#id_contact_fit-0-points", "12")
        page.click("#save-draft")
        page.wait_for_selector("text=Saved draft")
        page.locator("#change-history").screenshot(path=OUT / "change-history.png")
        browser.close()


if __name__ == "__main__":
    main()
