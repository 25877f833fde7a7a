"""A fake Kubernetes API for lightkube: an httpx2 transport that records requests and answers from a table.

    fake = KubeFake()
    fake.add("GET", "/apis/metallb.io/v1beta1/namespaces/ns/metallbs/metallb", json=obj)
    fake.add("PATCH", "/apis/.../ipaddresspools/p", json=obj, status=200)
    fake.add("GET", "/api/v1/namespaces/x/services/kube-apiserver", timeout=True)
    client = fake.client()                       # a lightkube.Client bound to this transport
    ...
    assert fake.calls() == ["GET /apis/...", "PATCH /apis/...?fieldManager=hcplb&force=false"]
    assert fake.requests[1].body == {...}        # parsed JSON or YAML body

A route matches on method and path; a route whose path contains `?` matches only that exact query
(query parameters compared as a sorted multiset), and wins over a route without a query. An answer
can be a single one, a list (answered in turn; the last one repeats), or a callable taking the
recorded request. Unmatched requests get Kubernetes' 404 `Status` (as a real API server answers
for anything it does not have), or raise `AssertionError` with `strict=True`.
"""

from __future__ import annotations

import json as jsonlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx2
import lightkube
from lightkube.config.kubeconfig import KubeConfig
from lightkube.config.models import Cluster, User
from ruamel.yaml import YAML

SERVER = "https://kube.fake.invalid:6443"


@dataclass(frozen=True)
class Recorded:
    """One request as the fake API server saw it."""

    method: str
    path: str
    query: tuple[tuple[str, str], ...]
    headers: Mapping[str, str]
    content_type: str
    text: str

    @property
    def body(self) -> Any:
        """The body parsed as JSON, or as YAML for apply-patch+yaml, or None when empty."""
        if not self.text:
            return None
        if "yaml" in self.content_type:
            return YAML(typ="safe").load(self.text)
        return jsonlib.loads(self.text)

    @property
    def params(self) -> dict[str, str]:
        return dict(self.query)

    def line(self) -> str:
        """`METHOD /path?sorted=query`: compact and stable, for asserting call sequences."""
        if not self.query:
            return f"{self.method} {self.path}"
        query = "&".join(f"{k}={v}" for k, v in sorted(self.query))
        return f"{self.method} {self.path}?{query}"


@dataclass(frozen=True)
class Answer:
    """What the fake answers: a JSON body with a status, or a timeout / connection error."""

    status: int = 200
    json: Any = None
    headers: Mapping[str, str] = field(default_factory=dict)
    timeout: bool = False
    connect_error: bool = False


AnswerLike = Answer | Sequence[Answer] | Callable[[Recorded], Answer]


def status_body(
    code: int, reason: str, message: str, *, details: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """A `metav1.Status` body as the API server sends with errors."""
    body: dict[str, Any] = {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    }
    if details is not None:
        body["details"] = dict(details)
    return body


def not_found(path: str) -> Answer:
    """The API server's 404 for a path: `<plural>.<group> "<name>" not found` when it can tell."""
    parts = [p for p in path.split("/") if p]
    name, kind, group = "", "", ""
    if len(parts) >= 2:
        name, kind = parts[-1], parts[-2]
        if parts[0] == "apis" and len(parts) > 1:
            group = parts[1]
    resource = f"{kind}.{group}" if group else kind
    message = (
        f'{resource} "{name}" not found'
        if name
        else "the server could not find the requested resource"
    )
    details = {"name": name, "group": group, "kind": kind} if name else None
    return Answer(404, status_body(404, "NotFound", message, details=details))


def conflict(message: str) -> Answer:
    """A server-side apply conflict (409) as the API server reports it."""
    return Answer(409, status_body(409, "Conflict", message))


def _split(path: str) -> tuple[str, tuple[tuple[str, str], ...] | None]:
    if "?" not in path:
        return path, None
    base, _, query = path.partition("?")
    return base, tuple(sorted(parse_qsl(query, keep_blank_values=True)))


class KubeFake(httpx2.BaseTransport):
    """The fake transport; `requests` holds every request seen, in order."""

    def __init__(self, *, strict: bool = False) -> None:
        self.strict = strict
        self.requests: list[Recorded] = []
        self._routes: dict[tuple[str, str, tuple[tuple[str, str], ...] | None], AnswerLike] = {}
        self._turns: dict[tuple[str, str, tuple[tuple[str, str], ...] | None], int] = {}

    def add(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        status: int = 200,
        headers: Mapping[str, str] | None = None,
        timeout: bool = False,
        connect_error: bool = False,
        answer: AnswerLike | None = None,
    ) -> KubeFake:
        """Route `method path[?query]` to an answer (given directly or built from the keywords)."""
        base, query = _split(path)
        if answer is None:
            answer = Answer(status, json, dict(headers or {}), timeout, connect_error)
        self._routes[(method.upper(), base, query)] = answer
        return self

    def client(
        self, *, namespace: str | None = None, field_manager: str | None = None, **kwargs: Any
    ) -> lightkube.Client:
        """A lightkube Client whose every request goes to this fake."""
        config = KubeConfig.from_one(
            cluster=Cluster(server=SERVER, insecure=True),
            user=User(token="fake-token"),
            namespace=namespace,
        )
        return lightkube.Client(
            config, transport=self, field_manager=field_manager, trust_env=False, **kwargs
        )

    def calls(self) -> list[str]:
        return [r.line() for r in self.requests]

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        url = urlsplit(str(request.url))
        query = tuple(sorted(parse_qsl(url.query, keep_blank_values=True)))
        content = request.read()
        recorded = Recorded(
            method=request.method,
            path=url.path,
            query=query,
            headers={k.lower(): v for k, v in request.headers.items()},
            content_type=request.headers.get("content-type", ""),
            text=content.decode() if content else "",
        )
        self.requests.append(recorded)
        answer = self._answer_for(recorded)
        if answer.timeout:
            raise httpx2.ReadTimeout(f"fake: no answer for {recorded.line()}", request=request)
        if answer.connect_error:
            raise httpx2.ConnectError(
                f"fake: connection refused for {recorded.line()}", request=request
            )
        headers = {"content-type": "application/json", **answer.headers}
        body = b"" if answer.json is None else jsonlib.dumps(answer.json).encode()
        return httpx2.Response(answer.status, headers=headers, content=body, request=request)

    def _answer_for(self, recorded: Recorded) -> Answer:
        key_exact = (recorded.method, recorded.path, recorded.query)
        key_any = (recorded.method, recorded.path, None)
        key = key_exact if key_exact in self._routes else key_any
        route = self._routes.get(key)
        if route is None:
            if self.strict:
                raise AssertionError(f"fake kube: unexpected request {recorded.line()}")
            return not_found(recorded.path)
        if isinstance(route, Answer):
            return route
        if callable(route):
            return route(recorded)
        turn = self._turns.get(key, 0)
        self._turns[key] = turn + 1
        return route[min(turn, len(route) - 1)]
