"""The navigator: ``labjoin serve``, a web application over any labjoin database.

Server-rendered pages (FastAPI + Jinja2) with a JSON twin for each, accounts with roles, a
public mode, and pages registered by pipeline packages (see :mod:`labjoin.navigator.registry`).

>>> from labjoin.navigator import NavigatorConfig, create_app
>>> app = create_app(NavigatorConfig(url="sqlite:///lab.sqlite"))      # doctest: +SKIP
"""

from __future__ import annotations

from .app import create_app
from .config import NavigatorConfig, PublicSubset
from .registry import DetailPage, Field, Figure, Link, ListPage, Registry, Select, TablePanel
from .users import User, UserStore

__all__ = [
    "DetailPage", "Field", "Figure", "Link", "ListPage", "NavigatorConfig", "PublicSubset", "Registry", "Select",
    "TablePanel", "User", "UserStore", "create_app",
]
