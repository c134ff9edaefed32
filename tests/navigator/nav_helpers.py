"""Helpers of the navigator tests: an in-process client, the lab registry, names."""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from typing import Any

import httpx
import nav_fake_lab as fake_lab

from labjoin.navigator import NavigatorConfig, PublicSubset, Registry

PREFIX = "navigator_test_"
USERS_SCHEMA = "navigator_test_users"
PASSWORDS = {"ana": "ana-password", "max": "max-password"}
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


class Client:
    """A synchronous client over the app's ASGI interface, keeping cookies between requests."""

    def __init__(self, app: Any, root_path: str = "") -> None:
        self.app = app
        self.loop = asyncio.new_event_loop()
        self.root = root_path
        self.http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app, root_path=root_path),
                                      base_url="http://testserver", follow_redirects=False)

    def request(self, method: str, url: str, **kw: Any) -> httpx.Response:
        return self.loop.run_until_complete(self.http.request(method, url, **kw))

    def get(self, url: str, **kw: Any) -> httpx.Response:
        return self.request("GET", url, **kw)

    def post(self, url: str, **kw: Any) -> httpx.Response:
        return self.request("POST", url, **kw)

    def csrf(self, page: str = "/login") -> str:
        """The CSRF token of this client's session, read from a form."""
        m = CSRF.search(self.get(self.root + page).text)
        assert m, f"no CSRF token on {page}"
        return m.group(1)

    def login(self, user: str, password: str | None = None) -> httpx.Response:
        token = self.csrf()
        return self.post(self.root + "/login", data={"username": user, "password": password or PASSWORDS[user],
                                         "csrf_token": token, "next": "/"})

    def close(self) -> None:
        self.loop.run_until_complete(self.http.aclose())
        self.loop.close()


def lab_registry() -> Registry:
    reg = Registry()
    fake_lab.register(reg, PREFIX)
    reg.check()
    return reg


def public_subset() -> PublicSubset:
    return PublicSubset.from_keys([{"subject_nickname": n} for n in fake_lab.PUBLIC_NICKNAMES])


def make_config(url: str, **kw: Any) -> NavigatorConfig:
    kw.setdefault("users_schema", USERS_SCHEMA)
    kw.setdefault("entry_points", False)
    kw.setdefault("public_subset", public_subset())
    return NavigatorConfig(url=url, **kw)


def json_of(r: httpx.Response) -> Any:
    return json.loads(r.text)


def schema_names() -> dict[str, str]:
    return fake_lab.schemas(PREFIX)


def first_subject_key() -> dict[str, str]:
    return {"subject_uuid": str(fake_lab.subject_uuid(0))}


def new_schema_name() -> str:
    return f"{PREFIX}{uuid.uuid4().hex[:8]}"
