"""Module and function sizes of the project's rooms: `python -m tests.code_shape` prints them.

The limits the project keeps (see tests/test_code_shape.py): no module over 500 lines and no
function over 80 lines, the numba kernels in geo/spatial/_kernels.py excepted (a kernel is one
loop nest that numba compiles whole; splitting it would cost a call per point); the median geo
module under 200 lines.
"""

from __future__ import annotations

import ast
import statistics
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ROOMS = ("pakhuis", "ingest", "stream", "geo", "api", "sensors_sim")
KERNEL_MODULES = frozenset({"geo/spatial/_kernels.py", "geo/_kernels.py"})
MAX_MODULE_LINES = 500
MAX_FUNCTION_LINES = 80
MAX_GEO_MEDIAN_LINES = 200


@dataclass(frozen=True)
class Sized:
    name: str  # path, or path:qualified.function
    lines: int


@dataclass(frozen=True)
class CodeShape:
    modules: tuple[Sized, ...]  # largest first
    functions: tuple[Sized, ...]  # longest first, kernels left out

    def modules_over(self, limit: int = MAX_MODULE_LINES) -> list[Sized]:
        return [m for m in self.modules if m.lines > limit and m.name not in KERNEL_MODULES]

    def functions_over(self, limit: int = MAX_FUNCTION_LINES) -> list[Sized]:
        return [f for f in self.functions if f.lines > limit]

    def room_lines(self, room: str) -> list[int]:
        return [m.lines for m in self.modules if m.name.startswith(room + "/")]

    def geo_median(self) -> float:
        return float(statistics.median(self.room_lines("geo")))

    def geo_share(self) -> float:
        return sum(self.room_lines("geo")) / sum(m.lines for m in self.modules)


def _functions(tree: ast.AST, path: str) -> list[Sized]:
    found: list[Sized] = []

    def visit(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                name = f"{prefix}{child.name}"
                found.append(Sized(f"{path}:{name}", (child.end_lineno or child.lineno) - child.lineno + 1))
                visit(child, name + ".")
            elif isinstance(child, ast.ClassDef):
                visit(child, f"{prefix}{child.name}.")
            else:
                visit(child, prefix)

    visit(tree, "")
    return found


def measure(root: Path = ROOT) -> CodeShape:
    modules: list[Sized] = []
    functions: list[Sized] = []
    for room in ROOMS:
        for path in sorted((root / room).rglob("*.py")):
            relative = path.relative_to(root).as_posix()
            text = path.read_text(encoding="utf-8")
            modules.append(Sized(relative, len(text.splitlines())))
            if relative not in KERNEL_MODULES:
                functions.extend(_functions(ast.parse(text), relative))
    return CodeShape(
        tuple(sorted(modules, key=lambda m: -m.lines)), tuple(sorted(functions, key=lambda f: -f.lines))
    )


def report(shape: CodeShape) -> str:
    geo = shape.room_lines("geo")
    lines = [
        f"modules: {len(shape.modules)}, {sum(m.lines for m in shape.modules):,} lines; "
        f"median {statistics.median(m.lines for m in shape.modules):.0f}",
        f"geo: {len(geo)} modules, {shape.geo_share():.0%} of the source, "
        f"median {shape.geo_median():.0f} lines",
        "largest modules: " + ", ".join(f"{m.name} {m.lines}" for m in shape.modules[:5]),
        f"modules over {MAX_MODULE_LINES} lines (kernels excepted): {len(shape.modules_over())}",
        *(f"  {m.lines:5d}  {m.name}" for m in shape.modules_over()),
        "longest functions: " + ", ".join(f"{f.name} {f.lines}" for f in shape.functions[:5]),
        f"functions over {MAX_FUNCTION_LINES} lines (kernels excepted): {len(shape.functions_over())}",
        *(f"  {f.lines:5d}  {f.name}" for f in shape.functions_over()),
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    print(report(measure(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT)))
