"""Fixtures of the navigator tests: a lab database, apps in each mode, an in-process client.

The lab database (nav_fake_lab.py) is built once per session in a SQLite file; tests that change
data get their own copy. Requests go through httpx's ASGI transport: no server, no socket, the
app's real middleware and routes.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import nav_fake_lab as fake_lab
import pytest
from argon2 import PasswordHasher
from nav_helpers import PASSWORDS, PREFIX, USERS_SCHEMA, Client, lab_registry, make_config

import labjoin as dj
from labjoin.navigator import UserStore, create_app


@pytest.fixture(scope="session", autouse=True)
def _fast_password_hashes() -> Iterator[None]:
    """Cheap argon2 parameters: the tests hash and check passwords hundreds of times. Production
    keeps argon2-cffi's defaults (64 MiB, 3 passes)."""
    saved = UserStore._hasher, UserStore._dummy_hash
    UserStore._hasher, UserStore._dummy_hash = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1), None
    yield
    UserStore._hasher, UserStore._dummy_hash = saved


@pytest.fixture(scope="session")
def lab_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The lab database, built once; copy it before changing it."""
    path = tmp_path_factory.mktemp("navigator") / "lab.sqlite"
    conn = dj.Connection(f"sqlite:///{path}")
    fake_lab.build(conn, PREFIX)
    store = UserStore(conn, USERS_SCHEMA)
    store.add("ana", PASSWORDS["ana"], "admin")
    store.add("max", PASSWORDS["max"], "member")
    store.secret()  # made now, so apps over the shared copy never write to it
    conn.query("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    return path


@pytest.fixture
def lab_url(lab_template: Path, tmp_path: Path) -> str:
    """A private copy of the lab database."""
    target = tmp_path / "lab.sqlite"
    shutil.copy(lab_template, target)
    return f"sqlite:///{target}"


@pytest.fixture(scope="session")
def shared_url(lab_template: Path) -> str:
    """The lab database itself, for tests that only read."""
    return f"sqlite:///{lab_template}"


@pytest.fixture
def app_factory() -> Iterator[Callable[..., Any]]:
    """``app_factory(url, public=False, **config)``: apps closed after the test."""
    made: list[Any] = []

    def factory(url: str, **kw: Any) -> Any:
        app = create_app(make_config(url, **kw), registry=lab_registry())
        made.append(app)
        return app

    yield factory
    for app in made:
        app.state.navigator.database.close()


@pytest.fixture
def client_factory(app_factory: Callable[..., Any]) -> Iterator[Callable[..., Client]]:
    """``client_factory(url, user=None, public=False)``: a client, logged in as ``user``."""
    made: list[Client] = []

    def factory(url: str, user: str | None = None, **kw: Any) -> Client:
        c = Client(app_factory(url, **kw))
        made.append(c)
        if user:
            r = c.login(user)
            assert r.status_code == 303, r.text
        return c

    yield factory
    for c in made:
        c.close()


@pytest.fixture(scope="session")
def personas(shared_url: str) -> Iterator[dict[str, Client]]:
    """Clients that only read, logged in once per session: ``anonymous`` (private mode),
    ``public`` (anonymous, public mode), ``member`` and ``admin``; ``public_member`` is a member
    on the public-mode app."""
    private = create_app(make_config(shared_url), registry=lab_registry())
    public = create_app(make_config(shared_url, public=True), registry=lab_registry())
    clients = {"anonymous": Client(private), "public": Client(public), "member": Client(private),
               "admin": Client(private), "public_member": Client(public)}
    for name, user in (("member", "max"), ("admin", "ana"), ("public_member", "max")):
        r = clients[name].login(user)
        assert r.status_code == 303, r.text
    yield clients
    for c in clients.values():
        c.close()
    for app in (private, public):
        app.state.navigator.database.close()
