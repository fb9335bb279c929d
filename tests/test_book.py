"""The built site (`make test` builds it before running pytest): what a reader of the HTML gets.

Each chapter page must exist, render its labelled equations for MathJax, show every figure its
notebook produced, and carry a Colab button that opens that chapter's reader notebook (path_to_book) from the
repository set in _config.yml. Skipped only when no build exists (`make quick`).
"""

from __future__ import annotations

import html as html_lib
import re
from pathlib import Path

import nbformat
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
HTML = ROOT / "_build" / "html"
CONFIG = yaml.safe_load((ROOT / "_config.yml").read_text())
CHAPTERS = sorted((ROOT / "chapters").glob("[0-9][0-9]_*.ipynb"))

needs_build = pytest.mark.skipif(not (HTML / "index.html").exists(), reason="no book build (run `make book`)")
# Every citation role of sphinxcontrib-bibtex: {cite}, {cite:t}, {cite:p}, {cite:ps}, ...; one or more keys.
CITE = re.compile(r"\{cite(?::\w+)?\}`([^`]+)`")


def _page(nb: Path) -> str:
    page = HTML / "chapters" / f"{nb.stem}.html"
    assert page.exists(), f"{page} was not built"
    return page.read_text(encoding="utf-8")


@needs_build
@pytest.mark.parametrize("nb", CHAPTERS, ids=lambda p: p.stem)
def test_chapter_page_has_colab_button_to_its_notebook(nb):
    owner_repo = CONFIG["repository"]["url"].removeprefix("https://github.com/")
    branch = CONFIG["repository"]["branch"]
    book = CONFIG["repository"].get("path_to_book", "").strip("/")  # reader: the reader notebooks
    expected = f"https://colab.research.google.com/github/{owner_repo}/blob/{branch}/{book + '/' if book else ''}chapters/{nb.name}"
    assert expected in _page(nb)


@needs_build
@pytest.mark.parametrize("nb", CHAPTERS, ids=lambda p: p.stem)
def test_chapter_page_has_equations_and_figures(nb):
    html = _page(nb)
    assert "mathjax" in html.lower(), "no MathJax script on the page"
    source = nbformat.read(nb, as_version=4)
    labels = set()
    for cell in source.cells:
        if cell.cell_type == "markdown":
            labels |= set(re.findall(r":label:\s*(\S+)", cell.source))
    for label in labels:
        assert f'id="equation-{label}"' in html, f"equation {label} is not on the page"
    pngs = sum("image/png" in o.get("data", {}) for c in source.cells if c.cell_type == "code" for o in c.outputs)
    imgs = re.findall(r'<img[^>]+src="(\.\./_images/[^"]+\.png)"', html)
    assert len(imgs) >= pngs, f"{pngs} figures in the notebook, {len(imgs)} on the page"
    for src in imgs:
        assert (HTML / "chapters" / src).resolve().exists(), f"missing image {src}"


def _cited_keys() -> dict[str, list[str]]:
    """Each citation key used in intro.md and the chapters' .md sources, with the files using it."""
    keys: dict[str, list[str]] = {}
    for path in [ROOT / "intro.md", *sorted((ROOT / "chapters").glob("[0-9][0-9]_*.md"))]:
        for group in CITE.findall(path.read_text(encoding="utf-8")):
            for key in group.split(","):
                keys.setdefault(key.strip(), []).append(path.name)
    return keys


def _bib_titles() -> dict[str, str]:
    """``{key: title}`` of every entry in references.bib (the title's braces kept balanced)."""
    titles = {}
    for entry in re.split(r"^@", (ROOT / "references.bib").read_text(encoding="utf-8"), flags=re.M)[1:]:
        key = re.match(r"\w+\s*\{\s*([^,\s]+)\s*,", entry).group(1)
        start = re.search(r"^\s*title\s*=\s*\{", entry, flags=re.M).end()
        depth, end = 1, start
        while depth:
            depth += {"{": 1, "}": -1}.get(entry[end], 0)
            end += 1
        titles[key] = entry[start:end - 1]
    return titles


def _words(text: str) -> str:
    """Lower-case words and numbers only, space-separated: LaTeX braces, dashes and markup vanish."""
    return " " + " ".join(re.findall(r"[a-z0-9]+", text.lower())) + " "


def test_every_cited_key_is_in_references_bib():
    """Each {cite}/{cite:t}/{cite:p} key (comma lists split) in intro.md and chapters/*.md has a bib entry."""
    cited, titles = _cited_keys(), _bib_titles()
    assert len(cited) >= 10, f"found only {sorted(cited)}: is the citation pattern still right?"
    missing = {key: files for key, files in cited.items() if key not in titles}
    assert not missing, f"cited but not in references.bib: {missing}"


@needs_build
def test_bibliography_page_lists_every_cited_work():
    """The built bibliography.html shows the title of every work cited in the book."""
    page = (HTML / "bibliography.html").read_text(encoding="utf-8")
    text = _words(html_lib.unescape(re.sub(r"<[^>]+>", " ", page)))
    titles = _bib_titles()
    absent = [key for key in _cited_keys() if key in titles and _words(titles[key]) not in text]
    assert not absent, f"cited but not on bibliography.html: {absent}"
