"""``python -m neurophys site [--out DIR]``: build the offline course site."""
from __future__ import annotations

from pathlib import Path
from .build import build_site


def add_arguments(parser):
    parser.add_argument("--out", type=Path, default=Path("neurophys-site"), metavar="DIR",
                        help="folder to write the site into (default: ./neurophys-site)")
    parser.add_argument("--lessons", nargs="+", default=None, metavar="NN",
                        help="render only these lessons (default: all)")


def main(args) -> int:
    index = build_site(args.out, lessons=args.lessons)
    pages = sorted(p.name for p in index.parent.glob("[0-9][0-9]_*.html"))
    print(f"wrote {index} and {len(pages)} lesson page(s); open {index.resolve().as_uri()} in a browser "
          "(works offline)")
    return 0
