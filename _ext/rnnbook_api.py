"""Sphinx helpers for the API reference (api.md), so that it builds with or without torch.

`make book` builds the site in an environment without torch (requirements-book.txt): the site is
made from the committed notebooks and executes nothing, so it must not pull in gigabytes of
torch. Where torch is missing, autodoc mocks it; where it is installed (`make test`), the real
torch is imported, so the page shows its types exactly.

A class that derives from a mocked ``torch.nn.Module`` inherits the mock's ``__new__(*args,
**kwargs)``, which autodoc would show as its signature; ``_signature_from_init`` shows the
class's own ``__init__`` instead, as autodoc does when torch is real.
"""

from __future__ import annotations

import importlib.util
from typing import Any

from sphinx.application import Sphinx
from sphinx.config import Config
from sphinx.ext.autodoc.mock import _MockObject
from sphinx.util.inspect import signature, stringify_signature


def _mock_torch_if_missing(app: Sphinx, config: Config) -> None:
    if importlib.util.find_spec("torch") is None:
        config.autodoc_mock_imports = [*config.autodoc_mock_imports, "torch"]


def _signature_from_init(app: Sphinx, what: str, name: str, obj: Any, options: Any,
                         sig: str | None, return_annotation: str | None) -> tuple[str, str] | None:
    if what != "class" or not (isinstance(obj, type) and issubclass(obj, _MockObject)):
        return None
    init = next(vars(cls)["__init__"] for cls in obj.__mro__ if "__init__" in vars(cls))
    text = stringify_signature(signature(init, bound_method=True), show_return_annotation=False,
                               unqualified_typehints=True)
    return text, ""


def setup(app: Sphinx) -> dict[str, Any]:
    app.connect("config-inited", _mock_torch_if_missing)
    app.connect("autodoc-process-signature", _signature_from_init)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
