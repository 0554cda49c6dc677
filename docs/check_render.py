"""Open pages of the built site in headless Chromium and check what a reader sees.

Run by ``nox -s docs`` when a Chromium is installed (Debian: ``apt-get
install chromium``), otherwise skipped::

    python docs/check_render.py docs/_build/html

For the index, a guide, an API page and the performance page it takes the
DOM after the browser has run the theme's scripts (``--dump-dom``) and a
screenshot (into ``<html>/../screenshots/``), and checks that the page has
its navigation, highlighted code blocks, documented objects and plots.
Exits 1 naming whatever is missing.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

__all__ = ["check_page", "browser"]

#: page -> the markers its rendered DOM must contain.
PAGES: dict[str, tuple[str, ...]] = {
    "index.html": ('class="sidebar-tree"', 'href="guides/index.html"', 'href="api/index.html"'),
    "guides/sockets-tls.html": ('class="sidebar-tree"', 'class="highlight-', 'class="gp"'),
    "api/hub.html": ('class="sidebar-tree"', 'id="greenkit.hub.Hub"', 'class="sig sig-object py"'),
    "performance.html": ('class="sidebar-tree"', '<img alt="Cost ratios to gevent'),
    "design.html": ('class="sidebar-tree"', 'src="_images/hub-loop.svg"'),
}


def browser() -> str | None:
    """The Chromium executable, if one is installed."""
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


def _run(chromium: str, *args: str) -> str:
    done = subprocess.run(
        [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", *args],
        capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    return done.stdout


def check_page(chromium: str, html_dir: Path, page: str, shots: Path) -> list[str]:
    """What ``page`` lacks once rendered (empty when it renders as expected)."""
    url = (html_dir / page).resolve().as_uri()
    dom = _run(chromium, "--dump-dom", url)
    problems = [f"{page}: no {marker}" for marker in PAGES[page] if marker not in dom]
    for src in _image_sources(dom):
        image = (html_dir / page).parent / src
        if not image.is_file() or image.stat().st_size == 0:
            problems.append(f"{page}: image {src} is missing")
    shot = shots / (page.replace("/", "-").removesuffix(".html") + ".png")
    _run(chromium, "--window-size=1280,1600", f"--screenshot={shot}", url)
    if not shot.is_file() or shot.stat().st_size < 10_000:
        problems.append(f"{page}: the screenshot is blank")
    return problems


def _image_sources(dom: str) -> list[str]:
    sources = []
    for chunk in dom.split("<img ")[1:]:
        attrs = chunk.split(">", 1)[0]
        if ' src="' in attrs:
            src = attrs.split(' src="', 1)[1].split('"', 1)[0]
            if not src.startswith(("http:", "https:", "data:")):
                sources.append(src)
    return sources


def main() -> int:
    html_dir = Path(sys.argv[1])
    chromium = browser()
    if chromium is None:
        if os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no"):
            print("render check: no Chromium installed, and CI needs it (apt-get install chromium)")
            return 1
        print("render check skipped: no Chromium installed (apt-get install chromium)")
        return 0
    shots = html_dir.parent / "screenshots"
    shots.mkdir(exist_ok=True)
    problems = [p for page in PAGES for p in check_page(chromium, html_dir, page, shots)]
    for problem in problems:
        print("render:", problem)
    print(f"render check: {len(PAGES)} pages opened in {Path(chromium).name},"
          f" {len(problems)} problems; screenshots in {shots}")  # fmt: skip
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
