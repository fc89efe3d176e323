"""Animated GIFs from matplotlib figures, written with pillow.

    frames = [figure_to_image(fig) for fig in ...]
    save_gif(frames, "phase.gif", fps=2)
"""
from __future__ import annotations

import io
from pathlib import Path

from .. import files

MAX_FRAMES = 200


def figure_to_image(fig, dpi: int = 80, close: bool = True):
    """Render a matplotlib figure to a PIL image (and close the figure)."""
    import matplotlib.pyplot as plt
    from PIL import Image

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    if close:
        plt.close(fig)
    buf.seek(0)
    return Image.open(buf).convert("RGB")


def save_gif(frames, path, fps: float = 2.0, max_frames: int = MAX_FRAMES, loop: int = 0) -> Path:
    """Write PIL images (or HxWx3 uint8 arrays) as an animated GIF.

    More than ``max_frames`` frames is refused: subsample first (a GIF of
    thousands of frames, like document 001's, is too big to look at).
    """
    from PIL import Image

    frames = list(frames)
    if not frames:
        raise ValueError("save_gif needs at least one frame")
    if len(frames) > max_frames:
        raise ValueError(f"{len(frames)} frames is more than max_frames={max_frames}; subsample the frames")
    if fps <= 0:
        raise ValueError(f"fps must be positive, got {fps}")
    images = [f if isinstance(f, Image.Image) else Image.fromarray(f) for f in frames]
    images = [im.convert("P", palette=Image.ADAPTIVE) for im in images]
    buf = io.BytesIO()
    images[0].save(buf, format="GIF", save_all=True, append_images=images[1:], duration=int(1000 / fps),
                   loop=loop, optimize=True)
    path = Path(path)
    files.atomic_write_bytes(path, buf.getvalue())   # a reader never sees half a GIF
    return path
