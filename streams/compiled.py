"""Which build is running, and is a compiled build whole and current?

``setup.py`` can compile the modules every post goes through with mypyc (``make compile``, or a wheel built
with ``SIGNAAL_COMPILE=1``). A build that succeeded records, in ``compiled.json`` beside this file, which
modules it compiled, the name of mypyc's shared library, and a hash of every project source it was built
from. A compiled module is imported instead of its ``.py``: edit a source without compiling again and
Python would quietly run the old code, or a compiled module would meet a changed type it was not built for.
So importing ``streams`` (which every part of Signaal does first) checks the build and refuses one that is
stale or incomplete, saying what to do.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
from collections.abc import Callable
from importlib.machinery import EXTENSION_SUFFIXES
from pathlib import Path

MANIFEST = Path(__file__).with_name("compiled.json")
# The manifest's paths are relative to the folder holding the packages (a checkout, or site-packages).
ROOT = Path(__file__).resolve().parents[1]
# Where compiled modules can be: setup.py's HOT_PATH is in these folders.
_FOLDERS = ("app/pipeline", "streams", "streams/formats")
_FIX = "run `make compile` to compile again, or `make uncompile` to run the pure Python"


class StaleBuildError(ImportError):
    pass


def _compiled(source: Path) -> Path | None:
    for suffix in EXTENSION_SUFFIXES:
        compiled = source.with_suffix(suffix)
        if compiled.exists():
            return compiled
    return None


def _compiled_modules(root: Path) -> list[Path]:
    return [
        path
        for folder in _FOLDERS
        if (root / folder).is_dir()
        for path in (root / folder).iterdir()
        if path.name.endswith(tuple(EXTENSION_SUFFIXES))
    ]


def problems(
    root: Path = ROOT, manifest: Path = MANIFEST, find: Callable[[str], object] = importlib.util.find_spec
) -> list[str]:
    """What is wrong with the compiled build under ``root``; empty for a sound build or a pure one.
    ``find`` looks a module up as Python will (an editable install maps mypyc's shared library by name)."""
    if not _compiled_modules(root):
        return []  # pure Python: nothing can shadow a source
    try:
        record = json.loads(manifest.read_text())
        group, modules, sources = record["group"], record["modules"], record["sources"]
    except (OSError, ValueError, KeyError, TypeError):
        return ["compiled modules without a readable record of what they were built from"]
    found = [
        f"{path} is not compiled, unlike the rest of the build"
        for path in modules
        if _compiled(root / path) is None
    ]
    if find(f"{group}__mypyc") is None:
        found.append(f"mypyc's shared library {group}__mypyc cannot be imported")
    for path, digest in sources.items():
        source = root / path
        if not source.exists() or hashlib.sha256(source.read_bytes()).hexdigest() != digest:
            found.append(f"{path} changed after the build")
    return found


def refuse_stale_build(
    root: Path = ROOT, manifest: Path = MANIFEST, find: Callable[[str], object] = importlib.util.find_spec
) -> None:
    found = problems(root, manifest, find)
    if found:
        raise StaleBuildError(f"the compiled build is out of date ({'; '.join(found)}): {_FIX}")


def build() -> str:
    """'compiled (mypyc)' or 'pure Python': what the hot path runs as, for benchmarks and /api/status."""
    from streams.formats import fields  # one of the compiled modules (setup.py's HOT_PATH)

    loader = type(fields.__spec__.loader).__name__ if fields.__spec__ else ""
    return "compiled (mypyc)" if loader == "ExtensionFileLoader" else "pure Python"
