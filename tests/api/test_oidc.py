"""OpenID Connect bearer tokens (issue 14 part 1): signed by a locally generated key, whose JWKS
(and discovery document) a tiny HTTP server in the test serves. A valid token is accepted with
its role and tenant; expired, wrong audience, wrong issuer, unknown key id, `alg=none`, HMAC
with the public key, and a tampered signature are all 401."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from fastapi.testclient import TestClient
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from api import create_app
from pakhuis.access.tokens import OidcConfig
from pakhuis.errors import ConfigurationError
from pakhuis.settings import load_settings
from pakhuis.store import Store
from tests.support import free_port

pytestmark = pytest.mark.integration

AUDIENCE = "pakhuis-api"
RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
EC_KEY = ec.generate_private_key(ec.SECP256R1())
UNPUBLISHED_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _jwk(public: Any, kid: str, algorithm: str) -> dict[str, Any]:
    to_jwk = RSAAlgorithm.to_jwk if algorithm == "RS256" else ECAlgorithm.to_jwk
    jwk: dict[str, Any] = to_jwk(public, as_dict=True)
    return {**jwk, "kid": kid, "alg": algorithm, "use": "sig"}


class Issuer:
    """An identity provider's public side: discovery document and JWKS, over real HTTP."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.jwks_fetches = 0
        keys = [_jwk(RSA_KEY.public_key(), "rsa-1", "RS256"), _jwk(EC_KEY.public_key(), "ec-1", "ES256")]
        documents = {
            "/.well-known/openid-configuration": {"issuer": self.url, "jwks_uri": f"{self.url}/keys"},
            "/keys": {"keys": keys},
        }
        issuer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                document = documents.get(self.path)
                if self.path == "/keys":
                    issuer.jwks_fetches += 1
                body = json.dumps(document).encode()
                self.send_response(200 if document else 404)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> Issuer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def token(
        self,
        *,
        key: Any = RSA_KEY,
        kid: str = "rsa-1",
        algorithm: str = "RS256",
        **claims: Any,
    ) -> str:
        now = int(time.time())
        body = {"iss": self.url, "aud": AUDIENCE, "sub": "alice", "iat": now, "exp": now + 300, **claims}
        body = {k: v for k, v in body.items() if v is not None}
        return jwt.encode(body, key, algorithm=algorithm, headers={"kid": kid})


@pytest.fixture(scope="module")
def issuer() -> Iterator[Issuer]:
    with Issuer() as running:
        yield running


@pytest.fixture
def client(store: Store, issuer: Issuer) -> Iterator[TestClient]:
    # The keys' address from the issuer's discovery document (PAKHUIS_OIDC_JWKS_URL unset).
    with TestClient(create_app(store, oidc=OidcConfig(issuer.url, AUDIENCE))) as test_client:
        yield test_client


def _status(client: TestClient, token: str, method: str = "GET", path: str = "/api/v1/schedule") -> int:
    response = client.request(method, path, headers={"Authorization": f"Bearer {token}"}, json={})
    if response.status_code == 401:
        assert response.json()["error"]["code"] == "unauthenticated"
        assert response.headers["www-authenticate"].startswith("Bearer")
    return int(response.status_code)


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def test_a_valid_token_is_accepted_with_its_role(client: TestClient, issuer: Issuer) -> None:
    planner = issuer.token(pakhuis_role="planner")
    assert _status(client, planner) not in (401, 403, 500)  # the schedule (409: no model yet)
    assert _status(client, planner, path="/metrics") == 403  # planners are not operators
    es256 = issuer.token(key=EC_KEY, kid="ec-1", algorithm="ES256", pakhuis_role="operator")
    assert _status(client, es256, path="/metrics") == 200
    # A group token acts on its own tenant only.
    group = issuer.token(pakhuis_role="group", pakhuis_tenant="demo")
    assert _status(client, group, "PUT", "/api/v1/sensors/demo/s-1") == 200
    assert _status(client, group, "PUT", "/api/v1/sensors/haarlem/s-1") == 403
    # A valid token without a pakhuis role reads what the public reads, nothing more.
    nobody = issuer.token()
    assert _status(client, nobody, path="/api/v1/sensors") == 200
    assert _status(client, nobody) == 403


@pytest.mark.parametrize(
    "case",
    [
        "expired",
        "wrong audience",
        "wrong issuer",
        "unknown key id",
        "signed by a key the issuer does not publish",
        "alg none",
        "HS256 with the public key as secret",
        "tampered payload",
        "tampered signature",
        "no expiry",
        "group without tenant",
        "not a JWT",
    ],
)
def test_bad_tokens_are_refused_with_401(client: TestClient, issuer: Issuer, case: str) -> None:
    role = {"pakhuis_role": "admin"}
    now = int(time.time())
    if case == "expired":
        token = issuer.token(exp=now - 3600, iat=now - 7200, **role)
    elif case == "wrong audience":
        token = issuer.token(aud="another-app", **role)
    elif case == "wrong issuer":
        token = issuer.token(iss="https://login.elsewhere.example", **role)
    elif case == "unknown key id":
        token = issuer.token(kid="rsa-404", **role)
    elif case == "signed by a key the issuer does not publish":
        token = issuer.token(key=UNPUBLISHED_KEY, **role)
    elif case == "alg none":
        header = _b64({"alg": "none", "typ": "JWT", "kid": "rsa-1"})
        claims = _b64({"iss": issuer.url, "aud": AUDIENCE, "sub": "mallory", "exp": now + 300, **role})
        token = f"{header}.{claims}."
    elif case == "HS256 with the public key as secret":
        public_pem = RSA_KEY.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        header = _b64({"alg": "HS256", "typ": "JWT", "kid": "rsa-1"})
        claims = _b64({"iss": issuer.url, "aud": AUDIENCE, "sub": "mallory", "exp": now + 300, **role})
        mac = hmac.new(public_pem, f"{header}.{claims}".encode(), hashlib.sha256).digest()
        token = f"{header}.{claims}.{base64.urlsafe_b64encode(mac).rstrip(b'=').decode()}"
    elif case == "tampered payload":
        header, _, signature = issuer.token(pakhuis_role="planner").split(".")
        claims = _b64({"iss": issuer.url, "aud": AUDIENCE, "sub": "alice", "exp": now + 300, **role})
        token = f"{header}.{claims}.{signature}"
    elif case == "tampered signature":
        header, claims, signature = issuer.token(**role).split(".")
        flipped = "A" if signature[5] != "A" else "B"
        token = f"{header}.{claims}.{signature[:5]}{flipped}{signature[6:]}"
    elif case == "no expiry":
        token = issuer.token(exp=None, **role)
    elif case == "group without tenant":
        token = issuer.token(pakhuis_role="group")
    else:
        token = "not.a.jwt"
    assert _status(client, token) == 401


def test_unknown_key_ids_do_not_hammer_the_issuer(client: TestClient, issuer: Issuer) -> None:
    assert _status(client, issuer.token(pakhuis_role="planner")) != 401
    before = issuer.jwks_fetches
    for i in range(20):
        assert _status(client, issuer.token(kid=f"forged-{i}", pakhuis_role="admin")) == 401
    assert issuer.jwks_fetches - before <= 1


def test_an_explicit_jwks_url_and_an_unreachable_issuer(store: Store, issuer: Issuer) -> None:
    explicit = OidcConfig("https://login.example.org/realms/city", AUDIENCE, jwks_url=f"{issuer.url}/keys")
    token = issuer.token(iss="https://login.example.org/realms/city", pakhuis_role="operator")
    with TestClient(create_app(store, oidc=explicit)) as client:
        assert _status(client, token, path="/metrics") == 200
    gone = OidcConfig(f"http://127.0.0.1:{free_port()}", AUDIENCE)
    with TestClient(create_app(store, oidc=gone)) as client:
        response = client.get(
            "/metrics", headers={"Authorization": f"Bearer {issuer.token(pakhuis_role='admin')}"}
        )
        # The identity provider is down: an outage (retry later), not the caller's bad token.
        assert response.status_code == 503 and response.json()["error"]["code"] == "oidc_unavailable"


def test_settings_need_an_audience_with_an_issuer() -> None:
    assert OidcConfig.from_settings(load_settings()) is None
    with pytest.raises(ConfigurationError, match="PAKHUIS_OIDC_AUDIENCE"):
        OidcConfig.from_settings(load_settings(oidc_issuer="https://login.example.org"))
    config = OidcConfig.from_settings(
        load_settings(oidc_issuer="https://login.example.org", oidc_audience="x")
    )
    assert (
        config is not None and config.role_claim == "pakhuis_role" and config.tenant_claim == "pakhuis_tenant"
    )
