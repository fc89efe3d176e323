"""The user's own trajectories: read them from a CSV or ``.npz`` file in "long" form.

One row per sample: a trajectory id, a time, and the state columns::

    id,t,theta,omega
    0,0.00,0.50,0.00
    0,0.01,0.4995,-0.049
    ...
    1,0.00,1.20,0.30

    data = load_trajectories("pendulum.csv", "id", "t", ["theta", "omega"])
    res = find_conserved(data.states, data.times, data.names, terms)

A ``.npz`` file holds one 1-D array per column (the same long form), saved
without pickles. Rows of one trajectory need not be contiguous; within a
trajectory the times must increase (``sort=True`` sorts them instead of
stopping). Trajectories may have different lengths: each is used at its own
length (``notes`` says so). Missing values, non-numbers, repeated times and
trajectories too short for the noise estimate stop with a message that names
the rows and says what to do.
"""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from ..files import atomic_write_text, load_npz, save_npz
from ..validate import NeurophysInputError
from .library import check_names

MIN_SAMPLES = 7          # the smallest Savitzky-Golay window (5) that a cubic fits, plus its edges
MISSING = {"", "nan", "na", "n/a", "null", "none", "-"}


@dataclass
class TrajectorySet:
    """Trajectories read from a file: lists of (T_i, d) states and (T_i,) times, one per id."""

    states: list
    times: list
    names: list
    ids: list
    source: str = ""
    notes: list = field(default_factory=list)

    def __len__(self):
        return len(self.states)

    @property
    def lengths(self) -> list:
        return [s.shape[0] for s in self.states]

    def stacked(self):
        """(states (n, T, d), t (T,)) when every trajectory has the same times; else a ValueError."""
        if len(set(self.lengths)) != 1 or not all(np.allclose(t, self.times[0]) for t in self.times):
            raise ValueError(f"the trajectories have different lengths or times ({min(self.lengths)} to "
                             f"{max(self.lengths)} samples); use the lists .states and .times instead")
        return np.stack(self.states), self.times[0]


def load_trajectories(path, id_column: str, time_column: str, state_columns, sort: bool = False,
                      min_samples: int = MIN_SAMPLES) -> TrajectorySet:
    """Read trajectories from a CSV (header row) or ``.npz`` file; see the module docstring."""
    path = Path(path)
    state_columns = [state_columns] if isinstance(state_columns, str) else list(state_columns)
    if not state_columns:
        raise ValueError("state_columns is empty; name the columns that hold the state, e.g. ['theta', 'omega']")
    if not path.exists():
        raise FileNotFoundError(f"no trajectory file at {path}")
    if path.suffix.lower() == ".npz":
        columns, row_of = _read_npz(path)
    else:
        columns, row_of = _read_csv(path)
    wanted = [id_column, time_column] + state_columns
    missing = [c for c in wanted if c not in columns]
    if missing:
        raise ValueError(f"{path.name}: column(s) {', '.join(map(repr, missing))} not found; the columns are: "
                         f"{', '.join(columns)}")
    if len(set(wanted)) != len(wanted):
        raise ValueError(f"the id, time and state columns must be different, got {wanted}")
    ids = np.asarray([str(v).strip() for v in columns[id_column]])
    numeric = {c: _numbers(path.name, c, columns[c], row_of) for c in [time_column] + state_columns}
    bad_ids = [i for i, v in enumerate(ids) if v.lower() in MISSING]
    if bad_ids:
        raise ValueError(f"{path.name}: missing trajectory id in {_rows(bad_ids, row_of)}; every row needs an id")

    order = [str(k) for k in dict.fromkeys(ids.tolist())]  # ids in order of first appearance
    states, times, notes, short = [], [], [], []
    for key in order:
        rows = np.flatnonzero(ids == key)
        t = numeric[time_column][rows]
        S = np.stack([numeric[c][rows] for c in state_columns], axis=1)
        steps = np.diff(t)
        if np.any(steps == 0):
            k = int(np.flatnonzero(steps == 0)[0])
            raise ValueError(f"{path.name}: trajectory {key!r} has the time {t[k]:g} twice ({_rows(rows[k:k + 2], row_of)});"
                             " drop the duplicate samples")
        if np.any(steps < 0):
            if not sort:
                k = int(np.flatnonzero(steps < 0)[0])
                raise ValueError(f"{path.name}: trajectory {key!r} is not sorted by time: t = {t[k + 1]:g} comes after "
                                 f"t = {t[k]:g} ({_rows(rows[k:k + 2], row_of)}); sort the file by id and time, or "
                                 "pass sort=True (--sort) to sort each trajectory")
            o = np.argsort(t, kind="stable")
            t, S = t[o], S[o]
            if np.any(np.diff(t) == 0):
                raise ValueError(f"{path.name}: trajectory {key!r} has repeated times; drop the duplicate samples")
            notes.append(f"trajectory {key!r} was sorted by time")
        if len(t) < min_samples:
            short.append(f"{key!r} ({len(t)})")
        states.append(S)
        times.append(t)
    if short:
        raise ValueError(f"{path.name}: {len(short)} trajectorie(s) have fewer than {min_samples} samples: "
                         f"{', '.join(short[:10])}{' ...' if len(short) > 10 else ''}; the noise estimate fits a "
                         "smooth curve over several samples: drop them or record longer trajectories")
    if len(states) < 2:
        raise ValueError(f"{path.name}: found {len(states)} trajectory (id column {id_column!r}); a conserved "
                         "quantity must differ between trajectories, so at least 2 are needed")
    lengths = [len(t) for t in times]
    if min(lengths) != max(lengths):
        notes.append(f"trajectories have different lengths ({min(lengths)} to {max(lengths)} samples): each is used "
                     "at its own length (its own mean and scatter); none is cut or padded")
    uneven = [key for key, t in zip(order, times) if np.ptp(np.diff(t)) > 0.05 * np.mean(np.diff(t))]
    if uneven:
        notes.append(f"{len(uneven)} trajectorie(s) are not evenly sampled (e.g. {uneven[0]!r}); the noise estimate "
                     "treats samples as evenly spaced, which is fine when the state changes little between samples")
    notes.insert(0, f"read {len(states)} trajectories ({sum(lengths)} samples) of {', '.join(state_columns)} from "
                    f"{path.name}")
    return TrajectorySet(states, times, state_columns, order, str(path), notes)


def save_trajectories(path, states, t, names, ids=None, id_column: str = "id", time_column: str = "t") -> Path:
    """Write (n, T, d) states (or lists of (T_i, d) arrays) with their times in the long form above.

    ``names``: one distinct name per state column (d of them); ``ids``: one per trajectory
    (default 0, 1, ...). The CSV is written by the ``csv`` module, so an id holding a comma or a
    quote is quoted and :func:`load_trajectories` reads it back."""

    states = list(states)
    times = list(t) if isinstance(t, (list, tuple)) or np.ndim(t) == 2 else [np.asarray(t)] * len(states)
    ids = list(range(len(states))) if ids is None else list(ids)
    names = check_names([names] if isinstance(names, str) else names)
    _check_layout(states, times, names, ids, id_column, time_column)
    cols = {id_column: [], time_column: [], **{n: [] for n in names}}
    for key, s, ti in zip(ids, states, times):
        s = np.asarray(s, float)
        cols[id_column] += [key] * len(ti)
        cols[time_column] += list(np.asarray(ti, float))
        for j, n in enumerate(names):
            cols[n] += list(s[:, j])
    path = Path(path)
    if path.suffix.lower() == ".npz":
        arrays = {k: np.asarray(v) if k == id_column else np.asarray(v, float) for k, v in cols.items()}
        return save_npz(path, **arrays)
    header = list(cols)
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")           # quotes a field only when it needs it
    writer.writerow(header)
    for i in range(len(cols[time_column])):
        writer.writerow([str(cols[id_column][i]) if k == id_column else repr(float(cols[k][i])) for k in header])
    return atomic_write_text(path, text.getvalue())


def _check_layout(states, times, names, ids, id_column, time_column):
    """NeurophysInputError unless every trajectory is (T_i, len(names)) with T_i times, one id each."""
    if len(ids) != len(states):
        raise NeurophysInputError(f"ids has {len(ids)} entries for {len(states)} trajectories; give one id per "
                                  "trajectory (or leave ids=None for 0, 1, 2, ...)")
    text_ids = [str(k) for k in ids]
    repeated = list(dict.fromkeys(k for i, k in enumerate(text_ids) if k in text_ids[:i]))
    if repeated:
        raise NeurophysInputError(f"ids has repeated id(s) {', '.join(map(repr, repeated[:5]))}; two trajectories "
                                  "with one id would be read back as a single trajectory: give each its own id")
    clash = [n for n in names if n in (id_column, time_column)]
    if clash:
        raise NeurophysInputError(f"names {names} use the id or time column's name {clash[0]!r}; rename the state "
                                  f"column or pass another id_column/time_column")
    if len(times) != len(states):
        raise NeurophysInputError(f"t holds {len(times)} time arrays for {len(states)} trajectories; give one times "
                                  "array (the same for all) or one per trajectory")
    for i, (s, ti) in enumerate(zip(states, times)):
        shape = np.shape(s)
        if len(shape) != 2 or shape[1] != len(names):
            raise NeurophysInputError(
                f"names has {len(names)} name(s) {names} but trajectory {i} of states has shape {shape}; "
                f"give one name per state column ({shape[-1] if shape else 0} here), e.g. ['x', 'v']")
        if np.shape(ti) != (shape[0],):
            raise NeurophysInputError(f"t for trajectory {i} has shape {np.shape(ti)} but the trajectory has "
                                      f"{shape[0]} samples; give one time per sample")


# --------------------------------------------------------------------------- readers
def _read_csv(path):
    with open(path, newline="") as fh:
        rows = list(csv.reader(fh))
    rows = [r for r in rows if any(cell.strip() for cell in r)]
    if len(rows) < 2:
        raise ValueError(f"{path.name}: needs a header row and at least one data row")
    header = [h.strip() for h in rows[0]]
    body = rows[1:]
    for i, r in enumerate(body):
        if len(r) != len(header):
            raise ValueError(f"{path.name}: line {i + 2} has {len(r)} fields but the header has {len(header)}")
    columns = {h: [r[j].strip() for r in body] for j, h in enumerate(header)}
    return columns, lambda i: f"line {i + 2}"


def _read_npz(path):

    arrays = load_npz(path)
    if not arrays:
        raise ValueError(f"{path.name}: the file holds no arrays")
    lengths = {k: np.asarray(v).shape for k, v in arrays.items()}
    if any(len(s) != 1 for s in lengths.values()) or len({s[0] for s in lengths.values()}) != 1:
        raise ValueError(f"{path.name}: expected one 1-D array per column, all of the same length (long form); "
                         f"got shapes {lengths}")
    return {k: list(np.asarray(v)) for k, v in arrays.items()}, lambda i: f"row {i}"


def _numbers(source, column, values, row_of):
    out = np.empty(len(values))
    missing, bad = [], []
    for i, v in enumerate(values):
        if isinstance(v, str) and v.strip().lower() in MISSING:
            missing.append(i)
            continue
        try:
            out[i] = float(v)
        except (TypeError, ValueError):
            bad.append(i)
            continue
        if not np.isfinite(out[i]):
            missing.append(i)
    if missing:
        raise ValueError(f"{source}: column {column!r} has {len(missing)} missing or non-finite value(s), in "
                         f"{_rows(missing, row_of)}; fill them or drop those rows (or the trajectories they belong to)")
    if bad:
        raise ValueError(f"{source}: column {column!r} is not a number in {_rows(bad, row_of)} "
                         f"(e.g. {values[bad[0]]!r})")
    return out


def _rows(indices, row_of, limit: int = 5) -> str:
    indices = list(indices)
    text = ", ".join(row_of(int(i)) for i in indices[:limit])
    return text + (f" and {len(indices) - limit} more" if len(indices) > limit else "")
