"""Spatial analytics: numba kernels behind typed wrappers (drain/tree and per-cell indicators).

The kernels and their public API arrive with the spatial-analytics work; this package holds the
room so imports and packaging are fixed from the start.
"""

__all__: list[str] = []
