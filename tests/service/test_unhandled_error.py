"""An unexpected exception in a route is a 500 problem that carries the request id and
keeps the connection alive (Starlette's own 500, outside every middleware, had neither)."""

from __future__ import annotations

import httpx

from twsbridge.service import ServiceSettings
from twsbridge.service.app import create_app


async def test_an_unhandled_error_is_a_500_problem_with_the_request_id(tmp_path: object) -> None:
    app = create_app(ServiceSettings(journal_url=f"sqlite:///{tmp_path}/j.sqlite3"))

    @app.get("/boom", include_in_schema=False)
    async def boom() -> None:
        raise RuntimeError("a bug")

    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
        r = await http.get("/boom", headers={"X-Request-ID": "boom-1"})
    assert r.status_code == 500
    assert r.headers["x-request-id"] == "boom-1"
    assert r.headers["content-type"].startswith("application/problem+json")
    problem = r.json()
    assert problem["type"] == "urn:twsbridge:problem:internal-error"
    assert problem["detail"] == "RuntimeError" and "a bug" not in r.text
