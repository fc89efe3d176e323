"""The course site: ``python -m neurophys site --out DIR`` writes offline static HTML.

    from neurophys.site import build_site
    index = build_site("site/")      # index.html + one page per lesson, figures copied beside them

Equations are typeset as MathML at build time (latex2mathml), so the pages need no
script and no network; see :mod:`neurophys.site.build` and :mod:`neurophys.site.mathtext`.
"""
from .build import SiteError, build_site, exercises_for

__all__ = ["SiteError", "build_site", "exercises_for"]
