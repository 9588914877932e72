"""/docs and /redoc work without internet: their scripts and styles are the vendored files the
API serves itself (issue 13, part 6), and nothing on either page comes from another host."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from api import create_app
from pakhuis.store import Store

pytestmark = pytest.mark.integration

_EXTERNAL = re.compile(r"""(src|href)\s*=\s*["']?(https?:)?//""", re.IGNORECASE)


@pytest.fixture
def client(store: Store) -> Iterator[TestClient]:
    with TestClient(create_app(store)) as test_client:
        yield test_client


@pytest.mark.parametrize(
    ("page", "assets"),
    [
        ("/docs", ["/static/vendor/swagger-ui-bundle.js", "/static/vendor/swagger-ui.css"]),
        ("/redoc", ["/static/vendor/redoc.standalone.js"]),
    ],
)
def test_doc_pages_load_only_vendored_files(client: TestClient, page: str, assets: list[str]) -> None:
    html = client.get(page)
    assert html.status_code == 200
    assert not _EXTERNAL.search(html.text), _EXTERNAL.search(html.text)
    for asset in assets:
        assert asset in html.text
        served = client.get(asset)
        assert served.status_code == 200
        assert len(served.content) > 100_000  # the real bundle, not a stub
        kind = "css" if asset.endswith(".css") else "javascript"
        assert kind in served.headers["content-type"]
    assert "/openapi.json" in html.text


def test_the_vendored_versions_and_licences_ship_with_them(client: TestClient) -> None:
    listing = client.get("/static/vendor/VENDORED.txt").text
    assert "swagger-ui-dist 5.35.0 (Apache-2.0)" in listing
    assert "redoc 2.5.4 (MIT)" in listing
    assert "Apache License" in client.get("/static/vendor/swagger-ui.LICENSE").text
