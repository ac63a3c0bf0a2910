"""The guard against a stale compiled build (streams/compiled.py), on a made-up tree: a compiled module is
only a file here, the guard looks no further than its name."""

from __future__ import annotations

import hashlib
import json
from importlib.machinery import EXTENSION_SUFFIXES
from pathlib import Path

import pytest

from streams.compiled import StaleBuildError, refuse_stale_build, stale_sources

SOURCE = "app/pipeline/spikes.py"


def compiled_tree(tmp_path: Path, *, compiled: bool = True) -> tuple[Path, Path]:
    source = tmp_path / SOURCE
    source.parent.mkdir(parents=True)
    source.write_text("WINDOW = 10\n")
    if compiled:
        source.with_suffix(EXTENSION_SUFFIXES[0]).write_bytes(b"\x7fELF")
    manifest = tmp_path / "compiled.json"
    manifest.write_text(json.dumps({SOURCE: hashlib.sha256(source.read_bytes()).hexdigest()}))
    return tmp_path, manifest


def test_a_build_whose_sources_are_as_compiled_is_accepted(tmp_path: Path) -> None:
    root, manifest = compiled_tree(tmp_path)
    assert stale_sources(root, manifest) == []
    refuse_stale_build(root, manifest)


def test_an_edited_source_with_its_old_compiled_module_beside_it_is_refused(tmp_path: Path) -> None:
    root, manifest = compiled_tree(tmp_path)
    (root / SOURCE).write_text("WINDOW = 20\n")
    assert stale_sources(root, manifest) == [SOURCE]
    with pytest.raises(StaleBuildError, match=r"spikes\.py changed.*make compile.*make uncompile"):
        refuse_stale_build(root, manifest)


def test_a_deleted_source_counts_as_changed(tmp_path: Path) -> None:
    root, manifest = compiled_tree(tmp_path)
    (root / SOURCE).unlink()
    assert stale_sources(root, manifest) == [SOURCE]


def test_an_edited_source_without_a_compiled_module_runs_as_python(tmp_path: Path) -> None:
    # make uncompile removed the modules (or a checkout never had them): nothing shadows the source.
    root, manifest = compiled_tree(tmp_path, compiled=False)
    (root / SOURCE).write_text("WINDOW = 20\n")
    assert stale_sources(root, manifest) == []


def test_without_a_manifest_there_is_no_compiled_build_to_check(tmp_path: Path) -> None:
    root, manifest = compiled_tree(tmp_path)
    manifest.unlink()
    assert stale_sources(root, manifest) == []
