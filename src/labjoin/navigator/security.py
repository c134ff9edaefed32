"""Sessions, CSRF tokens and login rate limiting.

* A session is a signed cookie (itsdangerous, HttpOnly, SameSite=Lax, Secure behind HTTPS)
  holding a random session id and, once logged in, the user name and a fingerprint of the
  password hash: changing a password ends every session of that user. Every visitor gets a
  session id, so that forms shown before login (the login form itself) carry a CSRF token.
* A CSRF token is an HMAC of the session id; every form posts it back (or scripts send it in
  the ``X-CSRF-Token`` header). Requests authenticated by an API token carry no cookie and
  need none.
* :class:`RateLimiter` counts failed logins per client address and per user name in a sliding
  window; past the limit, login attempts are refused with HTTP 429 until the window passes.
* :class:`SessionMiddleware` decodes the cookie before the request reaches a route and writes
  a changed session back, without a database round trip (user lookup happens in the route's
  thread).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from collections import defaultdict, deque
from typing import Any

from itsdangerous import BadSignature, URLSafeTimedSerializer

__all__ = ["COOKIE", "RateLimiter", "SessionCodec", "SessionMiddleware"]

COOKIE = "labjoin_session"


class SessionCodec:
    """Signs and reads session cookies; makes and checks CSRF tokens."""

    def __init__(self, secret: str, *, max_age: int, secure: bool = False) -> None:
        self._secret = secret.encode()
        self._serializer = URLSafeTimedSerializer(secret, salt="labjoin-navigator-session")
        self.max_age = max_age
        self.secure = secure

    def load(self, cookie: str | None) -> dict[str, Any] | None:
        if not cookie:
            return None
        try:
            data = self._serializer.loads(cookie, max_age=self.max_age)
        except BadSignature:  # includes SignatureExpired: an old or forged cookie is no session
            return None
        return data if isinstance(data, dict) and isinstance(data.get("sid"), str) else None

    def dump(self, data: dict[str, Any]) -> str:
        return self._serializer.dumps(data)

    @staticmethod
    def new(user: str | None = None, fingerprint: str = "") -> dict[str, Any]:
        data: dict[str, Any] = {"sid": secrets.token_urlsafe(18)}
        if user:
            data["u"], data["fp"] = user, fingerprint
        return data

    def csrf_token(self, sid: str) -> str:
        return hmac.new(self._secret, b"csrf:" + sid.encode(), hashlib.sha256).hexdigest()

    def check_csrf(self, sid: str, token: str | None) -> bool:
        return bool(token) and hmac.compare_digest(self.csrf_token(sid), str(token))

    def cookie_header(self, data: dict[str, Any] | None) -> bytes:
        """A ``Set-Cookie`` header value: the session, or an expired cookie when ``data`` is None."""
        attrs = "; Path=/; HttpOnly; SameSite=Lax" + ("; Secure" if self.secure else "")
        if data is None:
            return f"{COOKIE}=; Max-Age=0{attrs}".encode()
        return f"{COOKIE}={self.dump(data)}; Max-Age={self.max_age}{attrs}".encode()


class SessionMiddleware:
    """ASGI middleware: ``scope["state"]["session"]`` from the cookie; writes it back when a
    route replaced it (``request.state.session_changed = True``) or when it is new."""

    def __init__(self, app: Any, codec_getter: Any) -> None:
        self.app = app
        self._codec_getter = codec_getter

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        codec: SessionCodec = self._codec_getter()
        cookie = None
        for name, value in scope.get("headers", ()):
            if name == b"cookie":
                for part in value.decode("latin-1").split(";"):
                    k, _, v = part.strip().partition("=")
                    if k == COOKIE:
                        cookie = v
        state = scope.setdefault("state", {})
        session = codec.load(cookie)
        state["session_changed"] = session is None and not _has_bearer(scope)
        state["session"] = session or codec.new()

        async def send_wrapper(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start" and state.get("session_changed"):
                headers = list(message.get("headers", ()))
                headers.append((b"set-cookie", codec.cookie_header(state.get("session"))))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_wrapper)


def _has_bearer(scope: dict[str, Any]) -> bool:
    return any(k == b"authorization" and v[:7].lower() == b"bearer " for k, v in scope.get("headers", ()))


class RateLimiter:
    """At most ``attempts`` failures per key within ``window`` seconds."""

    def __init__(self, attempts: int, window: float) -> None:
        self.attempts = attempts
        self.window = window
        self._failures: dict[str, deque[float]] = defaultdict(deque)
        self._lock = threading.Lock()

    def _prune(self, key: str, now: float) -> deque[float]:
        q = self._failures[key]
        while q and now - q[0] > self.window:
            q.popleft()
        return q

    def retry_after(self, *keys: str) -> float:
        """Seconds until another attempt is allowed for every key (0: allowed now)."""
        now = time.monotonic()
        wait = 0.0
        with self._lock:
            for key in keys:
                q = self._prune(key, now)
                if len(q) >= self.attempts:
                    wait = max(wait, self.window - (now - q[0]))
        return wait

    def fail(self, *keys: str) -> None:
        now = time.monotonic()
        with self._lock:
            for key in keys:
                self._prune(key, now).append(now)

    def reset(self, *keys: str) -> None:
        with self._lock:
            for key in keys:
                self._failures.pop(key, None)
