"""The project installs where there is no C compiler, as on a slim Python image: the
build leaves the name scorer as Python by itself (setup.py; docs/screening.md,
"Compiled scoring").

The install goes into a fresh virtual environment that sees the project's own
packages through a ``.pth`` file, so that nothing is downloaded (``--no-index``,
``--no-deps``, ``--no-build-isolation``); it builds from a copy of the tree, since
pip builds a local directory in place and would write there.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from ledger.screening import score_names

ROOT = Path(__file__).resolve().parent.parent
PAIR = ("Ismail Haniyeh", "HANIYA, Ismail Abdul Salah")

# Run in the new environment: which scorer it loads, and what it answers.
REPORT = """
import json, sys, warnings
warnings.simplefilter("error")
import ledger.screening
from ledger.screening import SCORING_COMPILED, score_names, scoring
print(json.dumps({
    "package": ledger.screening.__file__,
    "scoring": scoring.__file__,
    "compiled": SCORING_COMPILED,
    "score": score_names(*sys.argv[1:]),
}))
"""


def copy_tree(target: Path) -> Path:
    """The files git would commit (tracked, and new ones not ignored) as they are in
    the working tree: no build product of this checkout comes along."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.decode()
    for name in filter(None, listed.split("\0")):
        if (ROOT / name).is_file():  # not deleted in the working tree
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, target / name)
    return target


def new_venv(where: Path) -> Path:
    """A fresh virtual environment, its Python; the packages of the one running the
    tests (pip, setuptools, the project's dependencies) come after its own."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(where)], check=True)
    python = where / "bin" / "python"
    site = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    ours = dict.fromkeys([sysconfig.get_path("purelib"), sysconfig.get_path("platlib")])
    Path(site, "project-packages.pth").write_text("\n".join(ours) + "\n")
    return python


@pytest.mark.slow
def test_the_project_installs_without_a_c_compiler(tmp_path: Path) -> None:
    """With CC=/bin/false the install succeeds, says in one line that the scorer is
    not compiled, and installs no extension; the scorer runs as Python and answers
    as it does here."""
    setuptools = Path(sysconfig.get_path("purelib"), "setuptools")
    if not (setuptools / "command" / "bdist_wheel.py").is_file():
        pytest.fail("this venv lacks the build requirements (setuptools 70.1+): run make")
    tree = copy_tree(tmp_path / "tree")
    python = new_venv(tmp_path / "venv")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "PIP_"))}
    env.pop("LEDGER_PURE_PYTHON", None)  # the fallback must come from the missing compiler
    env |= {"CC": "/bin/false", "PIP_CONFIG_FILE": os.devnull, "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    # --ignore-installed: pip also sees this checkout's install, through the .pth file,
    # and must not try to uninstall it.
    offline = ["--no-index", "--no-deps", "--no-build-isolation", "--ignore-installed"]
    install = subprocess.run(
        [python, "-m", "pip", "install", "--verbose", *offline, str(tree)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    output = install.stdout + install.stderr
    assert install.returncode == 0, output[-5000:]
    said = [
        line for line in output.splitlines() if "the name scorer is installed as Python" in line
    ]
    assert len(said) == 1, output[-5000:]
    assert "no working C compiler" in said[0]

    report = subprocess.run(
        [python, "-I", "-c", REPORT, *PAIR],  # -I: not the checkout from the cwd or PYTHONPATH
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert report.returncode == 0, report.stderr[-5000:]
    installed = json.loads(report.stdout)
    package = Path(installed["package"]).parent
    assert package.is_relative_to(tmp_path / "venv"), installed
    assert installed["compiled"] is False
    assert installed["scoring"] == str(package / "scoring.py")
    assert not [p.name for p in package.iterdir() if p.suffix in (".so", ".pyd", ".sha256")]
    assert installed["score"] == score_names(*PAIR)
    assert installed["score"] > 0.8
    # The console's templates and style sheet are installed with the package.
    console = package.parent / "console"
    assert (console / "templates" / "console" / "sign_in.html").is_file()
    assert (console / "static" / "console.css").is_file()
