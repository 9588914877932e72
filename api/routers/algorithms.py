"""The public algorithm register: `GET /algorithms`, an HTML page for the public, JSON with
`Accept: application/json` or `?f=json` (both in the OpenAPI document). Built on every request
from the configuration in force and the stored fill model (`geo.plan.build_algorithm_register`),
with the coverage totals and the fairness figure."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from html import escape
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel

from api.deps import get_store
from api.json_rows import json_document
from api.privacy import Disclosure, get_disclosure
from api.routers.coverage import coverage_of
from api.routers.planning import get_plan_config
from geo.plan import PlanConfig
from pakhuis import __version__
from pakhuis.settings import Settings, load_settings
from pakhuis.store import Store

__all__ = ["router"]

router = APIRouter(tags=["transparency"])


@dataclass(frozen=True)
class RegisterConfiguration:
    """The settings the register describes, and when this process read them."""

    settings: Settings
    read_at: datetime


def get_register_configuration(request: Request) -> RegisterConfiguration:
    """The app's settings (`app.state.settings` when the factory's caller set them), else the
    environment's as `load_settings` reads them -- once per app, so the page states one time."""
    state = request.app.state
    cached = getattr(state, "register_configuration", None)
    if isinstance(cached, RegisterConfiguration):
        return cached
    given = getattr(state, "settings", None)
    configuration = RegisterConfiguration(
        given if isinstance(given, Settings) else load_settings(), datetime.now(UTC)
    )
    state.register_configuration = configuration
    return configuration


class RuleOut(BaseModel):
    key: str
    name: str
    value: float | int | str | list[str] | None
    unit: str
    source: str


class LastChangeOut(BaseModel):
    at: datetime | None
    what: str


class AlgorithmOut(BaseModel):
    id: str
    name: str
    purpose: str
    data_used: list[str]
    how_it_works: str
    rules: list[RuleOut]
    human_oversight: str
    objection: str
    last_change: LastChangeOut
    current: dict[str, Any]


class RegisterOut(BaseModel):
    software_version: str
    configured_at: datetime
    fields: dict[str, str]
    algorithms: list[AlgorithmOut]
    fairness: dict[str, Any] | None
    coverage: dict[str, Any]


def _document(
    store: Store, config: PlanConfig, configuration: RegisterConfiguration, disclosure: Disclosure
) -> dict[str, Any]:
    # Imported here: the register's modules need geopandas, which the app factory does not load.
    from geo.jobs import district_rate_sources
    from geo.plan import AlertConfig, build_algorithm_register

    register = build_algorithm_register(
        config,
        AlertConfig.from_settings(configuration.settings),
        store.fill_model(),
        configured_at=configuration.read_at,
        software_version=__version__,
    )
    coverage = coverage_of(store, disclosure).to_geojson()
    fairness = district_rate_sources(store, config)
    return {
        **register.as_dict(),
        "fairness": fairness.as_dict() if fairness is not None else None,
        "coverage": {"layer": "/api/v1/coverage", **coverage["totals"], "cell_size": coverage["cell_size"]},
    }


def _wants_json(request: Request, f: str | None) -> bool:
    if f is not None:
        return f == "json"
    accept = request.headers.get("accept", "")
    return "application/json" in accept and "text/html" not in accept


@router.get(
    "/algorithms",
    responses={
        200: {
            "model": RegisterOut,
            "description": "The register: an HTML page, or JSON (`?f=json` or `Accept: application/json`)",
            "content": {"text/html": {"schema": {"type": "string"}}},
        }
    },
)
def algorithms(
    request: Request,
    store: Annotated[Store, Depends(get_store)],
    config: Annotated[PlanConfig, Depends(get_plan_config)],
    configuration: Annotated[RegisterConfiguration, Depends(get_register_configuration)],
    disclosure: Annotated[Disclosure, Depends(get_disclosure)],
    f: Annotated[
        Literal["html", "json"] | None, Query(description="html or json; default from the Accept header")
    ] = None,
) -> Response:
    """The public algorithm register: per algorithm the Algoritmeregister's fields (name, purpose,
    data used, rules and thresholds as configured now with where each is set, human oversight,
    how to object, last change), the sensor coverage totals and the schedule's fairness figure."""
    document = _document(store, config, configuration, disclosure)
    if _wants_json(request, f):
        return Response(json_document(document), media_type="application/json")
    return HTMLResponse(render_register(document))


# ------------------------------------------------------------------------------ the HTML page

_STYLE = """
body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#222}
body{line-height:1.45}
h1{font-size:1.6rem}h2{font-size:1.25rem;margin-top:2.2rem;border-bottom:1px solid #ccc}
dt{font-weight:600;margin-top:.6rem}dd{margin-left:1.2rem}
table{border-collapse:collapse;margin:.4rem 0;font-size:.92rem}
td,th{border:1px solid #ccc;padding:.2rem .5rem;text-align:left;vertical-align:top}
th{background:#f3f3f3}.num{text-align:right}.src{color:#555;font-family:monospace;font-size:.85rem}
.meta{color:#555}
/* A phone: setting names wrap, and a table wider than the screen scrolls on its own. */
@media (max-width:40rem){body{margin:1rem auto}.src{overflow-wrap:anywhere}dd{margin-left:.4rem}
table{display:block;max-width:100%;overflow-x:auto}}
"""


def _text(value: Any) -> str:
    """Any value as escaped text (lists joined, None as a dash)."""
    if value is None:
        return "–"
    if isinstance(value, list | tuple):
        return escape(", ".join(str(v) for v in value))
    if isinstance(value, float):
        return escape(f"{value:g}")
    return escape(str(value))


def _rules_table(rules: list[dict[str, Any]]) -> str:
    rows = "".join(
        f"<tr><td>{_text(r['name'])}</td><td class='num'>{_text(r['value'])}</td><td>{_text(r['unit'])}</td>"
        f"<td class='src'>{_text(r['source'])}</td></tr>"
        for r in rules
    )
    return f"<table><tr><th>rule</th><th>value</th><th>unit</th><th>set in</th></tr>{rows}</table>"


def _current_table(current: dict[str, Any]) -> str:
    if not current:
        return ""
    rows = "".join(f"<tr><th>{_text(k)}</th><td>{_text(v)}</td></tr>" for k, v in current.items())
    return f"<dt>current state</dt><dd><table>{rows}</table></dd>"


def _algorithm_section(a: dict[str, Any], labels: dict[str, str]) -> str:
    change = a["last_change"]
    when = change["at"] or ""
    data = "".join(f"<li>{_text(d)}</li>" for d in a["data_used"])

    def term(key: str) -> str:
        label = _text(labels.get(key, ""))
        return f"<dt>{_text(key.replace('_', ' '))} <span class='meta'>({label})</span></dt>"

    return (
        f"<section id='{_text(a['id'])}'><h2>{_text(a['name'])}</h2><dl>"
        f"{term('purpose')}<dd>{_text(a['purpose'])}</dd>"
        f"{term('data_used')}<dd><ul>{data}</ul></dd>"
        f"{term('how_it_works')}<dd>{_text(a['how_it_works'])}</dd>"
        f"{term('rules')}<dd>{_rules_table(a['rules'])}</dd>"
        f"{_current_table(a['current'])}"
        f"{term('human_oversight')}<dd>{_text(a['human_oversight'])}</dd>"
        f"{term('objection')}<dd>{_text(a['objection'])}</dd>"
        f"{term('last_change')}<dd>{_text(change['what'])} {_text(when)}</dd>"
        "</dl></section>"
    )


def _fairness_section(fairness: dict[str, Any] | None) -> str:
    head = "<section id='fairness'><h2>Fairness of the schedule</h2>"
    if fairness is None:
        return (
            head + "<p>Not available yet: no fill model has been fitted (`pakhuis plan refit`).</p></section>"
        )
    rows = "".join(
        f"<tr><td>{_text(d['district'])}</td><td class='num'>{_text(d['drains'])}</td>"
        f"<td class='num'>{_text(d['rate_from_sensor'])}</td>"
        f"<td class='num'>{_text(d['rate_from_model'])}</td>"
        f"<td class='num'>{_text(round(100 * d['share_from_sensor'], 1))} %</td></tr>"
        for d in fairness["districts"]
    )
    share = fairness["share_from_sensor"]
    return (
        head + "<p>Per district: drains whose fill rate comes from their own sensor, and drains that rely "
        "on the environment model. Where sensors are few, the schedule rests on the model; it is "
        "tested to give districts with and without sensors the same share of due drains "
        "when their surroundings are the same.</p>"
        f"<p>City-wide {_text(fairness['drains'])} drains, "
        f"{_text(None if share is None else round(100 * share, 1))} % with a sensor-based rate; "
        f"{_text(fairness['districts_without_sensor'])} districts without any.</p>"
        "<table><tr><th>district</th><th>drains</th><th>rate from sensor</th><th>rate from model</th>"
        f"<th>share from sensor</th></tr>{rows}</table></section>"
    )


def _coverage_section(coverage: dict[str, Any]) -> str:
    size = coverage.get("cell_size")
    if size is None:
        body = "<p>No grid cells computed yet (`pakhuis geo indicators`).</p>"
    else:
        body = (
            f"<p>Of {_text(coverage['cells'])} cells of {_text(size)} m, "
            f"{_text(coverage['cells_with_drains'])} hold drains and "
            f"{_text(coverage['cells_with_sensors'])} hold at least one sensor; "
            f"{_text(coverage['sensors_outside_cells'])} sensors lie outside the grid. "
            "Counts per cell only, no sensor positions.</p>"
        )
    link = escape(str(coverage["layer"]))
    return (
        f"<section id='coverage'><h2>Where the data is thin</h2>{body}"
        f"<p>Map layer (GeoJSON): <a href='{link}'>{link}</a></p></section>"
    )


def render_register(document: dict[str, Any]) -> str:
    """The register as one self-contained HTML page (inline CSS, no scripts); every value escaped."""
    labels: dict[str, str] = document["fields"]
    index = "".join(
        f"<li><a href='#{_text(a['id'])}'>{_text(a['name'])}</a></li>" for a in document["algorithms"]
    )
    sections = "".join(_algorithm_section(a, labels) for a in document["algorithms"])
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width,initial-scale=1'>"
        f"<title>Algorithm register – pakhuis</title><style>{_STYLE}</style></head><body>"
        "<h1>Algorithm register (algoritmeregister)</h1>"
        "<p class='meta'>Generated from the configuration in force "
        f"(read {_text(document['configured_at'])}, "
        f"pakhuis {_text(document['software_version'])}) and the fitted models. "
        "<a href='?f=json'>JSON</a></p>"
        f"<ul>{index}</ul>{sections}{_fairness_section(document['fairness'])}"
        f"{_coverage_section(document['coverage'])}</body></html>"
    )
