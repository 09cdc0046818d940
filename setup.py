"""Builds the package. Everything is in pyproject.toml but one optional step: mypyc
compiles ``ledger/screening/scoring.py``, the per-pair part of name matching, to a C
extension (the same source, the same answers, faster; see docs/screening.md,
"Compiled scoring").

The step is a speed-up, never a requirement. Without mypyc, without a C compiler
that works (one is tried first on a small file, the compiler the build would use,
``CC`` included), with ``LEDGER_PURE_PYTHON=1``, or when compiling fails all the
same, the build says why in one line and installs the package as Python: the same
answers, slower.

Beside the extension it built, in the build's output, the build writes the SHA-256
of the source it compiled to ``scoring.sha256``: `ledger.screening` uses the
compiled module only while the source still has that hash. Only an in-place build
(an editable install) puts the extension and the hash in the source tree, in
``ledger/screening/``, and both are git-ignored there."""

import hashlib
import os
import sys
import sysconfig
import tempfile
from pathlib import Path
from typing import NamedTuple

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext
from setuptools.command.build_py import build_py
from setuptools.errors import CCompilerError, ExecError, PlatformError

SCORING = Path("ledger/screening/scoring.py")
PACKAGE = "ledger.screening"
BUILT_FROM = "scoring.sha256"  # ledger.screening.BUILT_FROM reads it


def announce_pure_python(reason: str) -> None:
    print(
        f"ledger: {reason}: the name scorer is installed as Python, not compiled"
        " (the same answers, slower; docs/screening.md, 'Compiled scoring')",
        file=sys.stderr,
        flush=True,
    )


def brief(exc: BaseException) -> str:
    """An error in a few words: a failed command is printed in full above it."""
    text = f"{type(exc).__name__}: {exc}".splitlines()[0]
    return text if len(text) <= 120 else text[:119] + "…"


def compiler_problem() -> str | None:
    """Why no C extension can be built here, or None: compiles and links a file that
    includes Python.h with the compiler that build_ext would set up (CC, CFLAGS and
    LDSHARED from the environment), before mypyc spends its time."""
    with tempfile.TemporaryDirectory() as tmp:
        probe = Path(tmp, "probe.c")
        probe.write_text("#include <Python.h>\nint ledger_probe(void) { return 0; }\n")
        try:
            # setuptools' own distutils, once setuptools is imported (Python 3.12 has none)
            from distutils.ccompiler import new_compiler
            from distutils.sysconfig import customize_compiler

            compiler = new_compiler()
            customize_compiler(compiler)
        except Exception as exc:  # no compiler for this platform, say
            return f"no C compiler ({type(exc).__name__}: {exc})"
        name = (getattr(compiler, "compiler_so", None) or [compiler.compiler_type])[0]
        try:
            objects = compiler.compile(
                [str(probe)],
                output_dir=tmp,
                include_dirs=[sysconfig.get_path("include"), sysconfig.get_path("platinclude")],
            )
            compiler.link_shared_object(objects, str(Path(tmp, "probe.so")))
        except Exception:  # whatever stops the probe would stop the build
            return f"no working C compiler ({name} cannot build a small extension)"
    return None


class Scoring(NamedTuple):
    """What the build does with scoring.py."""

    extensions: list[Extension]
    digest: str = ""  # the SHA-256 of the source the extensions are built from
    pure_because: str = ""  # why there is no extension


def compiled() -> Scoring:
    """Whether scoring.py can be compiled here, decided before setup() runs."""
    if os.environ.get("LEDGER_PURE_PYTHON"):
        return Scoring([], pure_because="LEDGER_PURE_PYTHON is set")
    try:
        from mypyc.build import mypycify
    except ImportError:
        return Scoring([], pure_because="mypyc is not installed")
    problem = compiler_problem()
    if problem:
        return Scoring([], pure_because=problem)
    digest = hashlib.sha256(SCORING.read_bytes()).hexdigest()
    try:
        # Only this module is compiled; the modules it imports are read, not compiled.
        extensions = mypycify(["--follow-imports=skip", str(SCORING)], opt_level="3")
    except (Exception, SystemExit) as exc:  # mypyc prints its errors, then exits
        why = f"mypyc could not translate {SCORING} ({brief(exc)})"
        return Scoring([], pure_because=why)
    return Scoring(extensions, digest=digest)


SCORING_BUILD = compiled()


class AnnouncingBuildPy(build_py):
    """build_py, which every build runs once (and reading the metadata does not),
    saying why the scorer is not compiled."""

    def run(self) -> None:
        if SCORING_BUILD.pure_because:
            announce_pure_python(SCORING_BUILD.pure_because)
        super().run()


class ScoringBuildExt(build_ext):
    """build_ext that writes the hash of the compiled source beside the extension,
    and that, when compiling fails, leaves the package as Python instead of failing."""

    def run(self) -> None:
        inplace = self.inplace
        try:
            super().run()
        except (CCompilerError, ExecError, PlatformError) as exc:
            self.inplace = inplace  # setuptools' run() leaves it off when the build raises
            self._discard_extensions()
            announce_pure_python(f"compiling it failed ({brief(exc)})")
            return
        for hash_file in self._hash_files():
            hash_file.parent.mkdir(parents=True, exist_ok=True)
            hash_file.write_text(f"{SCORING_BUILD.digest}\n")

    def _hash_files(self) -> list[Path]:
        """Where the extensions were built, and where they were copied (in place)."""
        built = Path(self.build_lib, *PACKAGE.split("."), BUILT_FROM)
        if not self.inplace:
            return [built]
        package_dir = self.get_finalized_command("build_py").get_package_dir(PACKAGE)
        return [built, Path(package_dir, BUILT_FROM)]

    def _discard_extensions(self) -> None:
        """Remove what a failed build left in the build directory (the shim of a
        shared library built without the library, say), so that none is installed."""
        for ext in self.extensions:
            filename = self.get_ext_filename(self.get_ext_fullname(ext.name))
            Path(self.build_lib, filename).unlink(missing_ok=True)
        Path(self.build_lib, *PACKAGE.split("."), BUILT_FROM).unlink(missing_ok=True)
        self.extensions = []

    def get_outputs(self) -> list[str]:
        outputs = list(super().get_outputs())
        if self.extensions and not self.inplace:
            outputs.append(str(self._hash_files()[0]))
        return outputs

    def get_output_mapping(self) -> dict[str, str]:
        mapping = dict(super().get_output_mapping())
        if self.extensions and self.inplace:
            built, in_place = self._hash_files()
            mapping[str(built)] = str(in_place)
        return mapping


setup(
    ext_modules=SCORING_BUILD.extensions,
    cmdclass={"build_py": AnnouncingBuildPy, "build_ext": ScoringBuildExt},
)
