"""Downloads of a table's filtered rows as CSV, JSON or Parquet.

The rows are those of the table page with the same filters and sort (all pages), without blob
attributes: blobs are downloaded from Python (``fetch``), not as text. At most
``max_rows`` rows go into one file; a larger selection is refused with a message saying so.
"""

from __future__ import annotations

import io
import json
from typing import Any

from .. import errors
from .db import Tables
from .filters import TableQuery, compile_filters, sort_order
from .values import to_json

__all__ = ["FORMATS", "export_rows"]

FORMATS = {"csv": "text/csv; charset=utf-8", "json": "application/json",
           "parquet": "application/vnd.apache.parquet"}


def export_rows(db: Tables, schema: str, name: str, q: TableQuery, fmt: str, *,
                max_rows: int) -> tuple[bytes, str, str]:
    """(file contents, media type, file name) of the filtered rows in ``fmt``."""
    if fmt not in FORMATS:
        raise errors.DataError(f"Download format {fmt!r}: use csv, json or parquet.")
    ref = db.ref(schema, name)
    table = ref.free(db.conn)
    heading = table.heading
    restricted = table & compile_filters(heading, q.filters, q.combine)
    n = len(restricted)
    if n > max_rows:
        raise errors.DataError(
            f"The selection has {n:,} rows; a download holds at most {max_rows:,}. Add filters to narrow it."
        )
    names = list(q.columns) or [a for a in heading.names if not heading[a].is_blob]
    for a in names:
        if heading[a].is_blob:
            raise errors.DataError(f"`{a}` is a blob; downloads hold no blobs.")
    rows = restricted.fetch(*names, as_dict=True, order_by=sort_order(heading, q.sort)) if names else []
    filename = f"{schema}.{ref.class_name}.{fmt}"
    if fmt == "json":
        body = json.dumps([{k: to_json(v) for k, v in r.items()} for r in rows], ensure_ascii=False).encode()
        return body, FORMATS[fmt], filename
    import pandas as pd

    frame = pd.DataFrame({a: [to_json(r[a]) if _textual(heading[a]) else r[a] for r in rows] for a in names},
                         columns=names)
    if fmt == "csv":
        return frame.to_csv(index=False).encode(), FORMATS[fmt], filename
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError as e:
        raise errors.DataError("Parquet downloads need pyarrow: pip install 'labjoin[arrow]'.") from e
    buf = io.BytesIO()
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), buf)
    return buf.getvalue(), FORMATS[fmt], filename


def _textual(attr: Any) -> bool:
    """Attributes written as text in every format (UUIDs, decimals, times, JSON)."""
    return attr.category in ("UUID", "DECIMAL", "TIME", "JSON")
