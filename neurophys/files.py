"""Writing and reading result files safely: every result file goes through here.

A write goes to a temporary file in the same folder and is then moved over the
target with ``os.replace`` (atomic on POSIX and Windows): a reader sees either the
old file or the new one, never half of one, and a write that fails (an exception,
Ctrl-C, a full disk) leaves the previous file as it was.

JSON is strict: ``NaN`` and ``±inf`` are not JSON, so they are written as ``null``
and the keys that held them are listed under a top-level ``"nonfinite"`` note
(``{"metrics.slope": "nan"}``), so a reader can tell a missing number from a
measured one. Arrays are ``.npz`` files read with ``allow_pickle=False``.
"""
from __future__ import annotations

import io
import json
import math
import os
import tempfile
from pathlib import Path

import numpy as np

__all__ = ["atomic_write_bytes", "atomic_write_text", "write_json", "read_json", "save_npz", "load_npz",
           "save_figure", "CorruptFileError", "jsonable"]


class CorruptFileError(ValueError):
    """A results file exists but cannot be read; the message names the file."""


def atomic_write_bytes(path, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically (temp file in the same folder, then ``os.replace``)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; a result file is as readable as any other
        os.replace(tmp, path)
    except BaseException:  # any failure, Ctrl-C included: drop the temp file, keep the old target
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    return path


def _read_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_UMASK = _read_umask()  # read once, at import: os.umask can only be read by setting it


def _umask() -> int:
    return _UMASK


def atomic_write_text(path, text: str, encoding: str = "utf-8") -> Path:
    """Write ``text`` to ``path`` atomically."""
    return atomic_write_bytes(path, text.encode(encoding))


def jsonable(obj, where: str = "", nonfinite: dict | None = None):
    """Plain JSON types: arrays -> lists, NumPy scalars -> floats/ints, Paths -> str.

    Non-finite floats become ``None``; when ``nonfinite`` is a dict, the dotted key of
    each one is recorded there with its original value (``"nan"``, ``"inf"``, ``"-inf"``).
    """
    if isinstance(obj, dict):
        return {str(k): jsonable(v, f"{where}.{k}" if where else str(k), nonfinite) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [jsonable(v, f"{where}[{i}]", nonfinite) for i, v in enumerate(obj)]
    if isinstance(obj, Path):
        return str(obj)
    if isinstance(obj, bool) or obj is None or isinstance(obj, str):
        return obj
    if hasattr(obj, "get") and hasattr(obj, "__cuda_array_interface__"):  # a cupy array
        obj = obj.get()
    if hasattr(obj, "tolist"):  # numpy arrays and scalars
        return jsonable(obj.tolist(), where, nonfinite)
    if isinstance(obj, int):
        return int(obj)
    if isinstance(obj, float):
        if math.isfinite(obj):
            return float(obj)
        if nonfinite is not None:
            nonfinite[where or "."] = "nan" if math.isnan(obj) else ("inf" if obj > 0 else "-inf")
        return None
    return obj


def write_json(path, obj, indent: int = 2) -> Path:
    """Write ``obj`` as strict JSON, atomically.

    Non-finite floats are written as ``null``; if there were any and ``obj`` is a
    dict, their keys are listed under ``"nonfinite"`` (e.g. ``{"metrics.slope": "nan"}``).
    """
    nonfinite: dict = {}
    plain = jsonable(obj, "", nonfinite)
    if nonfinite and isinstance(plain, dict):
        plain["nonfinite"] = {**(plain.get("nonfinite") or {}), **nonfinite}
    text = json.dumps(plain, indent=indent, allow_nan=False) + "\n"
    return atomic_write_text(path, text)


def read_json(path):
    """Read a JSON file; a corrupt one raises :class:`CorruptFileError` naming the file."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
        return json.loads(text)
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise CorruptFileError(f"{path} is not valid JSON ({err}); delete it or rerun the lesson that "
                               "wrote it") from None


def save_npz(path, **arrays) -> Path:
    """Save arrays to a compressed ``.npz`` atomically (the name gets no extra suffix)."""
    buf = io.BytesIO()
    host = {k: (v.get() if hasattr(v, "__cuda_array_interface__") else np.asarray(v)) for k, v in arrays.items()}
    for k, v in host.items():
        if v.dtype == object:
            raise TypeError(f"save_npz: array {k!r} has dtype object; only numeric/str arrays are saved "
                            "(they are read back with allow_pickle=False)")
    np.savez_compressed(buf, **host)
    return atomic_write_bytes(path, buf.getvalue())


def load_npz(path) -> dict:
    """Read an ``.npz`` into a dict of NumPy arrays (``allow_pickle=False``)."""
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as data:
            return {k: data[k] for k in data.files}
    except (ValueError, OSError, EOFError) as err:
        if isinstance(err, FileNotFoundError):
            raise
        raise CorruptFileError(f"{path} cannot be read as .npz ({err}); delete it or rerun") from None


def save_figure(fig, path, **kw) -> Path:
    """Save a matplotlib figure atomically; the format follows the suffix (``.png``, ``.svg``...)."""
    path = Path(path)
    kw.setdefault("format", path.suffix.lstrip(".") or "png")
    buf = io.BytesIO()
    fig.savefig(buf, **kw)
    return atomic_write_bytes(path, buf.getvalue())
