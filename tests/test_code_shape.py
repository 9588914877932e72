"""The size limits of tests/code_shape.py hold on the project (figures: `python -m tests.code_shape`)."""

from __future__ import annotations

from pathlib import Path

from tests.code_shape import (
    MAX_FUNCTION_LINES,
    MAX_GEO_MEDIAN_LINES,
    MAX_MODULE_LINES,
    CodeShape,
    measure,
)


def test_no_module_over_the_limit() -> None:
    shape = measure()
    assert len(shape.modules) > 100  # the walk really read the project
    assert shape.modules_over() == []


def test_no_function_over_the_limit() -> None:
    assert measure().functions_over() == []


def test_geo_modules_are_small() -> None:
    assert measure().geo_median() < MAX_GEO_MEDIAN_LINES


def test_the_measure_sees_long_code(tmp_path: Path) -> None:
    body = "\n".join(f"    x{i} = {i}" for i in range(MAX_FUNCTION_LINES))
    module = f"class C:\n    def method(self) -> None:\n    {body.replace(chr(10), chr(10) + '    ')}\n"
    padding = "\n" * MAX_MODULE_LINES
    (tmp_path / "geo").mkdir()
    (tmp_path / "geo" / "big.py").write_text(module + padding)
    (tmp_path / "geo" / "spatial").mkdir()
    (tmp_path / "geo" / "spatial" / "_kernels.py").write_text(f"def kernel():\n{body}\n{padding}")
    shape: CodeShape = measure(tmp_path)
    assert [m.name for m in shape.modules_over()] == ["geo/big.py"]
    assert [f.name for f in shape.functions_over()] == ["geo/big.py:C.method"]
