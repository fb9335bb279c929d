"""The API reference (api.md): every public module and every public name of rnnbook is on it.

A module is public if no part of its dotted name starts with an underscore. Its public names are
its ``__all__`` if it sets one, else the functions, classes and variables it defines at top level
(not what it imports) whose names do not start with an underscore. A name that a package
re-exports in its ``__all__`` is documented there only (``rnnbook.numpy.RNN``, not
``rnnbook.numpy.rnn.RNN``). Autodoc leaves out a name without a docstring (or a ``#:`` comment
for a variable), so an undocumented name fails here too.

The source checks always run; the check of the built page needs a build (`make test` builds the
book first) and is skipped without one, like tests/test_book.py.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "rnnbook"
PAGE = ROOT / "api.md"
HTML = ROOT / "_build" / "html" / "api.html"
AUTOMODULE = re.compile(r"^\.\. automodule:: (\S+)\s*$", flags=re.M)


def public_modules() -> list[str]:
    """Dotted names of rnnbook's public modules and packages, found on disk (nothing is imported)."""
    names = []
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        if not any(part.startswith("_") for part in parts):
            names.append(".".join(parts))
    return names


def _tree(module: str) -> ast.Module:
    path = ROOT.joinpath(*module.split("."))
    path = path / "__init__.py" if path.is_dir() else path.with_suffix(".py")
    return ast.parse(path.read_text(encoding="utf-8"))


def _dunder_all(module: str) -> list[str] | None:
    for node in _tree(module).body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "__all__" for t in node.targets):
            return list(ast.literal_eval(node.value))
    return None


def public_names(module: str) -> list[str]:
    """The public names of ``module``, read from its source."""
    exported = _dunder_all(module)
    if exported is not None:
        return exported
    names = []
    for node in _tree(module).body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.append(node.name)
        elif isinstance(node, ast.Assign):
            names += [t.id for t in node.targets if isinstance(t, ast.Name)]
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.append(node.target.id)
    return [name for name in names if not name.startswith("_")]


def expected_entries() -> list[str]:
    """The HTML ids the page must have: ``module-<module>`` for each module, and each name's path."""
    modules = public_modules()
    ids = [f"module-{module}" for module in modules]
    for module in modules:
        parent = module.rpartition(".")[0]
        reexported = (_dunder_all(parent) or []) if parent in modules else []
        own_all = _dunder_all(module) is not None
        ids += [f"{module}.{name}" for name in public_names(module) if own_all or name not in reexported]
    return ids


def test_the_discovery_of_public_names():
    """The rules above, on names known to be (or not be) public: a test of the test."""
    modules = public_modules()
    assert {"rnnbook", "rnnbook.numpy", "rnnbook.numpy.rnn", "rnnbook.torch.layer", "rnnbook.plot"} <= set(modules)
    entries = set(expected_entries())
    assert {"rnnbook.numpy.RNN", "rnnbook.torch.GRU", "rnnbook.numpy.lstm_step_backward",
            "rnnbook.data.ADDING_BASELINE_MSE", "rnnbook.plot.BOOK_STYLE", "rnnbook.numpy.rnn.StepCache",
            "rnnbook.numpy.layer.RecurrentLayer", "rnnbook.checks.StateDictError"} <= entries
    assert not {"rnnbook.numpy.rnn.RNN",            # documented as rnnbook.numpy.RNN
                "rnnbook.data.check_int",            # imported from rnnbook.checks
                "rnnbook.torch.require_torch",       # imported, not in rnnbook.torch.__all__
                "rnnbook.__version__"} & entries
    assert len(entries) > 100, len(entries)


def test_every_public_module_is_on_the_page():
    """api.md has one ``.. automodule::`` line per public module, and none for a module that is gone."""
    on_page = AUTOMODULE.findall(PAGE.read_text(encoding="utf-8"))
    assert sorted(set(on_page)) == sorted(on_page), "a module is on the page twice"
    missing = sorted(set(public_modules()) - set(on_page))
    assert not missing, f"add a line `.. automodule:: <module>` to api.md for each of {missing}"
    stale = sorted(set(on_page) - set(public_modules()))
    assert not stale, f"api.md documents modules that do not exist: {stale}"


def test_the_page_is_in_the_table_of_contents():
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf-8"))
    files = [entry["file"] for part in toc["parts"] for entry in part["chapters"]]
    assert "api" in files


@pytest.mark.skipif(not HTML.exists(), reason="no book build (run `make book`)")
def test_every_public_module_and_name_is_documented_on_the_built_page():
    """Each expected entry is an anchor on _build/html/api.html: autodoc found it and its docstring."""
    ids = set(re.findall(r'\bid="([^"]+)"', HTML.read_text(encoding="utf-8")))
    missing = [entry for entry in expected_entries() if entry not in ids]
    assert not missing, (f"not on the API page: {missing} (give each a docstring, or a `#:` comment "
                         "above a variable, and list new modules in api.md)")
