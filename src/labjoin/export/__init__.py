"""Dataset bundles: hand a restricted part of a pipeline to someone else as one SQLite file.

>>> report = dj.export(Session & key, "session.sqlite", downstream=True)   # doctest: +SKIP
>>> dj.import_("session.sqlite", connection=dj.conn())                     # doctest: +SKIP

:func:`export` (``collect.py``) writes the restricted rows, every row they reference and, with
``downstream=True``, every row that depends on them, with the table definitions, into a new
SQLite file that is itself a labjoin database. :func:`import_` (``load.py``) loads such a file
into any backend, declaring missing tables and skipping rows that exist. See docs/export.md.

The module is callable, ``dj.export(...)`` being the function: ``labjoin.export`` is both this
package and the name DataJoint users call, and Python binds a subpackage over the attribute of
the same name once it is imported.
"""

from __future__ import annotations

import sys
import types
from typing import Any

from .collect import BUNDLE_INFO, ExportReport, export
from .load import ImportReport, import_

__all__ = ["BUNDLE_INFO", "ExportReport", "ImportReport", "bundle_info", "export", "import_"]


def bundle_info(path: str) -> dict[str, str]:
    """What a bundle says about itself: source, seeds, creation time, format."""
    import sqlite3

    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
        try:
            return dict(db.execute(f'SELECT key, value FROM "{BUNDLE_INFO}"').fetchall())
        except sqlite3.OperationalError:
            return {}  # a plain labjoin SQLite database: no bundle record, still importable


class _CallableModule(types.ModuleType):
    def __call__(self, *args: Any, **kwargs: Any) -> ExportReport:
        return export(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
