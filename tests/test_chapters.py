"""The chapters as files: pairs in sync, outputs present and fresh, the Colab cell, the table of contents.

nbval (run by `make test` on chapters/*.ipynb) re-executes every cell and compares outputs; these
tests catch what nbval cannot see: an .md edited without re-syncing its .ipynb, a cell never
executed (nbval does not compare those), a notebook run out of order, a chapter missing from the book.
"""

from __future__ import annotations

from pathlib import Path

import jupytext
import nbformat
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = sorted((ROOT / "chapters").glob("[0-9][0-9]_*.md")) + sorted((ROOT / "chapters").glob("faq.md"))  # the FAQ is a notebook too
CONFIG = yaml.safe_load((ROOT / "_config.yml").read_text())
TOC = yaml.safe_load((ROOT / "_toc.yml").read_text())


def _cells(nb: nbformat.NotebookNode) -> list[tuple[str, str, tuple[str, ...]]]:
    return [(c.cell_type, c.source.strip(), tuple(c.get("metadata", {}).get("tags", []))) for c in nb.cells]


def _ipynb(md: Path) -> nbformat.NotebookNode:
    return nbformat.read(md.with_suffix(".ipynb"), as_version=4)


def test_there_are_chapters_and_each_has_its_pair():
    assert CHAPTERS, "no chapters/NN_topic.md found"
    for md in CHAPTERS:
        assert md.with_suffix(".ipynb").exists(), f"{md.name} has no paired .ipynb (run `make outputs NB={md.relative_to(ROOT)}`)"
    for nb in [*(ROOT / "chapters").glob("[0-9][0-9]_*.ipynb"), *(ROOT / "chapters").glob("faq.ipynb")]:
        assert nb.with_suffix(".md").exists(), f"{nb.name} has no paired .md"


@pytest.mark.parametrize("md", CHAPTERS, ids=lambda p: p.stem)
def test_pair_in_sync(md):
    """The .ipynb has exactly the cells of the .md (sources and tags); fix with `make sync` or `make outputs`."""
    from_md, from_nb = _cells(jupytext.read(md)), _cells(_ipynb(md))
    assert len(from_md) == len(from_nb), f"{md.name}: {len(from_md)} cells in the .md, {len(from_nb)} in the .ipynb"
    for i, (a, b) in enumerate(zip(from_md, from_nb)):
        assert a == b, f"{md.name}: cell {i} differs between the .md and the .ipynb:\n{a}\n---\n{b}"


@pytest.mark.parametrize("md", CHAPTERS, ids=lambda p: p.stem)
def test_outputs_are_fresh_and_complete(md):
    """Every code cell was executed, in order, in one fresh kernel, without an error."""
    code = [c for c in _ipynb(md).cells if c.cell_type == "code"]
    counts = [c.get("execution_count") for c in code]
    assert counts == list(range(1, len(code) + 1)), f"{md.name}: execution counts {counts}: re-run `make outputs NB=...`"
    for i, cell in enumerate(code):
        errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
        assert not errors, f"{md.name}: code cell {i} has an error output"


@pytest.mark.parametrize("md", CHAPTERS, ids=lambda p: p.stem)
def test_first_code_cell_installs_rnnbook_in_colab_only(md):
    """The Colab cell installs from the repository URL set once in _config.yml, and only in Colab."""
    url = CONFIG["repository"]["url"]
    first = next(c for c in _ipynb(md).cells if c.cell_type == "code")
    assert 'if "google.colab" in sys.modules:' in first.source
    assert f"@ git+{url}" in first.source, f"{md.name}: install URL differs from _config.yml's {url}"
    assert first.get("outputs") == [], "the Colab cell must be silent outside Colab"


def test_table_of_contents_lists_every_chapter():
    listed = [c["file"] for part in TOC["parts"] for c in part["chapters"]]
    for md in CHAPTERS:
        assert f"chapters/{md.stem}" in listed, f"{md.name} is not in _toc.yml"
    for entry in listed:
        assert any((ROOT / f"{entry}{ext}").exists() for ext in (".md", ".ipynb")), f"_toc.yml lists missing {entry}"
