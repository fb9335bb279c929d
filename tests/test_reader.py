"""The reader notebooks (reader/chapters/*.ipynb, tools/reader.py): the chapters as Jupyter and Colab show them.

Each must carry no MyST syntax, be what the generator writes today from chapters/*.ipynb, keep the
chapter's code cells and outputs exactly (nbval verifies those), number its equations as the built
site does, and run in a fresh kernel to the same outputs.
"""

from __future__ import annotations

import configparser
import importlib.util
import re
import shutil
import sys
from pathlib import Path

import nbformat
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
HTML = ROOT / "_build" / "html"
CONFIG = yaml.safe_load((ROOT / "_config.yml").read_text())
CHAPTERS = sorted((ROOT / "chapters").glob("*.ipynb"))
READER = [ROOT / "reader" / "chapters" / nb.name for nb in CHAPTERS]

# tools/ is not a package: load the generator from its file.
_spec = importlib.util.spec_from_file_location("tools_reader", ROOT / "tools" / "reader.py")
assert _spec is not None and _spec.loader is not None
reader = importlib.util.module_from_spec(_spec)
sys.modules["tools_reader"] = reader  # dataclasses look their module up there
_spec.loader.exec_module(reader)

needs_build = pytest.mark.skipif(not (HTML / "index.html").exists(), reason="no book build (run `make book`)")
ids = [nb.stem for nb in CHAPTERS]

# MyST that Jupyter and Colab would show raw.
MYST = {
    "an {eq} reference": re.compile(r"\{eq\}`"),
    "a citation": re.compile(r"\{cite[\w:]*\}`"),
    "a directive": re.compile(r"^\s*(`{3,}|:{3,})\{", re.M),
    "an equation label": re.compile(r"^\s*:label:", re.M),
    "a target": re.compile(r"^\([^()\s]+\)=\s*$", re.M),
    "a {ref}/{doc}/{numref}": re.compile(r"\{(ref|doc|numref)\}`"),
    "a colon fence": re.compile(r"^\s*:{3,}", re.M),
    "any role": re.compile(r"\{[a-z][\w:-]*\}`"),
}


def _read(path: Path) -> nbformat.NotebookNode:
    assert path.exists(), f"{path.relative_to(ROOT)} is missing: run `make reader`"
    return nbformat.read(path, as_version=4)


def _markdown(nb: nbformat.NotebookNode) -> list[str]:
    return [c.source for c in nb.cells if c.cell_type == "markdown"]


def _without_code(markdown: str) -> str:
    """Markdown with fenced code blocks and code spans removed (they may show MyST on purpose)."""
    markdown = re.sub(r"^(`{3,}|~{3,})[^`{\n]*\n.*?^\1\s*$", "", markdown, flags=re.M | re.S)
    return re.sub(r"(?<!\})(`+).+?\1", "", markdown)


@pytest.mark.parametrize("path", READER, ids=ids)
def test_no_myst_left(path):
    for source in _markdown(_read(path)):
        text = _without_code(source)
        for what, pattern in MYST.items():
            hit = pattern.search(text)
            assert hit is None, f"{path.name}: {what} left: ...{text[max(0, hit.start() - 60):hit.end() + 60]}..."


def test_reader_notebooks_are_up_to_date(tmp_path):
    """`make reader` into a temporary folder writes exactly the committed files, and no others exist."""
    written = reader.write_all(tmp_path)
    assert sorted(p.name for p in written) == sorted(p.name for p in READER)
    committed = sorted(p.name for p in (ROOT / "reader" / "chapters").glob("*.ipynb"))
    assert committed == sorted(p.name for p in READER), "a reader notebook has no chapter: run `make reader`"
    for new in written:
        old = ROOT / "reader" / "chapters" / new.name
        assert old.exists() and old.read_bytes() == new.read_bytes(), f"{old.name} is stale: run `make reader`"


@pytest.mark.parametrize("chapter", CHAPTERS, ids=ids)
def test_code_cells_and_outputs_are_the_chapters(chapter):
    ours = [c for c in _read(ROOT / "reader" / "chapters" / chapter.name).cells if c.cell_type == "code"]
    theirs = [c for c in _read(chapter).cells if c.cell_type == "code"]
    assert len(ours) == len(theirs)
    for a, b in zip(ours, theirs):
        assert a.source == b.source
        assert a.outputs == b.outputs, f"outputs differ in the cell starting {a.source[:60]!r}"
        assert a.metadata.get("tags", []) == b.metadata.get("tags", [])
    assert "jupytext" not in _read(ROOT / "reader" / "chapters" / chapter.name).metadata


def test_site_url_is_the_repository_pages():
    """html.baseurl, the one place for the site's address, is the GitHub Pages URL of repository.url."""
    owner, name = CONFIG["repository"]["url"].removeprefix("https://github.com/").strip("/").split("/")
    assert CONFIG["html"]["baseurl"] == f"https://{owner.lower()}.github.io/{name}/"
    assert CONFIG["repository"]["path_to_book"] == "reader"


def test_readme_links_to_reader_notebooks_and_site():
    """The README's Colab links open existing reader notebooks of this repository; it names the site."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    owner_repo = CONFIG["repository"]["url"].removeprefix("https://github.com/")
    links = re.findall(r"https://colab\.research\.google\.com/github/[^)\s>]+", readme)
    assert links, "the README has no Colab link"
    prefix = f"https://colab.research.google.com/github/{owner_repo}/blob/{CONFIG['repository']['branch']}/"
    for link in links:
        assert link.startswith(prefix + "reader/chapters/"), link
        assert (ROOT / link.removeprefix(prefix)).exists(), link
    assert CONFIG["html"]["baseurl"] in readme


def _site_equations(page: Path) -> list[tuple[str, str]]:
    """(number, label) of each numbered equation of a built page, in order."""
    html = page.read_text(encoding="utf-8")
    return re.findall(r'<span class="eqno">\((\d+)\)<a class="headerlink" href="#equation-([^"]+)"', html)


@needs_build
@pytest.mark.parametrize("chapter", CHAPTERS, ids=ids)
def test_equation_numbers_match_the_built_site(chapter):
    """Every \\tag{n} is the number the site prints, in the same order, and every {eq} link says it."""
    site = _site_equations(HTML / "chapters" / f"{chapter.stem}.html")
    markdown = "\n".join(_markdown(_read(ROOT / "reader" / "chapters" / chapter.name)))
    tags = re.findall(r"\\tag\{(\d+)\}", markdown)
    assert tags == [n for n, _ in site], f"{chapter.stem}: tags {tags}, site {[n for n, _ in site]}"
    links = re.findall(r"\[\((\d+)\)\]\(" + re.escape(CONFIG["html"]["baseurl"]) + r"([^)#]+)\.html#equation-([^)]+)\)", markdown)
    assert links or not tags, f"{chapter.stem}: numbered equations but no link to one"
    for number, page, label in links:
        numbers = dict((lab, n) for n, lab in _site_equations(HTML / f"{page}.html"))
        assert numbers.get(label) == number, f"({number}) links to {page}#{label}, which the site numbers {numbers.get(label)}"


@needs_build
@pytest.mark.parametrize("chapter", CHAPTERS, ids=ids)
def test_colab_button_opens_the_reader_notebook(chapter):
    owner_repo = CONFIG["repository"]["url"].removeprefix("https://github.com/")
    url = f"https://colab.research.google.com/github/{owner_repo}/blob/{CONFIG['repository']['branch']}/reader/chapters/{chapter.name}"
    assert url in (HTML / "chapters" / f"{chapter.stem}.html").read_text(encoding="utf-8")
    assert (ROOT / "reader" / "chapters" / chapter.name).exists()


def _texts(cell: nbformat.NotebookNode, sanitize: list[tuple[re.Pattern[str], str]]) -> list[str]:
    """What nbval compares, as text: streams, text/plain results and errors, sanitized.

    Consecutive writes to one stream are joined first: how a kernel cuts a stream into messages
    depends on timing (on a busy machine one print's newline can arrive as a message of its own)."""
    out = []
    outputs: list[nbformat.NotebookNode] = []
    for o in cell.outputs:
        if o.output_type == "stream" and outputs and outputs[-1].output_type == "stream" and outputs[-1].name == o.name:
            outputs[-1] = nbformat.from_dict({**outputs[-1], "text": outputs[-1].text + o.text})
        else:
            outputs.append(o)
    for o in outputs:
        if o.output_type == "stream":
            text = o.text
        elif o.output_type in ("execute_result", "display_data"):
            text = o.data.get("text/plain", "") + (" <image/png>" if "image/png" in o.data else "")
        else:
            text = f"{o.ename}: {o.evalue}"
        for pattern, replace in sanitize:
            text = pattern.sub(replace, text)
        out.append(text)
    return out


@pytest.mark.slow
def test_a_reader_notebook_runs_to_the_same_outputs(tmp_path):
    """The fastest chapter's reader notebook, in a fresh kernel in its own folder, prints what the chapter printed."""
    from nbclient import NotebookClient

    path = ROOT / "reader" / "chapters" / "01_rnn.ipynb"
    nb = _read(path)
    NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}).execute()
    cfg = configparser.ConfigParser()
    cfg.read(ROOT / "nbval-sanitize.cfg")
    sanitize = [(re.compile(cfg[s]["regex"]), cfg[s]["replace"]) for s in cfg.sections()]
    expected = [c for c in _read(path).cells if c.cell_type == "code"]
    got = [c for c in nb.cells if c.cell_type == "code"]
    for before, after in zip(expected, got):
        if "nbval-ignore-output" in before.metadata.get("tags", []):
            continue
        assert _texts(after, sanitize) == _texts(before, sanitize), f"cell {before.source[:80]!r}"


# --- The translation itself, on a small book of its own --------------------------------------------

BIB = """@article{elman1990finding, author = {Elman, Jeffrey L.}, title = {Finding Structure in Time},
journal = {Cognitive Science}, year = {1990}}
@inproceedings{cho2014learning, author = {Cho, Kyunghyun and van Merri{\\"e}nboer, Bart and Bengio, Yoshua},
title = {Learning Phrase Representations}, booktitle = {EMNLP}, year = {2014}}
@article{hochreiter1997long, author = {Hochreiter, Sepp and Schmidhuber, J{\\"u}rgen}, title = {Long Short-Term Memory},
journal = {Neural Computation}, year = {1997}}
"""

ONE = """# One

(first-section)=
## First section

```{math}
:label: one-a
a = b
```

Unlabelled:

```{math}
c = d
```

```{math}
v = \\begin{bmatrix} 1 \\\\ 2 \\end{bmatrix}
```

```{math}
:label: one-b
x &= 1 \\\\
y &= 2
```

$$
z = 3
$$ (one-c)
"""

TWO = """# Two

See {eq}`one-b` and {eq}`two-a`, {ref}`first-section`, {ref}`that part <first-section>`,
{doc}`one`, [the first section](first-section) and [page one](one.md).
{cite:t}`elman1990finding` and {cite:p}`cho2014learning,hochreiter1997long`; `{eq}` in code stays.

```{math}
:label: two-a
e = f
```

:::{note}
A colon-fence note with {eq}`two-a`.
:::

```{admonition} Why it works
:class: tip
Because.
```

```{warning}
Careful.
```

```{figure} fig.png
:name: fig-one
:alt: a figure

The caption.
```

```python
print("{eq}`not-a-role`")
```

```{literalinclude} code.py
:pyobject: g
```
"""


def _notebook(markdown: str, code_tags: list[str] | None = None) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.metadata["jupytext"] = {"formats": "ipynb,md:myst"}
    code = nbformat.v4.new_code_cell("print(1)", metadata={"tags": code_tags or []})
    code.outputs = [nbformat.v4.new_output("stream", name="stdout", text="1\n")]
    nb.cells = [nbformat.v4.new_markdown_cell(markdown), code]
    return nb


@pytest.fixture
def small_book(tmp_path: Path) -> Path:
    config = {
        "repository": {"url": "https://github.com/owner/name", "branch": "main", "path_to_book": "reader"},
        "html": {"baseurl": "https://owner.github.io/name/"},
        "bibtex_bibfiles": ["refs.bib"],
    }
    (tmp_path / "_config.yml").write_text(yaml.safe_dump(config))
    toc = {"format": "jb-book", "root": "intro", "chapters": [{"file": "chapters/one"}, {"file": "chapters/two"}, {"file": "bib"}]}
    (tmp_path / "_toc.yml").write_text(yaml.safe_dump(toc))
    (tmp_path / "intro.md").write_text("# Intro\n")
    (tmp_path / "bib.md").write_text("# Bibliography\n\n```{bibliography}\n```\n")
    (tmp_path / "refs.bib").write_text(BIB)
    (tmp_path / "chapters").mkdir()
    shutil.copy(Path(__file__).with_name("test_reader.py"), tmp_path / "chapters" / "fig.png")  # any bytes will do
    (tmp_path / "chapters" / "code.py").write_text("def f():\n    return 1\n\n\ndef g():\n    return 2\n")
    nbformat.write(_notebook(ONE), tmp_path / "chapters" / "one.ipynb")
    nbformat.write(_notebook(TWO, ["hide-input", "solution"]), tmp_path / "chapters" / "two.ipynb")
    return tmp_path


def test_translation_of_each_construct(small_book):
    reader.write_all(small_book / "reader", small_book)
    one, two = (nbformat.read(small_book / "reader" / "chapters" / f"{n}.ipynb", 4) for n in ("one", "two"))
    first, second = one.cells[1].source, two.cells[1].source
    site = "https://owner.github.io/name/"
    # Labelled equations are numbered 1, 2, 3 through the book; the unlabelled one has no number.
    assert "a = b\n\\tag{1}" in first and "c = d\n$$" in first
    assert "\\begin{aligned}\nx &= 1 \\\\\ny &= 2\n\\end{aligned}\n\\tag{2}" in first
    assert "z = 3\n\\tag{3}\n$$" in first and "(one-c)" not in first
    assert "$$\nv = \\begin{bmatrix} 1 \\\\ 2 \\end{bmatrix}\n$$" in first  # a matrix's rows are not lines
    assert "(first-section)=" not in first and "## First section" in first
    # References: numbers and titles, linked to the site.
    assert f"[(2)]({site}chapters/one.html#equation-one-b)" in second
    assert f"[(4)]({site}chapters/two.html#equation-two-a)" in second
    assert f"[First section]({site}chapters/one.html#first-section)" in second
    assert f"[that part]({site}chapters/one.html#first-section)" in second
    assert f"[One]({site}chapters/one.html)" in second
    assert f"[the first section]({site}chapters/one.html#first-section)" in second
    assert f"[page one]({site}chapters/one.html)" in second
    # Citations: the site's author-year labels, linked to its bibliography page.
    assert f'[Elman (1990)]({site}bib.html "Finding Structure in Time")' in second
    assert f'([Cho et al., 2014]({site}bib.html "Learning Phrase Representations"); [Hochreiter and Schmidhuber, 1997]' in second
    assert "`{eq}` in code stays" in second and 'print("{eq}`not-a-role`")' in second
    # Admonitions: quoted blocks with a bold title.
    assert f"> **Note**\n>\n> A colon-fence note with [(4)]({site}chapters/two.html#equation-two-a)." in second
    assert "> **Why it works**\n>\n> Because." in second
    assert "> **Warning**\n>\n> Careful." in second
    assert "```python\ndef g():\n    return 2\n```" in second  # literalinclude: the code itself
    # A local image is embedded, so it shows offline and in Colab.
    assert "![a figure](attachment:fig.png)\n\n*The caption.*" in second
    assert "fig.png" in two.cells[1].attachments
    # Code cells: unchanged, the solution folded in JupyterLab and Colab; no jupytext pairing.
    code = two.cells[2]
    assert code.source == "print(1)" and code.outputs[0].text == "1\n"
    assert code.metadata.jupyter.source_hidden is True and code.metadata.cellView == "form"
    assert "jupyter" not in one.cells[2].metadata
    assert "jupytext" not in two.metadata
    for nb in (one, two):
        for source in _markdown(nb):
            for what, pattern in MYST.items():
                assert not pattern.search(_without_code(source)), what


@pytest.mark.parametrize(
    "markdown, message",
    [
        ("{eq}`nowhere`", "unknown equation label 'nowhere'"),
        ("{cite:t}`nobody2000`", "unknown citation label 'nobody2000'"),
        ("{ref}`nowhere`", "unknown target label 'nowhere'"),
        ("{glossary}`term`", "the role {glossary} has no translation"),
        ("```{tabbed} A\nx\n```", "the directive {tabbed} has no translation"),
        ("[x](nowhere)", "the link target 'nowhere' is neither a URL, a label nor a page"),
    ],
)
def test_unknown_myst_stops_the_generator(small_book, markdown, message):
    """Syntax the generator does not know fails loudly with the page's name, not silently left raw."""
    nbformat.write(_notebook(markdown), small_book / "chapters" / "two.ipynb")
    with pytest.raises(reader.MystError, match=re.escape(f"chapters/two: {message}")):
        reader.write_all(small_book / "reader", small_book)
