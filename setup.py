"""Build hook: with ``SIGNAAL_COMPILE=1`` the modules every post goes through are compiled with mypyc.

Everything else about the package is in ``pyproject.toml``. Without the variable the install is pure Python,
as a checkout is while you work on it (``make venv``). ``make compile`` builds the compiled modules in place
and ``make uncompile`` removes them. Elsewhere, install the dependencies and the build tools first, then build
without isolation, so that mypyc type-checks against the real libraries::

    pip install . "mypy>=1.13" "setuptools>=77" wheel
    SIGNAAL_COMPILE=1 pip install --no-build-isolation --no-deps .

(the Docker image does the same in its build stage). mypyc turns type-annotated Python into C extensions,
module by module, the way black and mypy ship: the same source, with its annotations enforced at run time,
and about a quarter less CPU per post (``benchmarks/pipeline.py`` says which build it measured). A build
that succeeded records a hash of every project source the compiled modules were built from;
``streams/compiled.py`` refuses to import a build whose sources changed since, so an edit is never shadowed.
"""

from __future__ import annotations

import ast
import hashlib
import json
import os
from pathlib import Path

from setuptools import setup
from setuptools.command.build_ext import build_ext

HERE = Path(__file__).resolve().parent
GROUP = "signaal_hotpath"  # mypyc's shared library: signaal_hotpath__mypyc.<suffix>, beside the packages
FIRST_PARTY = ("app", "streams")

# parse -> enrich -> detect, in that order. A module is worth compiling when a benchmark says so: these
# are where the pipeline's CPU goes. Settings (pydantic), storage, the API and the dashboard stay Python.
HOT_PATH = (
    "streams/formats/fields.py",
    "streams/formats/jsonl.py",
    "streams/gazetteer.py",
    "app/pipeline/language.py",
    "app/pipeline/enrich.py",
    "app/pipeline/signals.py",
    "app/pipeline/claims.py",
    "app/pipeline/rumour_model.py",
    "app/pipeline/time_expressions.py",
    "app/pipeline/spikes.py",
    "app/pipeline/mobilisation.py",
    "app/pipeline/rumours.py",
)


def _source_of(module: str) -> str | None:
    path = module.replace(".", "/")
    for candidate in (f"{path}.py", f"{path}/__init__.py"):
        if (HERE / candidate).exists():
            return candidate
    return None


def built_from(compiled: tuple[str, ...]) -> list[str]:
    """The compiled modules and every project module they import, directly or not: mypyc builds those
    modules' types into the compiled code, so a change to any of them needs a new build."""
    seen: set[str] = set()
    todo = list(compiled)
    while todo:
        path = todo.pop()
        if path in seen:
            continue
        seen.add(path)
        for node in ast.walk(ast.parse((HERE / path).read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module, *(f"{node.module}.{alias.name}" for alias in node.names)]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            else:
                continue
            for name in names:
                parts = name.split(".")
                if parts[0] not in FIRST_PARTY:
                    continue
                for depth in range(1, len(parts) + 1):  # packages' __init__ too
                    source = _source_of(".".join(parts[:depth]))
                    if source is not None:
                        todo.append(source)
    return sorted(seen)


class BuildAndRecord(build_ext):
    """Compiles, then records what was compiled from what: only a build that succeeded has a record."""

    def run(self) -> None:
        super().run()
        if os.environ.get("SIGNAAL_COMPILE") != "1":
            return
        record = {
            "group": GROUP,
            "modules": list(HOT_PATH),
            "sources": {
                path: hashlib.sha256((HERE / path).read_bytes()).hexdigest() for path in built_from(HOT_PATH)
            },
        }
        target = HERE if self.inplace else Path(self.build_lib)
        (target / "streams" / "compiled.json").write_text(json.dumps(record, indent=1) + "\n")


def compiled_extensions() -> list:
    if os.environ.get("SIGNAAL_COMPILE") != "1":
        return []
    try:
        from mypyc.build import mypycify
    except ImportError as error:
        raise SystemExit(
            "SIGNAAL_COMPILE=1 builds with mypyc against the installed libraries: install them and mypy"
            " first, then build without isolation (see setup.py's docstring, or run `make compile`)"
        ) from error
    return mypycify(list(HOT_PATH), opt_level="3", group_name=GROUP)


setup(ext_modules=compiled_extensions(), cmdclass={"build_ext": BuildAndRecord})
