"""neurophys.files: atomic writes, strict JSON, safe npz."""
import json
import math

import numpy as np
import pytest

from neurophys import files


def test_atomic_write_replaces_and_leaves_no_temp(tmp_path):
    p = tmp_path / "a.txt"
    files.atomic_write_text(p, "one")
    files.atomic_write_text(p, "two")
    assert p.read_text() == "two"
    assert [q.name for q in tmp_path.iterdir()] == ["a.txt"]


def test_failed_write_keeps_previous_file(tmp_path, monkeypatch):
    p = tmp_path / "results.json"
    files.write_json(p, {"x": 1})

    def boom(src, dst):
        raise OSError("disk full")
    monkeypatch.setattr(files.os, "replace", boom)
    with pytest.raises(OSError, match="disk full"):
        files.write_json(p, {"x": 2})
    monkeypatch.undo()
    assert files.read_json(p) == {"x": 1}
    assert [q.name for q in tmp_path.iterdir()] == ["results.json"]  # the temp file is gone


def test_interrupted_serialisation_keeps_previous_file(tmp_path):
    p = tmp_path / "results.json"
    files.write_json(p, {"x": 1})

    class Bad:
        def tolist(self):
            raise KeyboardInterrupt
    with pytest.raises(KeyboardInterrupt):
        files.write_json(p, {"x": Bad()})
    assert files.read_json(p) == {"x": 1}


def test_interrupted_figure_keeps_previous_file(tmp_path):
    p = tmp_path / "fig.png"
    files.atomic_write_bytes(p, b"old")

    class Fig:
        def savefig(self, buf, **kw):
            buf.write(b"partial")
            raise KeyboardInterrupt
    with pytest.raises(KeyboardInterrupt):
        files.save_figure(Fig(), p)
    assert p.read_bytes() == b"old"
    assert len(list(tmp_path.iterdir())) == 1


def test_nonfinite_written_as_null_and_noted(tmp_path):
    p = tmp_path / "r.json"
    files.write_json(p, {"metrics": {"slope": float("nan"), "ok": 1.5, "big": np.float32("inf")},
                         "list": [1.0, -math.inf]})
    text = p.read_text()
    json.loads(text, parse_constant=lambda c: pytest.fail(f"non-strict JSON constant {c}"))
    data = files.read_json(p)
    assert data["metrics"] == {"slope": None, "ok": 1.5, "big": None}
    assert data["list"] == [1.0, None]
    assert data["nonfinite"] == {"metrics.slope": "nan", "metrics.big": "inf", "list[1]": "-inf"}


def test_numpy_types_become_plain_json(tmp_path):
    p = tmp_path / "r.json"
    files.write_json(p, {"a": np.arange(3), "b": np.int64(4), "c": np.float64(0.5), "d": True})
    assert files.read_json(p) == {"a": [0, 1, 2], "b": 4, "c": 0.5, "d": True}
    assert "nonfinite" not in files.read_json(p)


def test_read_json_names_corrupt_file(tmp_path):
    p = tmp_path / "results.json"
    p.write_text('{"lesson": "01", ')
    with pytest.raises(files.CorruptFileError, match="results.json"):
        files.read_json(p)
    assert issubclass(files.CorruptFileError, ValueError)


def test_npz_roundtrip_no_pickle(tmp_path):
    p = tmp_path / "w.npz"
    files.save_npz(p, W=np.eye(2, dtype=np.float32), b=np.zeros(3))
    got = files.load_npz(p)
    assert got["W"].dtype == np.float32 and np.array_equal(got["W"], np.eye(2))
    with pytest.raises(TypeError, match="object"):
        files.save_npz(p, x=np.array([{"a": 1}], dtype=object))
    assert np.array_equal(files.load_npz(p)["b"], np.zeros(3))  # the failed save left the file intact
    (tmp_path / "bad.npz").write_bytes(b"garbage")
    with pytest.raises(files.CorruptFileError, match="bad.npz"):
        files.load_npz(tmp_path / "bad.npz")


def test_save_figure_png(tmp_path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots()
    ax.plot([0, 1])
    p = files.save_figure(fig, tmp_path / "f.png", dpi=50)
    plt.close(fig)
    assert p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_written_file_has_normal_permissions(tmp_path):
    import os
    p = files.atomic_write_text(tmp_path / "r.txt", "x")
    mask = os.umask(0)
    os.umask(mask)
    assert p.stat().st_mode & 0o777 == 0o666 & ~mask


def test_save_gif_writes_every_frame_atomically_and_refuses_nothing_to_animate(tmp_path):
    from PIL import Image

    from neurophys.plots import save_gif
    frames = [np.full((8, 8, 3), 40 * k, dtype=np.uint8) for k in range(5)]
    path = save_gif(frames, tmp_path / "a.gif", fps=4)
    with Image.open(path) as im:
        assert im.format == "GIF" and im.n_frames == 5
    assert [p.name for p in tmp_path.iterdir()] == ["a.gif"], "no temporary file is left behind"
    with pytest.raises(ValueError, match="at least one frame"):
        save_gif([], tmp_path / "b.gif")
    assert not (tmp_path / "b.gif").exists()
