"""Every URL the navigator links to, built in one place.

Data functions put URLs into their results (so the JSON twin of a page carries the same links
as the HTML page); they build them with a :class:`Urls` object that knows the app's root path.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import quote, urlencode

from .values import key_params

__all__ = ["Urls"]


def _seg(text: str) -> str:
    return quote(str(text), safe="")


class Urls:
    """URL builder for an app served under ``root`` (``""`` at the server's root)."""

    def __init__(self, root: str = "") -> None:
        self.root = root.rstrip("/")

    def _u(self, path: str, params: Mapping[str, Any] | Iterable[tuple[str, Any]] | None = None) -> str:
        url = self.root + path
        if params:
            items = list(params.items()) if isinstance(params, Mapping) else list(params)
            if items:
                url += "?" + urlencode(items)
        return url

    def home(self) -> str:
        return self._u("/")

    def static(self, name: str) -> str:
        return self._u(f"/static/{name}")

    def login(self, next_url: str | None = None) -> str:
        return self._u("/login", {"next": next_url} if next_url else None)

    def logout(self) -> str:
        return self._u("/logout")

    def account(self) -> str:
        return self._u("/account")

    def schemas(self) -> str:
        return self._u("/schemas")

    def schema(self, schema: str) -> str:
        return self._u(f"/schemas/{_seg(schema)}")

    def diagram(self, schema: str) -> str:
        return self._u(f"/schemas/{_seg(schema)}/diagram.svg")

    def jobs(self, schema: str) -> str:
        return self._u(f"/schemas/{_seg(schema)}/jobs")

    def job_action(self, schema: str, action: str) -> str:
        return self._u(f"/schemas/{_seg(schema)}/jobs/{action}")

    def table(self, schema: str, table: str, params: Any = None) -> str:
        return self._u(f"/schemas/{_seg(schema)}/{_seg(table)}", params)

    def row(self, schema: str, table: str, key: Mapping[str, Any]) -> str:
        return self._u(f"/schemas/{_seg(schema)}/{_seg(table)}/row", key_params(key))

    def export(self, schema: str, table: str, fmt: str, params: Any = None) -> str:
        return self._u(f"/schemas/{_seg(schema)}/{_seg(table)}/export.{fmt}", params)

    def edit(self, schema: str, table: str, action: str, key: Mapping[str, Any] | None = None) -> str:
        return self._u(f"/schemas/{_seg(schema)}/{_seg(table)}/{action}", key_params(key) if key else None)

    def lab(self, page: str, params: Any = None) -> str:
        return self._u(f"/lab/{_seg(page)}", params)

    def lab_panel(self, page: str, panel: str, params: Any = None) -> str:
        return self._u(f"/api/lab/{_seg(page)}/panel/{_seg(panel)}", params)

    def api(self, url: str) -> str:
        """The JSON twin of a page URL built by this object."""
        return self.root + "/api" + url[len(self.root):]
