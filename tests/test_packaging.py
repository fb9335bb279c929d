"""What a user of the repository or of the wheel gets: `make help`, the wheel's metadata, the
description pip shows, the project URLs, a clean working tree after `pip wheel .`, and Binder's
environment (binder/)."""

from __future__ import annotations

import contextlib
import io
import re
import shutil
import subprocess
import sys
import tomllib
import zipfile
from email.parser import Parser
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
CONFIG = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))
REPOSITORY = CONFIG["repository"]["url"]


def _site_url() -> str:
    """The published site, on GitHub Pages of repository.url: https://OWNER.github.io/REPO/."""
    owner, repo = REPOSITORY.removeprefix("https://github.com/").split("/")
    return f"https://{owner}.github.io/{repo}/"


def _pins(path: Path) -> dict[str, str]:
    """``{normalised name: version}`` of the ``name==version`` lines of a requirements file."""
    pins = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        match = re.match(r"^([A-Za-z0-9_.\-]+)==(\S+)", line.strip())
        if match:
            pins[re.sub(r"[-_.]+", "-", match.group(1)).lower()] = match.group(2)
    return pins


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_make_help_lists_every_target():
    """`make help` is generated from the targets' `## ` comments: every phony target must have one."""
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    phony = re.search(r"^\.PHONY:(.*)$", makefile, flags=re.M).group(1).split()
    assert {"book", "test", "quick", "setup", "help"} <= set(phony)
    shown = subprocess.run(["make", "-s", "--no-print-directory", "help"], cwd=ROOT, check=True,
                           capture_output=True, text=True).stdout
    listed = re.findall(r"^\s*make (\S+)\s+\S", shown, flags=re.M)
    assert sorted(listed) == sorted(phony), f"`make help` lists {listed}; the Makefile's targets are {phony}"


def test_project_urls_point_at_the_site_and_the_repository():
    urls = PYPROJECT["project"]["urls"]
    assert urls["Homepage"] == _site_url()
    assert urls["Documentation"] == _site_url() + "api.html"
    assert urls["Source"] == REPOSITORY
    assert urls["Issues"] == REPOSITORY + "/issues"
    baseurl = CONFIG.get("html", {}).get("baseurl")
    if baseurl:
        assert baseurl.rstrip("/") + "/" == _site_url()


def test_the_description_for_pip_users_is_not_the_readme():
    readme = PYPROJECT["project"]["readme"]
    assert readme != "README.md"
    text = (ROOT / readme).read_text(encoding="utf-8")
    assert "make " not in text, "the description is for `pip install` users: no make targets"
    assert _site_url() in text and REPOSITORY in text


def test_the_description_example_runs_and_prints_what_it_says():
    """The Python example of PYPI.md runs, and its print matches the comment beside it."""
    text = (ROOT / PYPROJECT["project"]["readme"]).read_text(encoding="utf-8")
    code = re.search(r"```python\n(.*?)```", text, flags=re.S).group(1)
    expected = re.findall(r"^print\(.*\)\s+#\s*(.+)$", code, flags=re.M)
    assert expected, "the example should print something and say what"
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code, "PYPI.md", "exec"), {})
    assert out.getvalue().splitlines() == expected


@pytest.mark.slow
def test_the_wheel_carries_the_urls_and_the_description(tmp_path):
    """Build the wheel from a copy of the sources (the checkout stays untouched) and read its METADATA."""
    src = tmp_path / "src"
    shutil.copytree(ROOT / "rnnbook", src / "rnnbook", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ["pyproject.toml", "LICENSE", PYPROJECT["project"]["readme"]]:
        shutil.copy(ROOT / name, src / name)
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
                    "-w", str(tmp_path / "dist"), str(src)], check=True, capture_output=True)
    (wheel,) = (tmp_path / "dist").glob("rnnbook-*.whl")
    with zipfile.ZipFile(wheel) as zf:
        metadata_name = next(n for n in zf.namelist() if n.endswith(".dist-info/METADATA"))
        metadata = Parser().parsestr(zf.read(metadata_name).decode())
        assert "rnnbook/py.typed" in zf.namelist()
    urls = dict(u.split(", ", 1) for u in metadata.get_all("Project-URL"))
    assert urls == PYPROJECT["project"]["urls"]
    assert metadata["Description-Content-Type"] == "text/markdown"
    assert metadata.get_payload().strip() == (ROOT / PYPROJECT["project"]["readme"]).read_text(encoding="utf-8").strip()


@pytest.mark.skipif(shutil.which("git") is None or not (ROOT / ".git").exists(), reason="not a git checkout")
def test_pip_wheel_leaves_nothing_untracked():
    """`pip wheel .` writes build/ (setuptools) and the wheel into the checkout: both are ignored."""
    for path in ["build/lib/rnnbook/__init__.py", "rnnbook-0.1.0-py3-none-any.whl", "rnnbook.egg-info/PKG-INFO"]:
        ignored = subprocess.run(["git", "check-ignore", "-q", path], cwd=ROOT)
        assert ignored.returncode == 0, f"{path} would show up as untracked after `pip wheel .`"


def test_binder_installs_rnnbook_with_the_pinned_cpu_torch():
    """binder/ (repo2docker) installs rnnbook and CPU torch at the versions the book is tested with."""
    requirements = (ROOT / "binder" / "requirements.txt").read_text(encoding="utf-8")
    lines = [line.strip() for line in requirements.splitlines() if line.strip() and not line.startswith("#")]
    assert "-e ." in lines, "Binder must install rnnbook from the repository"
    assert "--extra-index-url https://download.pytorch.org/whl/cpu" in lines
    binder, tested = _pins(ROOT / "binder" / "requirements.txt"), _pins(ROOT / "requirements.txt")
    tested |= _pins(ROOT / "requirements-book.txt")
    assert {"torch", "numpy", "matplotlib"} <= set(binder)
    assert {name: tested.get(name) for name in binder} == binder
    runtime = (ROOT / "binder" / "runtime.txt").read_text(encoding="utf-8").strip()
    minimum = PYPROJECT["project"]["requires-python"].removeprefix(">=")
    assert re.fullmatch(r"python-3\.\d+", runtime)
    assert tuple(map(int, runtime.removeprefix("python-").split("."))) >= tuple(map(int, minimum.split(".")))
    assert CONFIG["launch_buttons"].get("binderhub_url"), "the Binder button is configured"
