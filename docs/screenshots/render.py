"""`make screenshots`: the playbook of the demo workspace as HTML and, when a
headless Chromium is installed, as PNG pictures (the README shows one).

Builds the demo workspace in a temporary folder, freezes three runs of the
"Sales logic" model (so the trend charts have points) and adds two KPIs, then
writes into this folder:

- ``playbook.html``: the whole playbook (``segscope playbook --out``);
- ``playbook.png``: the whole page, as Chromium prints it to the screen;
- ``playbook-charts.png``: the overview's charts side by side (the README's
  picture, kept small).

Without Chromium it writes the HTML and says plainly that no PNG was made.
Run: ``python -m docs.screenshots.render`` from the repository (or ``make
screenshots``); ``CHROMIUM=/path/to/chrome`` picks the browser.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
MODEL = "Sales logic"
BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome")
# the overview charts that make the README picture, in reading order
README_CHARTS = ("chart-pareto", "chart-segment-revenue", "chart-trend-revenue", "chart-whitespace")


def find_chromium() -> str | None:
    chosen = os.environ.get("CHROMIUM")
    if chosen:
        return shutil.which(chosen) or (chosen if Path(chosen).is_file() else None)
    return next((found for name in BROWSERS if (found := shutil.which(name))), None)


def build_playbook(folder: Path, out: Path) -> None:
    from sample_data.demo import build_demo_workspace
    from tui.cli import main

    ws = folder / "demo.segscope"
    build_demo_workspace(ws)
    steps = [
        *(["run", "save", str(ws), "--model", MODEL, "--as-of", day, "--label", label]
          for day, label in (("2025-01-01", "H1 2025"), ("2025-07-01", "H2 2025"),
                             ("2026-01-01", "2026"))),
        ["plan", "kpi-add", str(ws), "--model", MODEL, "--segment", "Complex",
         "--metric", "revenue", "--target", "45000000", "--deadline", "2026-12-31"],
        ["playbook", str(ws), "--model", MODEL, "--out", str(out), "--today", "2026-06-01",
         "--force"],
    ]  # fmt: skip
    for argv in steps:
        if main(argv) != 0:
            raise SystemExit(f"screenshots: 'segscope {' '.join(argv[:2])}' failed")


def charts_page(page: str) -> str:
    """The playbook's head (its stylesheet) with only the README's charts, two a row."""
    head = page[: page.index("<body>")]
    figures = {
        m.group(1): m.group(0)
        for m in re.finditer(r'<figure>\s*<svg [^>]*id="([^"]+)".*?</figure>', page, re.S)
    }
    chosen = "\n".join(figures[c] for c in README_CHARTS if c in figures)
    grid = ("<style>body{max-width:none;margin:8px}.grid{display:grid;"
            "grid-template-columns:1fr 1fr;gap:0 16px}figure{margin:4px 0}</style>")  # fmt: skip
    return f'{head}{grid}<body><div class="grid">\n{chosen}\n</div></body></html>\n'


def screenshot(browser: str, html: Path, png: Path, width: int, height: int) -> None:
    with tempfile.TemporaryDirectory(prefix="segscope-chromium-") as profile:
        cmd = [browser, "--headless", "--disable-gpu", "--hide-scrollbars",
               "--force-device-scale-factor=1", f"--user-data-dir={profile}",
               f"--window-size={width},{height}", f"--screenshot={png}", html.as_uri()]  # fmt: skip
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            cmd.insert(1, "--no-sandbox")  # Chromium refuses to run as root with its sandbox
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)
    if done.returncode != 0 or not png.is_file():
        raise SystemExit(f"screenshots: {browser} failed ({done.returncode}): "
                         f"{done.stderr.strip()[-400:]}")  # fmt: skip
    print(f"wrote {png} ({png.stat().st_size // 1024} KB)")


def main() -> int:
    html = HERE / "playbook.html"
    with tempfile.TemporaryDirectory(prefix="segscope-screenshots-") as tmp:
        build_playbook(Path(tmp), html)
    browser = find_chromium()
    if browser is None:
        looked = ", ".join(BROWSERS)
        print(f"screenshots: no headless Chromium found (looked for {looked} on PATH, or "
              f"$CHROMIUM); wrote the HTML only: {html}. Install one (e.g. apt-get install "
              "chromium) to render the PNGs.")  # fmt: skip
        return 0
    charts = HERE / "playbook-charts.html"
    charts.write_text(charts_page(html.read_text(encoding="utf-8")), encoding="utf-8")
    screenshot(browser, html, HERE / "playbook.png", 1000, 5200)
    screenshot(browser, charts, HERE / "playbook-charts.png", 1300, 660)
    return 0


if __name__ == "__main__":
    sys.exit(main())
