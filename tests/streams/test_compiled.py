"""The guard against a stale or incomplete compiled build (streams/compiled.py), on a made-up tree: a
compiled module is only a file here, and whether mypyc's shared library can be imported is a given answer."""

from __future__ import annotations

import hashlib
import json
from importlib.machinery import EXTENSION_SUFFIXES
from pathlib import Path

import pytest

from streams.compiled import StaleBuildError, problems, refuse_stale_build

COMPILED = ("app/pipeline/spikes.py", "streams/formats/fields.py")
USED = "app/pipeline/detector_settings.py"  # imported by a compiled module, not compiled itself


def importable(name: str) -> object:
    return object()


def not_importable(name: str) -> None:
    return None


def compiled_tree(root: Path) -> Path:
    for path in (*COMPILED, USED):
        source = root / path
        source.parent.mkdir(parents=True, exist_ok=True)
        source.write_text(f"# {path}\nWINDOW = 10\n")
    for path in COMPILED:
        (root / path).with_suffix(EXTENSION_SUFFIXES[0]).write_bytes(b"\x7fELF")
    manifest = root / "compiled.json"
    sources = {path: hashlib.sha256((root / path).read_bytes()).hexdigest() for path in (*COMPILED, USED)}
    manifest.write_text(json.dumps({"group": "hotpath", "modules": list(COMPILED), "sources": sources}))
    return manifest


def test_a_build_whose_sources_are_as_compiled_is_accepted(tmp_path: Path) -> None:
    manifest = compiled_tree(tmp_path)
    assert problems(tmp_path, manifest, importable) == []
    refuse_stale_build(tmp_path, manifest, importable)


def test_an_edited_compiled_source_is_refused_with_what_to_do(tmp_path: Path) -> None:
    manifest = compiled_tree(tmp_path)
    (tmp_path / COMPILED[0]).write_text("WINDOW = 20\n")
    assert problems(tmp_path, manifest, importable) == [f"{COMPILED[0]} changed after the build"]
    with pytest.raises(StaleBuildError, match=r"spikes\.py changed.*make compile.*make uncompile"):
        refuse_stale_build(tmp_path, manifest, importable)


def test_an_edited_module_that_compiled_code_imports_is_refused_too(tmp_path: Path) -> None:
    # mypyc built its types into the compiled modules: a changed settings field would meet old code.
    manifest = compiled_tree(tmp_path)
    (tmp_path / USED).write_text("min_count: float\n")
    assert problems(tmp_path, manifest, importable) == [f"{USED} changed after the build"]


def test_a_deleted_source_counts_as_changed(tmp_path: Path) -> None:
    manifest = compiled_tree(tmp_path)
    (tmp_path / USED).unlink()
    assert problems(tmp_path, manifest, importable) == [f"{USED} changed after the build"]


def test_a_build_missing_one_compiled_module_is_refused(tmp_path: Path) -> None:
    # The module's code would still load from the shared library when another compiled module imports it.
    manifest = compiled_tree(tmp_path)
    (tmp_path / COMPILED[1]).with_suffix(EXTENSION_SUFFIXES[0]).unlink()
    assert problems(tmp_path, manifest, importable) == [
        f"{COMPILED[1]} is not compiled, unlike the rest of the build"
    ]


def test_a_build_whose_shared_library_cannot_be_imported_is_refused(tmp_path: Path) -> None:
    manifest = compiled_tree(tmp_path)
    assert problems(tmp_path, manifest, not_importable) == [
        "mypyc's shared library hotpath__mypyc cannot be imported"
    ]


@pytest.mark.parametrize("record", [None, "{not json", '{"group": "hotpath"}'])
def test_compiled_modules_without_a_readable_record_are_refused(tmp_path: Path, record: str | None) -> None:
    # A compile that failed half-way writes no record: the old modules must not pass for current.
    manifest = compiled_tree(tmp_path)
    if record is None:
        manifest.unlink()
    else:
        manifest.write_text(record)
    assert problems(tmp_path, manifest, importable) == [
        "compiled modules without a readable record of what they were built from"
    ]


def test_a_pure_tree_is_never_refused_whatever_its_record_says(tmp_path: Path) -> None:
    # make uncompile removed the modules (or a wheel was built from this checkout): nothing shadows a source.
    manifest = compiled_tree(tmp_path)
    for path in COMPILED:
        (tmp_path / path).with_suffix(EXTENSION_SUFFIXES[0]).unlink()
    (tmp_path / COMPILED[0]).write_text("WINDOW = 20\n")
    assert problems(tmp_path, manifest, not_importable) == []
