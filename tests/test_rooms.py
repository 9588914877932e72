"""The rooms of ../shared/DESIGN.md, enforced: every module's imports, read with `ast`.

Rules (a module may import its own room, the standard library and third-party packages, plus):

- `pakhuis` imports no other room, except its composition root `pakhuis.cli`, which wires them all;
- `ingest` and `stream` import only `pakhuis`;
- `sensors_sim` imports nothing of the project (its devices speak the wire formats on their own);
- `geo` imports only `pakhuis`, and inside `geo` the sub-rooms depend one way,
  spatial ← registers ← fill ← plan ← jobs; only `geo.jobs` imports `pakhuis.store`;
  `geo/__init__.py` is the front door and may re-export every sub-room;
- `api` imports `pakhuis`, the geo front doors (`geo`, `geo.<sub-room>`) and `geo.jobs`, never a
  geo module inside a sub-room;
- SQL lives in the store: only `pakhuis.store` imports psycopg;
- a private module (`_name.py`) is imported only from its own package.

Every import counts, also one inside a function or under `if TYPE_CHECKING:`.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ROOMS = ("pakhuis", "ingest", "stream", "geo", "api", "sensors_sim")
GEO_ORDER = ("spatial", "registers", "fill", "plan", "jobs")
DB_DRIVERS = ("psycopg", "psycopg_pool")


@dataclass(frozen=True)
class Import:
    importer: str  # dotted module name of the importing module
    imported: str  # what it names: a module, or `module.member` for `from module import member`
    module: str  # the project module that name lives in (the deepest existing prefix), else ""
    is_package: bool  # the importer is a package's __init__
    line: int


def _module_name(path: Path, root: Path) -> tuple[str, bool]:
    parts = list(path.relative_to(root).with_suffix("").parts)
    is_package = parts[-1] == "__init__"
    if is_package:
        parts.pop()
    return ".".join(parts), is_package


def _resolve(module: str | None, level: int, importer: str, is_package: bool) -> str:
    if level == 0:
        return module or ""
    base = importer.split(".") if is_package else importer.split(".")[:-1]
    base = base[: len(base) - (level - 1)]
    return ".".join([*base, module] if module else base)


def _project_module(name: str, root: Path) -> str:
    """The deepest prefix of `name` that is a module or package of the project ("" if none)."""
    parts = name.split(".")
    if parts[0] not in ROOMS:
        return ""
    for end in range(len(parts), 0, -1):
        path = root.joinpath(*parts[:end])
        if path.with_suffix(".py").is_file() or (path / "__init__.py").is_file():
            return ".".join(parts[:end])
    return ""


def imports_of(source: str, importer: str, is_package: bool, root: Path) -> Iterator[Import]:
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            # `from geo import jobs` names the module geo.jobs; `from geo.x import f` the member f
            # of geo.x: which one it is, the file tree says.
            target = _resolve(node.module, node.level, importer, is_package)
            names = [f"{target}.{alias.name}" for alias in node.names]
        else:
            continue
        for name in names:
            yield Import(importer, name, _project_module(name, root), is_package, node.lineno)


def project_imports(root: Path = ROOT) -> Iterator[Import]:
    for room in ROOMS:
        for path in sorted((root / room).rglob("*.py")):
            name, is_package = _module_name(path, root)
            yield from imports_of(path.read_text(encoding="utf-8"), name, is_package, root)


def _within(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def _geo_subroom(name: str) -> str | None:
    # geo.<sub-room> of a module name (a package's __init__ is its sub-room's front door)
    parts = name.split(".")
    return parts[1] if len(parts) > 1 and parts[0] == "geo" and parts[1] in GEO_ORDER else None


def _room_rule(imp: Import) -> str | None:
    src_room, dst_room = imp.importer.split(".")[0], imp.imported.split(".")[0]
    if dst_room not in ROOMS or dst_room == src_room:
        return None
    if src_room == "pakhuis":
        return None if _within(imp.importer, "pakhuis.cli") else "pakhuis imports no other room"
    if src_room in ("ingest", "stream", "geo"):
        return None if dst_room == "pakhuis" else f"{src_room} imports only pakhuis"
    if src_room == "sensors_sim":
        return "sensors_sim imports nothing of the project"
    if src_room == "api" and dst_room == "geo":
        parts = imp.module.split(".")
        if len(parts) == 1 or (len(parts) == 2 and parts[1] in GEO_ORDER):
            return None  # geo, geo.<sub-room> (geo.jobs among them): the front doors
        return "api imports geo front doors and geo.jobs only, not geo internals"
    return None


def _geo_rule(imp: Import) -> str | None:
    if not _within(imp.importer, "geo"):
        return None
    if _within(imp.imported, "pakhuis.store") and not _within(imp.importer, "geo.jobs"):
        return "only geo.jobs imports pakhuis.store"
    src, dst = _geo_subroom(imp.importer), _geo_subroom(imp.module or imp.imported)
    if src is None or dst is None or src == dst:
        return None  # the front door geo/__init__ may import every sub-room
    if GEO_ORDER.index(dst) > GEO_ORDER.index(src):
        return f"geo.{src} may not import geo.{dst} (one way: {' <- '.join(GEO_ORDER)})"
    return None


def _driver_rule(imp: Import) -> str | None:
    if imp.imported.split(".")[0] in DB_DRIVERS and not _within(imp.importer, "pakhuis.store"):
        return "SQL lives in the store: only pakhuis.store imports the database driver"
    return None


def _private_rule(imp: Import) -> str | None:
    if not imp.module:
        return None
    parts = imp.imported.split(".")
    for i, part in enumerate(parts):
        if part.startswith("_") and not part.startswith("__") and i > 0:
            package = ".".join(parts[:i])
            owner = imp.importer if imp.is_package else imp.importer.rpartition(".")[0]
            if not _within(owner, package):
                return f"{'.'.join(parts[: i + 1])} is private to {package}"
            return None
    return None


RULES = (_room_rule, _geo_rule, _driver_rule, _private_rule)


def violations(imports: Iterable[Import]) -> list[str]:
    found = []
    for imp in imports:
        for rule in RULES:
            reason = rule(imp)
            if reason:
                found.append(f"{imp.importer}:{imp.line} imports {imp.imported}: {reason}")
    return found


def test_the_project_keeps_the_rooms() -> None:
    imports = list(project_imports())
    assert len(imports) > 500  # the walk really read the project
    assert violations(imports) == []


def _module(tmp: Path, relative: str, source: str) -> None:
    path = tmp / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(source, encoding="utf-8")


def test_each_rule_catches_a_break(tmp_path: Path) -> None:
    # module -> (its source, the rule it breaks)
    broken = {
        "pakhuis/settings.py": ("import geo\n", "pakhuis imports no other room"),
        "ingest/mqtt.py": ("from stream.runner import LocalRunner\n", "ingest imports only pakhuis"),
        "sensors_sim/air.py": ("from pakhuis.reading import Reading\n", "nothing of the project"),
        "geo/plan/routing.py": ("def f():\n    from pakhuis.store import Store\n", "only geo.jobs"),
        "geo/spatial/grid.py": ("from geo.fill.measured import fit_fill_rate\n", "one way"),
        "geo/registers/zones.py": ("from ..plan import config\n", "may not import geo.plan"),
        "api/routers/planning.py": ("from geo.plan.routing import plan_routes\n", "not geo internals"),
        "api/routers/cells.py": ("import geo.jobs.cleanings\n", "not geo internals"),
        "stream/handlers.py": ("import psycopg\n", "only pakhuis.store imports the database"),
        "ingest/decode.py": ("from ingest.native import _number\n", "private to ingest.native"),
        "geo/plan/config.py": ("from geo.spatial import _kernels\n", "private to geo.spatial"),
    }
    # the modules those imports name, so the rules can tell a module from a member
    modules = ["geo/__init__.py", "geo/plan/__init__.py", "geo/plan/routing.py", "geo/plan/config.py",
               "geo/fill/__init__.py", "geo/fill/measured.py", "geo/jobs/__init__.py",
               "geo/jobs/cleanings.py", "geo/spatial/__init__.py", "geo/spatial/_kernels.py",
               "geo/spatial/grid.py", "ingest/native.py", "pakhuis/__init__.py",
               "pakhuis/store/__init__.py", "stream/runner.py", "pakhuis/reading.py"]
    allowed = {
        "pakhuis/cli/load.py": "from geo.jobs import load_drains\nimport api.app\n",
        "geo/__init__.py": "from geo.jobs import refit\nfrom geo.plan import plan_routes\n",
        "geo/jobs/refit.py": "from pakhuis.store import Store\nfrom geo.fill import fit_fill_rate\n",
        "geo/spatial/grid.py": "from geo.spatial import _kernels\nfrom . import _kernels as k\n",
        "api/routers/routes.py": "from geo import plan_routes\nfrom geo.plan import RouteParams\n",
        "pakhuis/store/base.py": "import psycopg\n",
    }
    for relative in modules:
        _module(tmp_path / "ok", relative, "")
    for relative, source in allowed.items():
        _module(tmp_path / "ok", relative, source)
    assert violations(project_imports(tmp_path / "ok")) == []
    for relative, (source, reason) in broken.items():
        case = tmp_path / relative.replace("/", "_")
        for other in modules:
            _module(case, other, "")
        _module(case, relative, source)
        found = violations(project_imports(case))
        assert len(found) == 1 and reason in found[0], (relative, found)
