"""Build hook: with ``SIGNAAL_COMPILE=1`` the modules every post goes through are compiled with mypyc.

Everything else about the package is in ``pyproject.toml``. Without the variable the install is pure Python,
as a checkout is while you work on it (``make venv``). ``make compile`` builds the compiled modules in place
and ``make uncompile`` removes them; ``SIGNAAL_COMPILE=1 pip install .`` and the Docker image install them.

mypyc turns type-annotated Python into C extensions, module by module (the way black and mypy ship):
the same source, the same behaviour, about a third less CPU per post (``benchmarks/pipeline.py`` says
which build it measured). ``streams/compiled.py`` refuses to import a compiled module whose source has
changed since it was built, so an edited ``.py`` is never shadowed by a stale one.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from setuptools import setup

HERE = Path(__file__).resolve().parent

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
MANIFEST = HERE / "streams" / "compiled.json"


def compiled_extensions() -> list:
    if os.environ.get("SIGNAAL_COMPILE") != "1":
        return []
    from mypyc.build import mypycify

    # What streams/compiled.py checks at import: the hash of each source as it was compiled.
    sources = {path: hashlib.sha256((HERE / path).read_bytes()).hexdigest() for path in HOT_PATH}
    MANIFEST.write_text(json.dumps(sources, indent=1) + "\n")
    return mypycify(list(HOT_PATH), opt_level="3", group_name="signaal_hotpath")


setup(ext_modules=compiled_extensions())
