"""The built site (`make test` builds it before running pytest): what a reader of the HTML gets.

Each chapter page must exist, render its labelled equations for MathJax, show every figure its
notebook produced, and carry a Colab button that opens that chapter's own .ipynb from the
repository set in _config.yml. Skipped only when no build exists (`make quick`).
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
HTML = ROOT / "_build" / "html"
CONFIG = yaml.safe_load((ROOT / "_config.yml").read_text())
CHAPTERS = sorted((ROOT / "chapters").glob("[0-9][0-9]_*.ipynb"))

pytestmark = pytest.mark.skipif(not (HTML / "index.html").exists(), reason="no book build (run `make book`)")


def _page(nb: Path) -> str:
    page = HTML / "chapters" / f"{nb.stem}.html"
    assert page.exists(), f"{page} was not built"
    return page.read_text(encoding="utf-8")


@pytest.mark.parametrize("nb", CHAPTERS, ids=lambda p: p.stem)
def test_chapter_page_has_colab_button_to_its_notebook(nb):
    owner_repo = CONFIG["repository"]["url"].removeprefix("https://github.com/")
    branch = CONFIG["repository"]["branch"]
    expected = f"https://colab.research.google.com/github/{owner_repo}/blob/{branch}/chapters/{nb.name}"
    assert expected in _page(nb)


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


def test_bibliography_lists_the_cited_works():
    html = (HTML / "bibliography.html").read_text(encoding="utf-8")
    for title in ("Finding structure in time", "Long short-term memory"):
        assert title.lower() in html.lower()
