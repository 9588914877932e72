"""Road ways → graph pieces: vertices (shared OSM nodes, else positions rounded to 0.1 m),
straight segments between them, long segments split, and the driveable directed edges."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyproj
import shapely

from geo.plan.road_ways import Ways

__all__ = ["Segments", "densify", "directed_edges", "vertices_and_segments"]


@dataclass(frozen=True)
class Segments:
    """Straight pieces between consecutive vertices, not yet directed."""

    u: np.ndarray
    v: np.ndarray
    length_m: np.ndarray
    speed_kmh: np.ndarray
    direction: np.ndarray


def vertices_and_segments(
    ways: Ways, to_metric: pyproj.Transformer
) -> tuple[np.ndarray, dict[int, int], Segments]:
    """Vertex keys (OSM node id where known, else the 0.1 m-rounded position) → vertex index,
    and the segments between consecutive coordinates of each line part."""
    parts, way_of_part = shapely.get_parts(ways.geoms, return_index=True)
    coords, part_of_coord = shapely.get_coordinates(parts, return_index=True)
    x, y = to_metric.transform(coords[:, 0], coords[:, 1])
    xy = np.column_stack([x, y])
    way_of_coord = way_of_part[part_of_coord]
    keys = np.empty((len(xy), 3), dtype=np.int64)
    keys[:, 0] = 1
    keys[:, 1] = np.rint(xy[:, 0] * 10.0).astype(np.int64)
    keys[:, 2] = np.rint(xy[:, 1] * 10.0).astype(np.int64)
    # coordinates of a way run part after part, in order: its node ids line up with them
    starts = np.searchsorted(way_of_coord, np.arange(len(ways.geoms)))
    for way, ids in enumerate(ways.node_ids):
        if ids is not None:
            keys[starts[way] : starts[way] + len(ids)] = np.column_stack(
                [np.zeros(len(ids), np.int64), ids, np.zeros(len(ids), np.int64)]
            )
    _, first, vertex = np.unique(keys, axis=0, return_index=True, return_inverse=True)
    vertex = vertex.ravel()
    vertex_xy = xy[first]
    by_id = keys[:, 0] == 0
    node_vertex = dict(zip(keys[by_id, 1].tolist(), vertex[by_id].tolist(), strict=True))
    same_part = part_of_coord[1:] == part_of_coord[:-1]
    u = vertex[:-1][same_part]
    v = vertex[1:][same_part]
    way = way_of_coord[:-1][same_part]
    keep = u != v
    u, v, way = u[keep], v[keep], way[keep]
    length = np.hypot(*(vertex_xy[v] - vertex_xy[u]).T)
    return vertex_xy, node_vertex, Segments(u, v, length, ways.speed_kmh[way], ways.direction[way])


def densify(vertex_xy: np.ndarray, seg: Segments, max_edge_m: float) -> tuple[np.ndarray, Segments]:
    """Split segments longer than `max_edge_m` into equal pieces, so a point beside a long
    straight road snaps to a vertex near it rather than to a corner hundreds of metres away."""
    pieces = np.maximum(1, np.ceil(seg.length_m / max_edge_m).astype(np.int64))
    if (pieces == 1).all():
        return vertex_xy, seg
    n_seg = len(pieces)
    # new vertices, segment after segment, at fractions 1/p .. (p-1)/p of each
    seg_of_new = np.repeat(np.arange(n_seg), pieces - 1)
    step = np.arange(len(seg_of_new)) - np.repeat(np.cumsum(pieces - 1) - (pieces - 1), pieces - 1) + 1
    a, b = vertex_xy[seg.u[seg_of_new]], vertex_xy[seg.v[seg_of_new]]
    new_xy = a + (b - a) * (step / pieces[seg_of_new])[:, None]
    # each segment's chain u, new..., v laid end to end; pieces join consecutive chain entries
    chain_start = np.cumsum(pieces + 1) - (pieces + 1)
    chain = np.empty(int((pieces + 1).sum()), dtype=np.int64)
    inner = np.ones(len(chain), dtype=bool)
    inner[chain_start] = False
    inner[chain_start + pieces] = False
    chain[chain_start] = seg.u
    chain[chain_start + pieces] = seg.v
    chain[inner] = len(vertex_xy) + np.arange(len(seg_of_new))
    is_from = np.ones(len(chain), dtype=bool)
    is_from[chain_start + pieces] = False
    seg_of_piece = np.repeat(np.arange(n_seg), pieces)
    out = Segments(
        chain[is_from],
        chain[np.flatnonzero(is_from) + 1],
        (seg.length_m / pieces)[seg_of_piece],
        seg.speed_kmh[seg_of_piece],
        seg.direction[seg_of_piece],
    )
    return np.vstack([vertex_xy, new_xy]), out


def directed_edges(seg: Segments) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(from, to, time_s, length_m) of every driveable direction, parallel edges reduced to
    the fastest."""
    fwd = seg.direction >= 0
    bwd = seg.direction <= 0
    frm = np.concatenate([seg.u[fwd], seg.v[bwd]])
    to = np.concatenate([seg.v[fwd], seg.u[bwd]])
    length = np.concatenate([seg.length_m[fwd], seg.length_m[bwd]])
    speed = np.concatenate([seg.speed_kmh[fwd], seg.speed_kmh[bwd]])
    time = length / (speed / 3.6)
    order = np.lexsort((length, time, to, frm))
    frm, to, time, length = frm[order], to[order], time[order], length[order]
    first = np.ones(len(frm), dtype=bool)
    first[1:] = (frm[1:] != frm[:-1]) | (to[1:] != to[:-1])
    return frm[first], to[first], time[first], length[first]
