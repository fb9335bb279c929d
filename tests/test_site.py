"""The built site in a real browser: every page of _build/html, as a reader at 1280x900 sees it.

`make test` builds the book first; these tests serve _build/html over a loopback HTTP server and
open each page in headless Chromium (Debian's `chromium` and `chromium-driver`, which `make test`
installs when it can). The browser is kept offline (every host name but 127.0.0.1 fails to
resolve), so whatever the site loads from a CDN is missing here as it is for a reader without a
network. One browser session visits every page once; each test then checks one thing on all of them:
no console error, every equation typeset by MathJax, every image loaded, every internal link and
anchor resolves, each chapter's Colab button opens its reader notebook, no code line is cut off by
the content column, one search field, and the search page finds a term. Screenshots of a few pages
are left in _build/screenshots/. Skipped when there is no build or no browser.
"""

from __future__ import annotations

import functools
import http.server
import re
import threading
import time
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
HTML = ROOT / "_build" / "html"
SCREENSHOTS = ROOT / "_build" / "screenshots"
CONFIG = yaml.safe_load((ROOT / "_config.yml").read_text())
CHAPTERS = sorted(p.stem for p in (ROOT / "chapters").glob("[0-9][0-9]_*.ipynb"))
# Debian's packages; never a browser or driver fetched at run time (Selenium Manager is not used:
# the driver's path is given to the Service).
CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
WIDTH, HEIGHT = 1280, 900

try:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.support.ui import WebDriverWait
except ImportError:  # pragma: no cover - selenium is pinned in requirements.txt
    webdriver = None

if not (HTML / "index.html").exists():
    _skip = "no book build (run `make book`)"
elif webdriver is None:
    _skip = "selenium is not installed (pip install -r requirements.txt)"
elif not (CHROMIUM.exists() and CHROMEDRIVER.exists()):
    _skip = (
        f"no headless browser: {' and '.join(str(p) for p in (CHROMIUM, CHROMEDRIVER) if not p.exists())} missing. Install with "
        "`sudo apt-get install chromium chromium-driver` (Debian/Ubuntu; `make test` does it when run as root)"
    )
else:
    _skip = ""
# About half a minute: in `make test`, not in `make quick`.
pytestmark = [pytest.mark.slow, pytest.mark.skipif(bool(_skip), reason=_skip)]

# Every page a reader can reach: all HTML files but the theme's and the sources' folders.
PAGES = sorted(
    p.relative_to(HTML).as_posix() for p in HTML.rglob("*.html") if p.relative_to(HTML).parts[0] not in ("_static", "_sources")
)


@pytest.fixture(scope="module")
def site():
    """The built site on http://127.0.0.1:<free port>/, for this module only."""
    handler = functools.partial(_QuietHandler, directory=str(HTML))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()
    thread.join()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 - the base class's signature
        pass


@pytest.fixture(scope="module")
def browser():
    """One headless Chromium for the whole module, offline but for the loopback address."""
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for arg in (
        "--headless=new",
        "--no-sandbox",  # root in CI
        "--disable-gpu",
        "--disable-dev-shm-usage",
        f"--window-size={WIDTH},{HEIGHT}",
        "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
    ):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER)), options=options)
    # The window size includes the browser's frame: make the page itself WIDTH x HEIGHT.
    inner_width, inner_height = driver.execute_script("return [innerWidth, innerHeight]")
    driver.set_window_size(2 * WIDTH - inner_width, 2 * HEIGHT - inner_height)
    driver.set_script_timeout(30)
    driver.set_page_load_timeout(30)
    yield driver
    driver.quit()


# After the page has loaded: wait for MathJax's first typesetting and for every image to settle.
_WAIT = r"""
const done = arguments[arguments.length - 1];
const mathjax = document.querySelector('.math') === null ? Promise.resolve('no maths')
  : (window.MathJax && window.MathJax.startup && window.MathJax.startup.promise)
    ? window.MathJax.startup.promise.then(() => 'typeset', e => 'MathJax failed: ' + e)
    : Promise.resolve('MathJax did not load');
const images = Array.from(document.images, im => {
  if (im.loading === 'lazy') im.loading = 'eager';
  return im.complete ? null : new Promise(r => { im.addEventListener('load', r); im.addEventListener('error', r); });
});
Promise.all([mathjax, ...images]).then(([m]) => done(m));
"""

# What a reader gets on the page, measured in the browser.
_MEASURE = r"""
const skip = 'pre, code, script, style, noscript, textarea, mjx-container';
const rawTex = [];
const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
for (let n = walker.nextNode(); n; n = walker.nextNode()) {
  if (n.parentElement.closest(skip)) continue;
  for (const token of ['\\(', '\\[', '$$']) {
    const i = n.nodeValue.indexOf(token);
    if (i >= 0) rawTex.push(n.nodeValue.slice(Math.max(0, i - 15), i + 35).replace(/\s+/g, ' '));
  }
}
const maths = Array.from(document.querySelectorAll('span.math, div.math'));
// Code and output lines wider than their block: cut off, readable only by scrolling sideways.
const ctx = document.createElement('canvas').getContext('2d');
const cut = [];
for (const pre of document.querySelectorAll('main pre')) {
  if (pre.scrollWidth <= pre.clientWidth + 1) continue;
  const cs = getComputedStyle(pre);
  ctx.font = `${cs.fontStyle} ${cs.fontWeight} ${cs.fontSize} ${cs.fontFamily}`;
  const room = pre.clientWidth - parseFloat(cs.paddingLeft) - parseFloat(cs.paddingRight);
  for (const line of pre.textContent.split('\n')) {
    if (ctx.measureText(line.replace(/\t/g, '    ')).width > room + 1) cut.push(line);
  }
}
const visible = e => { const r = e.getBoundingClientRect(); return r.width > 0 && r.height > 0 && getComputedStyle(e).visibility !== 'hidden'; };
return {
  url: location.href,
  raw_tex: rawTex,
  maths: maths.length,
  maths_untypeset: maths.filter(m => m.querySelector('mjx-container') === null).length,
  mjx_containers: document.querySelectorAll('mjx-container').length,
  images: Array.from(document.images, im => [im.getAttribute('src'), im.complete && im.naturalWidth > 0]),
  links: Array.from(document.querySelectorAll('a[href]'), a => a.href),
  ids: Array.from(document.querySelectorAll('[id], a[name]'), e => e.id || e.getAttribute('name')),
  colab: Array.from(document.querySelectorAll('a[href^="https://colab.research.google.com/"]'), a => a.href),
  cut_lines: cut,
  search_fields: Array.from(document.querySelectorAll('.search-button-field, .search-button, input[type=search]'))
    .filter(e => visible(e) && !e.closest('main')).length,  // the search page's own form is in main
  resources: performance.getEntriesByType('resource').map(e => e.name).filter(u => !u.startsWith(location.origin)),
};
"""


@pytest.fixture(scope="module")
def pages(site, browser):
    """Each page of the site, opened once: ``{page: what _MEASURE found, plus its console log}``."""
    assert PAGES, "no HTML pages in the build"
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    found = {}
    browser.get_log("browser")  # start from an empty log
    for page in PAGES:
        browser.get(site + page)
        if page == "index.html":  # a redirect to the first page, measured as that page
            WebDriverWait(browser, 10).until(lambda d: d.current_url == site + "intro.html")
            found[page] = dict(_NOTHING, console=[e["message"] for e in browser.get_log("browser") if e["level"] == "SEVERE"])
            continue
        mathjax = browser.execute_async_script(_WAIT)
        data = browser.execute_script(_MEASURE)
        data["mathjax"] = mathjax
        data["console"] = [e["message"] for e in browser.get_log("browser") if e["level"] == "SEVERE"]
        found[page] = data
        if page in ("intro.html", "chapters/03_lstm.html"):
            browser.save_screenshot(str(SCREENSHOTS / f"{Path(page).stem}.png"))
    return found


# What the redirect page index.html holds of its own: nothing but its console messages.
_NOTHING = dict(raw_tex=[], maths=0, maths_untypeset=0, mjx_containers=0, images=[], links=[], ids=[], colab=[],
                cut_lines=[], search_fields=None, resources=[], mathjax="no maths", console=[])


def _failures(pages: dict, check) -> list[str]:
    """``page: problem`` for each problem ``check`` finds on a page."""
    return [f"{page}: {problem}" for page, data in pages.items() for problem in check(data)]


def test_every_page_is_visited(pages):
    for page in ["intro.html", "bibliography.html", "search.html", *(f"chapters/{c}.html" for c in CHAPTERS)]:
        assert page in pages, f"{page} was not built"


def test_no_console_errors(pages):
    errors = _failures(pages, lambda d: d["console"])
    assert not errors, f"{len(errors)} console errors:\n" + "\n".join(errors)


def test_everything_loads_from_the_site_itself(pages):
    """Offline means no script, style sheet, font or image from another host (a CDN's MathJax)."""
    outside = _failures(pages, lambda d: d["resources"])
    assert not outside, "loaded from outside the site:\n" + "\n".join(sorted(set(outside)))


def test_mathjax_typesets_every_equation(pages):
    def check(d):
        if d["maths"] and d["mathjax"] != "typeset":
            yield d["mathjax"]
        if d["maths_untypeset"]:
            yield f"{d['maths_untypeset']} of {d['maths']} maths elements not typeset"
        if d["mjx_containers"] < d["maths"]:
            yield f"{d['mjx_containers']} typeset equations for {d['maths']} maths elements"
        for tex in d["raw_tex"]:
            yield f"raw TeX in the text: {tex!r}"

    assert sum(d["maths"] for d in pages.values()) > 100, "the chapters' equations are missing"
    failures = _failures(pages, check)
    assert not failures, f"{len(failures)} problems:\n" + "\n".join(failures[:40])


def test_every_image_loads(pages):
    assert sum(len(d["images"]) for d in pages.values()) >= len(CHAPTERS), "the chapters' figures are missing"
    broken = _failures(pages, lambda d: [f"image {src} did not load" for src, ok in d["images"] if not ok])
    assert not broken, "\n".join(broken)


def test_internal_links_and_anchors_resolve(pages, site):
    ids = {page: set(d["ids"]) for page, d in pages.items()}
    checked = 0

    def check(d):
        nonlocal checked
        for url in d["links"]:
            if not url.startswith(site):
                continue
            parts = urlsplit(url)
            target = unquote(parts.path).lstrip("/") or "index.html"
            if target.endswith("/"):
                target += "index.html"
            checked += 1
            if not (HTML / target).is_file():
                yield f"link to a missing file: {url.removeprefix(site)}"
            elif parts.fragment and unquote(parts.fragment) not in ids.get(target, _file_ids(target)):
                yield f"link to a missing anchor: {url.removeprefix(site)}"

    broken = _failures(pages, check)
    assert checked > 100, f"only {checked} internal links found"
    assert not broken, f"{len(broken)} broken internal links:\n" + "\n".join(broken)


@functools.cache
def _file_ids(target: str) -> set[str]:
    """The ids in a built file the browser did not open (for links into it with an #anchor)."""
    return set(re.findall(r'\b(?:id|name)="([^"]+)"', (HTML / target).read_text(encoding="utf-8", errors="replace")))


def test_colab_button_opens_the_chapters_reader_notebook(pages):
    """Each chapter has one Colab button, and every notebook page's button opens its reader notebook."""
    owner_repo = CONFIG["repository"]["url"].removeprefix("https://github.com/")
    branch = CONFIG["repository"]["branch"]
    for chapter in CHAPTERS:
        assert len(pages[f"chapters/{chapter}.html"]["colab"]) == 1, f"{chapter}: no Colab button"
    for page, d in pages.items():
        for url in d["colab"]:
            stem = Path(page).stem
            assert url == f"https://colab.research.google.com/github/{owner_repo}/blob/{branch}/reader/chapters/{stem}.ipynb", page


def test_no_code_line_is_cut_off(pages):
    """At 1280x900, every code and output line fits its block (wrapped, not hidden past the edge)."""
    cut = _failures(pages, lambda d: [f"cut off: {line.strip()[:70]!r}" for line in d["cut_lines"]])
    assert not cut, f"{len(cut)} code lines wider than the content column:\n" + "\n".join(cut[:20])


def test_one_search_field(pages):
    """Outside the page content: the sidebar's search field, and no second one in a top bar."""
    counts = {page: d["search_fields"] for page, d in pages.items() if d["search_fields"] is not None}
    assert all(n == 1 for n in counts.values()), f"visible search fields, per page: {counts}"


def test_search_finds_a_term(site, browser, pages):
    browser.get(site + "search.html?q=forget+gate")
    WebDriverWait(browser, 20).until(
        lambda d: d.execute_script("return document.querySelectorAll('#search-results li a').length") > 0
        or "did not match" in d.execute_script("return document.body.innerText")
    )
    time.sleep(0.5)  # let the result list finish filling in before the screenshot
    results = browser.execute_script("return Array.from(document.querySelectorAll('#search-results li a'), a => a.href)")
    browser.save_screenshot(str(SCREENSHOTS / "search.png"))
    assert any(urlsplit(r).path.endswith("/chapters/03_lstm.html") for r in results), f"results: {results}"
    errors = [e["message"] for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert not errors, errors
