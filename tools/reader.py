"""Reader notebooks: each chapter's .ipynb with its MyST translated into what Jupyter and Colab render.

The chapters are written in MyST for the site: labelled ``{math}`` directives, ``{eq}`` and
``{cite}`` roles, admonitions, ``(label)=`` targets. Jupyter and Colab show those as raw text. This
script writes ``reader/chapters/<name>.ipynb`` for every ``chapters/<name>.ipynb``, with

- labelled equations as display maths ending in ``\\tag{n}``, n being the number the site shows
  (the book's labelled equations are numbered 1, 2, ... across its pages, in the toc's order);
- ``{eq}`` references as that number, linked to the equation on the site;
- citations as "Author (year)" or "(Author, year)", linked to the site's bibliography page;
- admonitions as quoted blocks with a bold title; targets dropped, references as site links;
- figures and images as Markdown images (local files embedded as cell attachments);
- code cells, their outputs and tags exactly as in the chapter's notebook, whose outputs nbval
  verifies; cells tagged ``hide-input`` collapsed in JupyterLab and Colab.

The published site's address is ``html.baseurl`` in _config.yml. Anything MyST that this script does
not know stops it with an error naming the page, rather than leaving raw syntax for the reader.

Usage: ``python tools/reader.py [--out DIR]`` (``make reader``; ``make outputs`` runs it last).
"""

from __future__ import annotations

import argparse
import ast
import base64
import codecs
import copy
import mimetypes
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import latexcodec  # noqa: F401  (registers the "ulatex" codec used for author names)
import nbformat
import yaml
from pybtex.database import parse_file

ROOT = Path(__file__).resolve().parents[1]
READER = "reader"

ADMONITIONS = {
    "admonition": "",
    "attention": "Attention",
    "caution": "Caution",
    "danger": "Danger",
    "error": "Error",
    "hint": "Hint",
    "important": "Important",
    "note": "Note",
    "seealso": "See also",
    "tip": "Tip",
    "warning": "Warning",
    "dropdown": "",
    "margin": "",
    "sidebar": "",
    "epigraph": "",
    "pull-quote": "",
    "topic": "",
}
CODE_DIRECTIVES = {"code", "code-block", "sourcecode"}

# A directive's opening fence: ```{name} argument or :::{name} argument (any indent, 3+ fence chars).
DIRECTIVE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|:{3,})\{(?P<name>[\w:-]+)\}[ \t]*(?P<arg>.*?)\s*$")
PLAIN_FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})(?P<info>[^`{]*)$")
TARGET = re.compile(r"^\((?P<label>[^()\s]+)\)=\s*$")
HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
OPTION = re.compile(r"^:(?P<key>[\w-]+):(?:\s+(?P<value>.*?))?\s*$")
# Inline: a role with its argument, a code span (left as it is), or a Markdown link/image.
INLINE = re.compile(
    r"\{(?P<role>[A-Za-z][\w:-]*)\}`(?P<content>[^`]*)`"
    r"|(?P<code>(?P<ticks>`+).+?(?P=ticks))"
    r"|(?P<bang>!?)\[(?P<text>[^\]]*)\]\((?P<dest>[^)\s]+)(?P<title>\s+\"[^\"]*\")?\)",
    re.DOTALL,
)
LABELLED_DOLLARMATH = re.compile(r"\$\$(?P<body>.+?)\$\$[ \t]*\((?P<label>[^()\s]+)\)", re.DOTALL)
EXPLICIT = re.compile(r"^(?P<text>.*?)\s*<(?P<target>[^<>]+)>$", re.DOTALL)


class MystError(ValueError):
    """MyST that the generator does not translate (or a reference it cannot resolve)."""


@dataclass
class Citation:
    author: str  # as the site's author_year style writes it: "Elman", "Cho and Bengio", "Cho et al."
    year: str
    title: str


@dataclass
class Book:
    """What the translation needs to know about the whole book."""

    baseurl: str
    bibliography: str  # docname of the page with the {bibliography} directive
    titles: dict[str, str] = field(default_factory=dict)  # docname -> first heading
    equations: dict[str, tuple[str, int]] = field(default_factory=dict)  # label -> (docname, number)
    targets: dict[str, tuple[str, str]] = field(default_factory=dict)  # label -> (docname, title)
    citations: dict[str, Citation] = field(default_factory=dict)

    def url(self, docname: str, anchor: str = "") -> str:
        return f"{self.baseurl}{docname}.html" + (f"#{anchor}" if anchor else "")


# ---------------------------------------------------------------------------------------------
# Reading the book: its configuration, pages, labels and bibliography.


def config(root: Path = ROOT) -> dict[str, Any]:
    return yaml.safe_load((root / "_config.yml").read_text(encoding="utf-8"))


def site_url(root: Path = ROOT) -> str:
    """The published site's base URL, ``html.baseurl`` in _config.yml, ending in a slash."""
    url = (config(root).get("html") or {}).get("baseurl")
    if not url:
        raise MystError("_config.yml has no html.baseurl (the published site's address)")
    return url.rstrip("/") + "/"


def toc_docnames(root: Path = ROOT) -> list[str]:
    """Every page of _toc.yml, in reading order."""
    toc = yaml.safe_load((root / "_toc.yml").read_text(encoding="utf-8"))
    names: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key in ("root", "file"):
                if key in node:
                    names.append(str(node[key]).removesuffix(".md").removesuffix(".ipynb"))
            for value in node.values():
                if isinstance(value, (list, dict)):
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(toc)
    return names


def page_markdown(root: Path, docname: str) -> list[str]:
    """A page's Markdown: the markdown cells of its notebook, or its .md without front matter."""
    notebook = root / f"{docname}.ipynb"
    if notebook.exists():
        nb = nbformat.read(notebook, as_version=4)
        return [cell.source for cell in nb.cells if cell.cell_type == "markdown"]
    text = (root / f"{docname}.md").read_text(encoding="utf-8")
    if text.startswith("---\n"):
        text = text.split("\n---\n", 1)[1]
    return [text]


def _author(names: list[Any]) -> str:
    last = [_plain(" ".join(p.prelast_names + p.last_names)) for p in names]
    if len(last) == 1:
        return last[0]
    if len(last) == 2:
        return f"{last[0]} and {last[1]}"
    return f"{last[0]} et al."


def _plain(latex: str) -> str:
    """LaTeX from a .bib field as plain Unicode: accents decoded, braces dropped."""
    return re.sub(r"\s+", " ", codecs.decode(latex, "ulatex").replace("{", "").replace("}", "")).strip()


def citations(bibfile: Path) -> dict[str, Citation]:
    """Every entry of ``bibfile`` as the author-year label the site prints."""
    entries = parse_file(str(bibfile), bib_format="bibtex").entries
    out = {}
    for key, entry in entries.items():
        people = entry.persons.get("author") or entry.persons.get("editor")
        if not people:
            raise MystError(f"{bibfile.name}: {key} has no author or editor")
        out[key] = Citation(_author(people), entry.fields.get("year", "n.d."), _plain(entry.fields.get("title", "")))
    return out


def read_book(root: Path = ROOT) -> Book:
    """Number every labelled equation and find every target, page by page, as Sphinx does."""
    cfg = config(root)
    docnames = toc_docnames(root)
    pages = {name: page_markdown(root, name) for name in docnames}
    bibliography = [n for n, cells in pages.items() if any("{bibliography}" in c for c in cells)]
    if len(bibliography) != 1:
        raise MystError(f"expected one page with a {{bibliography}} directive in _toc.yml, found {bibliography}")
    book = Book(baseurl=site_url(root), bibliography=bibliography[0])
    for bibfile in cfg.get("bibtex_bibfiles", []):
        book.citations.update(citations(root / bibfile))
    # Jupyter Book turns on numfig and math_numfig; with no numbered toctree, Sphinx then counts the
    # labelled equations of the whole book with one counter, page after page in the toc's order.
    toc = yaml.safe_load((root / "_toc.yml").read_text(encoding="utf-8"))
    if "numbered" in str(toc):
        raise MystError("_toc.yml numbers its sections: equation numbers would be per section, which tools/reader.py does not do")
    number = 0
    for docname, cells in pages.items():
        for source in cells:
            heading = next((HEADING.match(line) for line in source.splitlines() if HEADING.match(line)), None)
            if heading and docname not in book.titles:
                book.titles[docname] = _strip_inline(heading.group(2))
            for kind, label, title in _labels(source):
                if kind == "equation":
                    number += 1
                    _register(book.equations, label, (docname, number), docname)
                else:
                    _register(book.targets, label, (docname, title or label), docname)
    return book


def _register(table: dict[str, Any], label: str, value: Any, docname: str) -> None:
    if label in table:
        raise MystError(f"{docname}: label {label!r} is defined twice (also in {table[label][0]})")
    table[label] = value


def _labels(source: str) -> Iterator[tuple[str, str, str]]:
    """("equation", label, "") and ("target", label, title) in document order."""
    for block in _blocks(source.splitlines()):
        if block[0] == "text":
            lines = block[1]
            for m in LABELLED_DOLLARMATH.finditer("\n".join(lines)):
                yield "equation", m.group("label"), ""
            for i, line in enumerate(lines):
                target = TARGET.match(line)
                if target:
                    following = next((x for x in lines[i + 1 :] if x.strip()), "")
                    heading = HEADING.match(following)
                    yield "target", target.group("label"), _strip_inline(heading.group(2)) if heading else ""
        elif block[0] == "directive":
            _, name, arg, options, body = block
            if name == "math" and "label" in options:
                yield "equation", options["label"], ""
            elif "name" in options:
                caption = " ".join(body).strip() if name == "figure" else ""
                yield "target", options["name"], _strip_inline(caption.split("\n")[0]) or arg
            if name in ADMONITIONS:
                yield from _labels("\n".join(body))


def _top_level_break(tex: str) -> bool:
    """Whether ``tex`` has a line break ``\\\\`` outside every environment (a matrix's rows do not count)."""
    inner = re.compile(r"\\begin\{(\w+\*?)\}(?:(?!\\begin\{).)*?\\end\{\1\}", re.S)
    while (stripped := inner.sub("", tex)) != tex:
        tex = stripped
    return "\\\\" in tex


def _strip_inline(text: str) -> str:
    """A heading as plain text (for link texts): roles and emphasis markers dropped."""
    text = re.sub(r"\{[\w:-]+\}`([^`]*)`", r"\1", text)
    return text.replace("*", "").replace("`", "").strip()


# ---------------------------------------------------------------------------------------------
# Splitting Markdown into text, plain code fences and directives.

Block = tuple[Any, ...]


def _blocks(lines: list[str]) -> Iterator[Block]:
    """("text", lines) | ("fence", lines) | ("directive", name, arg, options, body lines)."""
    text: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        directive = DIRECTIVE.match(line)
        plain = PLAIN_FENCE.match(line)
        if not directive and not plain:
            text.append(line)
            i += 1
            continue
        if text:
            yield ("text", text)
            text = []
        m = directive or plain
        assert m is not None
        fence = m.group("fence")
        close = re.compile(rf"^[ \t]*{re.escape(fence[0])}{{{len(fence)},}}\s*$")
        j = next((k for k in range(i + 1, len(lines)) if close.match(lines[k])), len(lines))
        if directive:
            indent = len(directive.group("indent"))
            body = [x[indent:] if x[:indent].strip() == "" else x for x in lines[i + 1 : j]]
            options, body = _options(body)
            yield ("directive", directive.group("name"), directive.group("arg"), options, body)
        else:
            yield ("fence", lines[i : j + 1])
        i = j + 1
    if text:
        yield ("text", text)


def _options(body: list[str]) -> tuple[dict[str, str], list[str]]:
    """A directive's options, as `:key: value` lines or a YAML block, and the rest of its body."""
    if body and body[0].strip() == "---":
        end = next((k for k in range(1, len(body)) if body[k].strip() == "---"), None)
        if end is not None:
            data = yaml.safe_load("\n".join(body[1:end])) or {}
            return {str(k): str(v) for k, v in data.items()}, body[end + 1 :]
    options = {}
    k = 0
    while k < len(body) and (m := OPTION.match(body[k])):
        options[m.group("key")] = m.group("value") or ""
        k += 1
    return options, body[k:]


# ---------------------------------------------------------------------------------------------
# Translating one page.


@dataclass
class Page:
    book: Book
    docname: str
    root: Path
    attachments: dict[str, dict[str, str]] = field(default_factory=dict)

    @property
    def folder(self) -> Path:
        return (self.root / self.docname).parent

    def fail(self, what: str) -> MystError:
        return MystError(f"{self.docname}: {what}")

    # -- blocks --

    def translate(self, source: str) -> str:
        out: list[str] = []
        for block in _blocks(source.splitlines()):
            if block[0] == "text":
                out.append(self.text("\n".join(block[1])))
            elif block[0] == "fence":
                out.append("\n".join(block[1]))
            else:
                out.append(self.directive(*block[1:]))
        return "\n".join(out)

    def directive(self, name: str, arg: str, options: dict[str, str], body: list[str]) -> str:
        if name == "math":
            return self.math("\n".join(body), options.get("label"))
        if name in ADMONITIONS:
            title = arg if name in ("admonition", "dropdown", "sidebar", "topic") else ADMONITIONS[name]
            if arg and name not in ("admonition", "dropdown", "sidebar", "topic"):
                body = [arg, *body]  # a typed admonition's "argument" is the start of its text
            inner = self.translate("\n".join(body)).strip("\n")
            head = [f"**{self.text(title)}**", ""] if title else []
            return "\n".join(f"> {x}".rstrip() for x in [*head, *inner.splitlines()])
        if name in CODE_DIRECTIVES:
            return "\n".join([f"```{arg}", *body, "```"])
        if name == "literalinclude":
            return self.literalinclude(arg, options)
        if name in ("figure", "image"):
            alt = options.get("alt", "")
            image = self.image(alt, arg)
            caption = self.text("\n".join(body)).strip()
            return image + (f"\n\n*{caption}*" if caption else "")
        if name == "bibliography":
            return f"[The bibliography]({self.book.url(self.book.bibliography)})"
        raise self.fail(f"the directive {{{name}}} has no translation in tools/reader.py")

    def math(self, body: str, label: str | None) -> str:
        parts = [p.strip() for p in re.split(r"\n\s*\n", body.strip()) if p.strip()]
        if not parts:
            raise self.fail(f"an empty {{math}} directive (label {label!r})")
        # As Sphinx does: parts separated by blank lines are rows, a part with \\ is a multi-line one.
        wrapped = [f"\\begin{{aligned}}\n{p}\n\\end{{aligned}}" if _top_level_break(p) else p for p in parts]
        tex = wrapped[0] if len(wrapped) == 1 else "\\begin{gathered}\n" + " \\\\\n".join(wrapped) + "\n\\end{gathered}"
        if label:
            tex += f"\n\\tag{{{self.book.equations[label][1]}}}"
        return f"\n$$\n{tex}\n$$\n"

    def literalinclude(self, arg: str, options: dict[str, str]) -> str:
        path = (self.root / arg.lstrip("/")) if arg.startswith("/") else (self.folder / arg)
        code = path.read_text(encoding="utf-8")
        for key in options:
            if key not in ("language", "lines", "pyobject", "start-after", "end-before", "caption", "name"):
                raise self.fail(f"literalinclude option :{key}: has no translation")
        if "pyobject" in options:
            tree = ast.parse(code)
            defs = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
            name = options["pyobject"].split(".")[-1]
            node = next((n for n in ast.walk(tree) if isinstance(n, defs) and n.name == name), None)
            if node is None:
                raise self.fail(f"literalinclude: {options['pyobject']} not found in {arg}")
            start = min([node.lineno, *(d.lineno for d in node.decorator_list)])
            code = "\n".join(code.splitlines()[start - 1 : node.end_lineno])
        if "start-after" in options:
            code = code.split(options["start-after"], 1)[1].split("\n", 1)[1]
        if "end-before" in options:
            code = code.split(options["end-before"], 1)[0].rsplit("\n", 1)[0]
        if "lines" in options:
            lines = code.splitlines()
            keep: list[str] = []
            for part in options["lines"].split(","):
                a, _, b = part.strip().partition("-")
                keep += lines[int(a) - 1 : int(b) if b else int(a)]
            code = "\n".join(keep)
        return "\n".join([f"```{options.get('language', 'python')}", code.rstrip("\n"), "```"])

    # -- inline --

    def text(self, text: str) -> str:
        kept = [line for line in text.split("\n") if not TARGET.match(line) and not line.startswith("%")]
        text = "\n".join(kept)
        text = LABELLED_DOLLARMATH.sub(
            lambda m: f"$${m.group('body').rstrip()}\n\\tag{{{self.book.equations[m.group('label')][1]}}}\n$$", text
        )
        return INLINE.sub(self.inline, text)

    def inline(self, m: re.Match[str]) -> str:
        if m.group("code"):
            return m.group(0)
        if m.group("dest") is not None:
            return self.link(m)
        role, content = m.group("role"), m.group("content")
        explicit = EXPLICIT.match(content)
        text, target = (explicit.group("text"), explicit.group("target")) if explicit else ("", content)
        if role == "eq":
            docname, number = self._lookup(self.book.equations, target, "equation")
            return f"[({number})]({self.book.url(docname, 'equation-' + target)})"
        if role.startswith("cite"):
            return self.cite(role, content)
        if role in ("ref", "numref"):
            docname, title = self._lookup(self.book.targets, target, "target")
            text = re.sub(r"%s|\{number\}|\{name\}", "", text).strip() if text else title
            return f"[{text}]({self.book.url(docname, target)})"
        if role == "doc":
            docname = self._docname(target)
            return f"[{text or self.book.titles.get(docname, docname)}]({self.book.url(docname)})"
        if role == "math":
            return f"${content}$"
        if role in ("sub", "sup", "kbd"):
            return f"<{role}>{content}</{role}>"
        if role == "abbr":
            return re.sub(r"\s*\(.*\)$", "", content)
        if role in ("code", "literal", "file", "samp", "command", "program"):
            return f"`{content}`"
        raise self.fail(f"the role {{{role}}} has no translation in tools/reader.py")

    def _lookup(self, table: dict[str, Any], label: str, kind: str) -> Any:
        if label not in table:
            raise self.fail(f"unknown {kind} label {label!r}")
        return table[label]

    def _docname(self, target: str) -> str:
        target = target.removesuffix(".md").removesuffix(".ipynb")
        if target.startswith("/"):
            return target.lstrip("/")
        return (self.folder / target).resolve().relative_to(self.root.resolve()).as_posix()

    def cite(self, role: str, content: str) -> str:
        keys = [k.strip() for k in content.split(",") if k.strip()]
        style = role.partition(":")[2] or "p"
        if style not in ("p", "t", "ps", "ts"):
            raise self.fail(f"the citation role {{{role}}} has no translation in tools/reader.py")
        url = self.book.url(self.book.bibliography)
        links = []
        for key in keys:
            c = self._lookup(self.book.citations, key, "citation")
            text = f"{c.author} ({c.year})" if style.startswith("t") else f"{c.author}, {c.year}"
            title = c.title.replace('"', "'")
            links.append(f'[{text}]({url} "{title}")')
        return ", ".join(links) if style.startswith("t") else "(" + "; ".join(links) + ")"

    def link(self, m: re.Match[str]) -> str:
        bang, text, dest = m.group("bang"), self.text(m.group("text")), m.group("dest")
        title = m.group("title") or ""
        if bang:
            return self.image(text, dest)
        if re.match(r"^[a-z][\w+.-]*:", dest):  # http:, https:, mailto:, ...
            return m.group(0)
        path, _, anchor = dest.partition("#")
        if not path:  # #anchor on this page
            return f"[{text}]({self._anchor_url(self.docname, anchor)}{title})"
        if path in self.book.targets:  # [text](label): a MyST target
            docname, _ = self.book.targets[path]
            return f"[{text}]({self.book.url(docname, path)}{title})"
        if path.endswith((".md", ".ipynb")):
            return f"[{text}]({self._anchor_url(self._docname(path), anchor)}{title})"
        raise self.fail(f"the link target {dest!r} is neither a URL, a label nor a page")

    def _anchor_url(self, docname: str, anchor: str) -> str:
        if anchor in self.book.equations:
            return self.book.url(self.book.equations[anchor][0], "equation-" + anchor)
        if anchor in self.book.targets:
            return self.book.url(self.book.targets[anchor][0], anchor)
        return self.book.url(docname, anchor)

    def image(self, alt: str, src: str) -> str:
        """Remote images stay links; a local file is embedded as a cell attachment (works offline and in Colab)."""
        if re.match(r"^[a-z][\w+.-]*:", src):
            return f"![{alt}]({src})"
        path = (self.root / src.lstrip("/")) if src.startswith("/") else (self.folder / src)
        if not path.is_file():
            raise self.fail(f"image {src!r} not found")
        mime = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        self.attachments[path.name] = {mime: base64.b64encode(path.read_bytes()).decode("ascii")}
        return f"![{alt}](attachment:{path.name})"


# ---------------------------------------------------------------------------------------------
# Writing the reader notebooks.


def reader_notebook(chapter: Path, book: Book, root: Path = ROOT) -> nbformat.NotebookNode:
    """``chapter`` (a chapters/*.ipynb) with its Markdown translated; code cells and outputs unchanged."""
    nb = nbformat.read(chapter, as_version=4)
    docname = chapter.resolve().relative_to(root.resolve()).with_suffix("").as_posix()
    out = copy.deepcopy(nb)
    out.metadata.pop("jupytext", None)  # else jupytext would pair the copy with a .md of its own
    cells = []
    for cell in out.cells:
        if cell.cell_type == "markdown":
            page = Page(book, docname, root)
            cell.source = _tidy(page.translate(cell.source))
            cell.pop("attachments", None)
            if page.attachments:
                cell.attachments = page.attachments
        elif cell.cell_type == "code":
            tags = cell.metadata.get("tags", [])
            if "hide-input" in tags or "hide-cell" in tags:
                cell.metadata.setdefault("jupyter", {})["source_hidden"] = True
                cell.metadata["cellView"] = "form"  # Colab: the code folded behind "Show code"
            if "hide-output" in tags or "hide-cell" in tags:
                cell.metadata.setdefault("jupyter", {})["outputs_hidden"] = True
        cells.append(cell)
    colab = (
        f"https://colab.research.google.com/github/{_owner_repo(root)}/blob/"
        f"{config(root)['repository']['branch']}/{READER}/{docname}.ipynb"
    )
    header = nbformat.v4.new_markdown_cell(
        f"*[rnnbook]({book.baseurl}): this notebook is the page [{book.titles.get(docname, docname)}]"
        f"({book.url(docname)}) for Jupyter and [Colab]({colab}), generated from `{docname}.ipynb` by "
        "`make reader`. Equation numbers, references and citations link to the site.*",
        id="reader-header",
    )
    out.cells = [header, *cells]
    return out


def _owner_repo(root: Path) -> str:
    return str(config(root)["repository"]["url"]).removeprefix("https://github.com/").strip("/")


def _tidy(markdown: str) -> str:
    """At most one blank line in a row, none at the ends."""
    return re.sub(r"\n{3,}", "\n\n", markdown).strip("\n")


def chapters(root: Path = ROOT) -> list[Path]:
    return sorted((root / "chapters").glob("*.ipynb"))


def write_all(out_dir: Path, root: Path = ROOT) -> list[Path]:
    """Write every reader notebook under ``out_dir`` (reader/chapters/<name>.ipynb); return their paths."""
    book = read_book(root)
    written = []
    for chapter in chapters(root):
        target = out_dir / chapter.resolve().relative_to(root.resolve())
        target.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(reader_notebook(chapter, book, root), target)
        written.append(target)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / READER, help="where to write (default: reader/)")
    args = parser.parse_args(argv)
    try:
        for path in write_all(args.out):
            print(f"wrote {path.relative_to(args.out.parent) if path.is_relative_to(args.out.parent) else path}")
    except MystError as error:
        print(f"tools/reader.py: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
