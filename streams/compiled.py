"""Which build is running, and is a compiled build current?

``setup.py`` can compile the modules every post goes through with mypyc (``make compile``,
``SIGNAAL_COMPILE=1 pip install .``); it records the hash of each source it compiled in ``compiled.json``
beside this file. A compiled module is imported instead of its ``.py``: edit the source without compiling
again and Python would quietly run the old code. So importing ``streams`` (which every part of Signaal
does first) compares the hashes and refuses a stale build, saying what to do.
"""

from __future__ import annotations

import hashlib
import json
from importlib.machinery import EXTENSION_SUFFIXES
from pathlib import Path

MANIFEST = Path(__file__).with_name("compiled.json")
# The manifest's paths are relative to the folder holding the packages (a checkout, or site-packages).
ROOT = Path(__file__).resolve().parents[1]


class StaleBuildError(ImportError):
    pass


def _compiled_beside(source: Path) -> bool:
    return any(source.with_suffix(suffix).exists() for suffix in EXTENSION_SUFFIXES)


def stale_sources(root: Path = ROOT, manifest: Path = MANIFEST) -> list[str]:
    """Sources that have a compiled module beside them but changed (or went) since it was built."""
    if not manifest.exists():
        return []
    stale = []
    for path, digest in json.loads(manifest.read_text()).items():
        source = root / path
        if not _compiled_beside(source):
            continue
        if not source.exists() or hashlib.sha256(source.read_bytes()).hexdigest() != digest:
            stale.append(path)
    return stale


def refuse_stale_build(root: Path = ROOT, manifest: Path = MANIFEST) -> None:
    stale = stale_sources(root, manifest)
    if stale:
        raise StaleBuildError(
            f"{', '.join(stale)} changed after it was compiled, so Python would run the old code: run "
            "`make compile` to compile it again, or `make uncompile` to run the pure Python"
        )


def build() -> str:
    """'compiled (mypyc)' or 'pure Python': what the hot path runs as, for benchmarks and /status."""
    from streams.formats import fields  # one of the compiled modules (setup.py's HOT_PATH)

    return "pure Python" if Path(fields.__file__ or "").suffix == ".py" else "compiled (mypyc)"
