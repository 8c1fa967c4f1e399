"""Take docs/screenshot.png from a running Clientela (`make run`), logged in as a demo user.

Usage: .venv/bin/python scripts/screenshot.py EMAIL PASSWORD [URL]
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from playwright.sync_api import sync_playwright

OUTPUT = Path(__file__).resolve().parent.parent / "docs" / "screenshot.png"


def main(email: str, password: str, base_url: str = "http://127.0.0.1:8000") -> None:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=shutil.which("chromium"),
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        page = browser.new_page(viewport={"width": 1440, "height": 900}, base_url=base_url)
        page.goto("/login/")
        page.get_by_label("Email").fill(email)
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Log in").click()
        page.wait_for_load_state("networkidle")
        page.goto("/contacts/?sort=-created")
        page.wait_for_load_state("networkidle")
        page.screenshot(path=str(OUTPUT))
        browser.close()
    print(f"wrote {OUTPUT}")


if __name__ == "__main__":
    main(*sys.argv[1:])
