"""Atomic files (course_lib.files): a write is whole or not there, and what a crash leaves is cleared."""

from __future__ import annotations

import os

import pytest

from course_lib.errors import CourseError
from course_lib.files import (
    PARTIAL_PREFIX,
    atomic_path,
    check_writable,
    copy_atomically,
    remove_partial_files,
    write_text_atomically,
)


def test_a_failed_write_leaves_the_old_file_and_no_partial_one(tmp_path):
    target = tmp_path / "card.json"
    target.write_text("old")
    with pytest.raises(RuntimeError), atomic_path(target) as temporary:
        temporary.write_text("half of the new")
        raise RuntimeError("killed while writing")
    assert target.read_text() == "old" and [p.name for p in tmp_path.iterdir()] == ["card.json"]


def test_a_whole_write_replaces_the_file_under_a_partial_name_first(tmp_path):
    target = tmp_path / "sub" / "model.weights.h5"
    with atomic_path(target) as temporary:
        assert temporary.parent == target.parent and temporary.name.startswith(PARTIAL_PREFIX)
        assert temporary.name.endswith(".weights.h5")  # a library that checks the suffix accepts it
        temporary.write_bytes(b"new")
    assert target.read_bytes() == b"new" and [p.name for p in target.parent.iterdir()] == ["model.weights.h5"]
    umask = os.umask(0)
    os.umask(umask)
    assert target.stat().st_mode & 0o777 == 0o666 & ~umask  # an ordinary file, not mkstemp's private one


def test_text_and_copies_are_written_whole(tmp_path):
    write_text_atomically(tmp_path / "a.txt", "text")
    copy_atomically(tmp_path / "a.txt", tmp_path / "b.txt")
    assert (tmp_path / "b.txt").read_text() == "text"


def test_only_partial_files_are_removed(tmp_path):
    (tmp_path / f"{PARTIAL_PREFIX}x.keras").write_text("half")
    (tmp_path / "partial.keras").write_text("a model whose name merely starts alike")
    assert [p.name for p in remove_partial_files(tmp_path)] == [f"{PARTIAL_PREFIX}x.keras"]
    assert [p.name for p in tmp_path.iterdir()] == ["partial.keras"]


def test_a_folder_that_is_a_file_is_one_clear_error(tmp_path):
    (tmp_path / "file").write_text("")
    with pytest.raises(CourseError, match="it is a file, not a folder"):
        check_writable(tmp_path / "file")
    assert check_writable(tmp_path / "new" / "folder").is_dir()
