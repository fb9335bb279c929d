"""Two fixes to the built site, loaded by _config.yml (``sphinx.local_extensions``).

MathJax from the site itself
    The maths must render without a network (issue 15: from a CDN, a local build showed raw TeX).
    MathJax 3's browser build comes from PyPI, pinned in requirements.txt
    (``django-static-mathjax``, which ships MathJax's ``es5/`` folder as package data; it needs
    no Django). After a successful HTML build its ``es5/`` files are copied to
    ``_static/mathjax/``, where ``mathjax_path`` in _config.yml points.

No Thebe
    Jupyter Book always loads sphinx-thebe. Its inline script ``const THEBE_JS_URL = ...`` is
    registered after the HTML builder has started; Sphinx 7.4 then adds it to each page a second
    time (``prepare_writing`` re-adds late assets with filename ``''`` where the first copy had
    ``None``, so the duplicate check misses it), and the browser stops at ``SyntaxError:
    Identifier 'THEBE_JS_URL' has already been declared``. The book has no Thebe launch button
    (``launch_buttons`` in _config.yml sets no ``thebe``), so when Thebe is off sphinx-thebe's
    handlers are disconnected before they add anything to the pages.
"""

from __future__ import annotations

from pathlib import Path

from sphinx.application import Sphinx
from sphinx.util.fileutil import copy_asset

# What MathJax's tex-mml-chtml component loads: itself, then on demand TeX extensions, the CHTML
# fonts, and the menu's accessibility and output options.
MATHJAX_FILES = ["tex-mml-chtml.js", "input", "output", "a11y", "ui", "sre", "adaptors"]


def mathjax_source() -> Path:
    """The ``es5/`` folder of the installed MathJax package."""
    import mathjax  # django-static-mathjax

    return Path(mathjax.__file__).parent / "static" / "mathjax" / "es5"


def copy_mathjax(app: Sphinx, exception: Exception | None) -> None:
    if exception is not None or app.builder.format != "html":
        return
    source, target = mathjax_source(), Path(app.outdir) / "_static" / "mathjax"
    for name in MATHJAX_FILES:
        if (source / name).is_dir():
            copy_asset(str(source / name), str(target / name))
        else:
            copy_asset(str(source / name), str(target))
    copy_asset(str(source.parent / "LICENSE"), str(target))


def thebe_off(app: Sphinx) -> None:
    if app.config.html_theme_options.get("launch_buttons", {}).get("thebe"):
        return
    for listeners in list(app.events.listeners.values()):
        for listener in list(listeners):
            if getattr(listener.handler, "__module__", "") == "sphinx_thebe":
                app.disconnect(listener.id)


def setup(app: Sphinx) -> dict:
    app.connect("builder-inited", thebe_off)
    app.connect("build-finished", copy_mathjax)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
