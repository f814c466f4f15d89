"""Atomic writes: the old file or the new one, never half of one; nothing left behind on failure."""

import pytest

from fasutils.core.files import atomic_output, atomic_write, atomic_write_text


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path):
    target = atomic_write_text(tmp_path / "report.json", "old")

    def crash(stream):
        stream.write(b"half")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        atomic_write(target, crash)
    assert target.read_text() == "old" and [p.name for p in tmp_path.iterdir()] == ["report.json"]


def test_a_tool_writing_through_atomic_output_publishes_only_on_success(tmp_path):
    target = tmp_path / "model.onnx"
    with pytest.raises(ValueError):
        with atomic_output(target) as draft:
            draft.write_text("partial")
            draft.with_name("side-file.tmp").write_text("scratch")
            raise ValueError("exporter failed")
    assert list(tmp_path.iterdir()) == []
    with atomic_output(target) as draft:
        draft.write_text("complete")
        draft.with_name("side-file.tmp").write_text("scratch")
    assert target.read_text() == "complete" and [p.name for p in tmp_path.iterdir()] == ["model.onnx"]
