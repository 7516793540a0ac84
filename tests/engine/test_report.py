"""The impact report: the terminal summary, and the HTML page opened in headless Chromium (its
charts must render: SVG elements of non-zero size in the DOM the browser dumps). The screenshot
is kept as a test artefact: tests/artefacts/impact-report.png (ignored by git)."""
from __future__ import annotations

import importlib.util
import json
import pathlib
import re
import shutil
import subprocess

import pytest

from policyconf.engine import impact as book_impact
from policyconf.engine import report
from policyconf.engine.sources import read_source

ROOT = pathlib.Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "products"
ARTEFACTS = ROOT / "tests" / "artefacts"


def _make_book():
    spec = importlib.util.spec_from_file_location("make_book", ROOT / "benchmarks" / "make_book.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def impact(tmp_path_factory):
    folder = tmp_path_factory.mktemp("report")
    baseline, candidate = folder / "baseline", folder / "candidate"
    for target in (baseline, candidate):
        shutil.copytree(FIXTURES, target, ignore=shutil.ignore_patterns("*.tests.yaml"))
    path = candidate / "accidental-damage.yaml"
    text = path.read_text(encoding="utf-8")
    text = text.replace("    default: 50.00 EUR", "    default: 60.00 EUR").replace(
        "policy.purchased) > 6", "policy.purchased) > 3").replace("{from: 184, to: 365, value: 10%}",
                                                                  "{from: 184, to: 365, value: 15%}")
    path.write_text(text, encoding="utf-8")
    claims = [(f"book.jsonl:{n}", c) for n, c in enumerate(_make_book().claims(2500, seed=11), 1)
              if c["product"] in ("accidental-damage", "screen-protection", "bmw-total-loss")]
    result = book_impact.replay_claims(read_source(str(baseline)).book(), read_source(str(candidate)).book(),
                                       claims, top=30)
    result.labels = {"baseline": "products@HEAD", "candidate": "products <script>alert(1)</script>"}
    result.identical = False
    return result


def test_the_terminal_summary(impact):
    text = report.render_text(impact, top=3)
    assert text.startswith(f"impact of products <script>alert(1)</script> over products@HEAD: {impact.claims:,} claims, "
                           f"{impact.changed:,} changed")
    assert "decisions   from \\ to" in text and "approved → declined" in text
    assert re.search(r"\n            EUR +[\d,]+\.\d\d +[\d,]+\.\d\d +-[\d,]+\.\d\d \(-\d+\.\d %\)\n", text)
    assert "by band\n  " in text and "excess_by_country: default (EUR):" in text.split("by band")[1]
    assert "claims that changed most (3 of" in text and "    why:    " in text


def test_the_page_is_self_contained_and_escapes_what_it_shows(impact):
    page = report.render_html(impact)
    assert page.startswith("<!DOCTYPE html>") and "Content-Security-Policy" in page and "default-src 'none'" in page
    assert not re.search(r"""(?:src|href)\s*=""", page) and "<link" not in page and "@import" not in page
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert page.count("<svg class=\"chart\"") >= 8
    assert 'id="chart-band-EUR"' in page and 'id="chart-cause-EUR"' in page and "id='matrix'" in page


def _chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        found = shutil.which(name)
        if found:
            return found
    return None


def _browser(tmp_path, *arguments) -> subprocess.CompletedProcess:
    # no network: the background-networking, component-update, sync and QUIC flags keep Chromium
    # from trying to reach anything (this machine's network is closed; the page needs none)
    return subprocess.run([_chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                           "--disable-component-update", "--disable-sync", "--disable-quic", "--no-first-run",
                           f"--user-data-dir={tmp_path / 'profile'}", "--window-size=1200,2400",
                           *arguments], capture_output=True, text=True, timeout=120)


@pytest.mark.skipif(_chromium() is None, reason="headless Chromium is not installed and could not be "
                    "(make test installs Debian's chromium with apt-get when it runs as root)")
def test_the_charts_render_in_headless_chromium(impact, tmp_path):
    page = tmp_path / "impact.html"
    page.write_text(report.render_html(impact), encoding="utf-8")
    url = page.as_uri()
    dumped = _browser(tmp_path, "--virtual-time-budget=5000", "--dump-dom", url)
    assert dumped.returncode == 0, dumped.stderr[-2000:]
    dom = dumped.stdout
    charts = re.findall(r'<svg class="chart" id="([^"]+)"[^>]*data-rendered-width="(\d+)" '
                        r'data-rendered-height="(\d+)"', dom)
    ids = {chart for chart, _, _ in charts}
    assert {"chart-band-EUR", "chart-cause-EUR", "chart-product-EUR", "chart-product-changed"} <= ids, ids
    assert all(int(width) > 100 and int(height) > 20 for _, width, height in charts), charts
    bars = [int(width) for width in re.findall(r'<rect class="bar" x="\d+" y="\d+" width="(\d+)"', dom)]
    assert bars and all(width >= 1 for width in bars) and max(bars) > 100
    assert "<table class=\"matrix\" id=\"matrix\">" in dom or "id=\"matrix\"" in dom

    screenshot = tmp_path / "impact-report.png"
    shot = _browser(tmp_path, f"--screenshot={screenshot}", url)
    assert shot.returncode == 0, shot.stderr[-2000:]
    data = screenshot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 20_000           # a page, not a blank
    ARTEFACTS.mkdir(exist_ok=True)
    shutil.copy(screenshot, ARTEFACTS / "impact-report.png")
    (ARTEFACTS / "impact-report.html").write_text(page.read_text(encoding="utf-8"), encoding="utf-8")
    json.dumps(impact.to_dict())                                              # the same report, as data
