"""Layout and diagram interchange for bpmn_builder: grid positions, lanes as bands, shapes and edges.

A node's column is its longest distance from the start (back edges of loops ignored); lanes are horizontal bands,
each as tall as its busiest column; an expanded sub-process is drawn with its inner nodes in a row; boundary events
sit on the bottom edge of their host; flows are routed orthogonally.
"""

from __future__ import annotations

from lxml import etree

from processes.tools.bpmn_builder import (
    BPMNDI,
    COL_GAP,
    DC,
    DI,
    LANE_LABEL,
    PAD,
    POOL_LABEL,
    ROW_H,
    SIZES,
    Container,
    Node,
    _q,
)


# ---- layout ------------------------------------------------------------------------------------------------
def _columns(container: Container) -> dict[str, int]:
    """Longest-path column of each node, loops' back edges ignored; boundary branches start beside the host."""
    succ: dict[str, list[str]] = {n: [] for n in container.nodes}
    for f in container.flows:
        source = container.nodes[f.source]
        succ[source.attached_to or f.source].append(f.target)
    starts = [n.id for n in container.nodes.values() if n.tag == "startEvent"] or [next(iter(container.nodes))]
    back: set[tuple[str, str]] = set()
    state: dict[str, int] = {}

    def dfs(nid: str) -> None:
        state[nid] = 1
        for t in succ[nid]:
            if state.get(t) == 1:
                back.add((nid, t))
            elif t not in state:
                dfs(t)
        state[nid] = 2

    for s in starts:
        dfs(s)
    for nid in container.nodes:
        if nid not in state:
            dfs(nid)
    col = dict.fromkeys(container.nodes, 0)
    for _ in range(len(container.nodes)):
        changed = False
        for s, targets in succ.items():
            for t in targets:
                if (s, t) not in back and col[t] < col[s] + 1:
                    col[t], changed = col[s] + 1, True
        if not changed:
            break
    for n in container.nodes.values():
        if n.attached_to:
            col[n.id] = col[n.attached_to]
    return col


def _size(node: Node) -> None:
    if node.inner is not None:
        _layout_inner(node.inner)
        inner = [n for n in node.inner.nodes.values() if not n.attached_to]
        node.w = max(n.x + n.w for n in inner) + PAD
        node.h = max(n.y + n.h for n in inner) + PAD
    else:
        node.w, node.h = SIZES[node.kind]


def _layout_inner(container: Container) -> None:
    col = _columns(container)
    x = PAD
    for c in sorted(set(col.values())):
        nodes = [n for n in container.nodes.values() if col[n.id] == c and not n.attached_to]
        for row, n in enumerate(nodes):
            _size(n)
            n.x, n.y = x, PAD + row * ROW_H + (SIZES["task"][1] - n.h) / 2
        x += max((n.w for n in nodes), default=0) + COL_GAP / 2


def _branch_nodes(container: Container) -> set[str]:
    """Nodes reached only through a boundary event (alert branches): drawn below the main path."""
    main: set[str] = set()
    succ: dict[str, list[str]] = {}
    for f in container.flows:
        succ.setdefault(f.source, []).append(f.target)
    stack = [n.id for n in container.nodes.values() if n.tag == "startEvent"]
    while stack:
        nid = stack.pop()
        if nid in main:
            continue
        main.add(nid)
        stack.extend(succ.get(nid, []))
    return set(container.nodes) - main


def layout(process) -> None:
    col = _columns(process)
    for n in process.nodes.values():
        if not n.attached_to:
            _size(n)
    branch = _branch_nodes(process)
    ncols = max(col.values()) + 1
    col_w = [max((n.w for n in process.nodes.values() if col[n.id] == c and not n.attached_to), default=0)
             for c in range(ncols)]  # fmt: skip
    col_x, x = [], POOL_LABEL + LANE_LABEL + PAD
    for c in range(ncols):
        col_x.append(x)
        x += col_w[c] + COL_GAP
    process.width = x
    y = 0
    process.lane_bounds = {}
    for lid, _, _ in process.lanes:
        cells: dict[int, list[Node]] = {}
        for n in process.nodes.values():
            if n.lane == lid and not n.attached_to:
                cells.setdefault(col[n.id], []).append(n)
        top = y + PAD
        lane_h = ROW_H
        for c, nodes in cells.items():
            nodes.sort(key=lambda n: (n.id in branch, list(process.nodes).index(n.id)))
            row_y = top
            for n in nodes:
                slot = max(ROW_H, n.h + 30)
                n.x = col_x[c] + (col_w[c] - n.w) / 2
                n.y = row_y + (min(slot, ROW_H) - min(n.h, ROW_H)) / 2 if n.inner is None else row_y
                row_y += slot
            lane_h = max(lane_h, row_y - top)
        process.lane_bounds[lid] = (y, lane_h + 2 * PAD)
        y += lane_h + 2 * PAD
    process.height = y
    for n in process.nodes.values():
        if n.inner is not None:
            for inner in n.inner.nodes.values():
                if not inner.attached_to:
                    inner.x += n.x
                    inner.y += n.y
            _place_boundaries(n.inner)
    _place_boundaries(process)


def _place_boundaries(container: Container) -> None:
    count: dict[str, int] = {}
    for n in container.nodes.values():
        if n.attached_to:
            host = container.nodes[n.attached_to]
            i = count.get(host.id, 0)
            count[host.id] = i + 1
            n.w, n.h = SIZES["event"]
            n.x = host.x + 4 + i * 36
            n.y = host.y + host.h - n.h / 2


# ---- diagram interchange -----------------------------------------------------------------------------------
def _bounds(parent, x, y, w, h):
    etree.SubElement(parent, _q(DC, "Bounds"), x=str(round(x)), y=str(round(y)), width=str(round(w)),
                     height=str(round(h)))  # fmt: skip


def diagram(root, process) -> None:
    diagram = etree.SubElement(root, _q(BPMNDI, "BPMNDiagram"), id=f"diagram_{process.id}")
    plane = etree.SubElement(diagram, _q(BPMNDI, "BPMNPlane"), id=f"plane_{process.id}",
                             bpmnElement=f"collab_{process.id}")  # fmt: skip
    pool = etree.SubElement(plane, _q(BPMNDI, "BPMNShape"), id=f"pool_{process.id}_di",
                            bpmnElement=f"pool_{process.id}", isHorizontal="true")  # fmt: skip
    _bounds(pool, 0, 0, process.width, process.height)
    for lid, _, _ in process.lanes:
        y, h = process.lane_bounds[lid]
        shape = etree.SubElement(plane, _q(BPMNDI, "BPMNShape"), id=f"lane_{lid}_di", bpmnElement=f"lane_{lid}",
                                 isHorizontal="true")  # fmt: skip
        _bounds(shape, POOL_LABEL, y, process.width - POOL_LABEL, h)
    _shapes(plane, process)


def _shapes(plane, container: Container) -> None:
    for n in container.nodes.values():
        attrs = {"id": f"{n.id}_di", "bpmnElement": n.id}
        if n.tag == "subProcess":
            attrs["isExpanded"] = "true"
        if n.tag == "exclusiveGateway":
            attrs["isMarkerVisible"] = "true"
        shape = etree.SubElement(plane, _q(BPMNDI, "BPMNShape"), attrs)
        _bounds(shape, n.x, n.y, n.w, n.h)
        if n.kind in ("event", "gateway") and n.name:
            label = etree.SubElement(shape, _q(BPMNDI, "BPMNLabel"))
            _bounds(label, n.x + n.w / 2 - 45, n.y + n.h + 4, 90, 28)
        if n.inner is not None:
            _shapes(plane, n.inner)
    for f in container.flows:
        edge = etree.SubElement(plane, _q(BPMNDI, "BPMNEdge"), id=f"{f.id}_di", bpmnElement=f.id)
        for px, py in _waypoints(container.nodes[f.source], container.nodes[f.target]):
            etree.SubElement(edge, _q(DI, "waypoint"), x=str(round(px)), y=str(round(py)))


def _waypoints(s: Node, t: Node) -> list[tuple[float, float]]:
    """Orthogonal routes: forward flows leave right and enter left; boundary flows leave downwards; loops go
    round underneath."""
    sy, ty = s.y + s.h / 2, t.y + t.h / 2
    if s.attached_to:
        sx, sb = s.x + s.w / 2, s.y + s.h
        if abs(ty - sb) < 1 or t.y > sb:
            return [(sx, sb), (sx, ty), (t.x, ty)] if t.x > sx else [(sx, sb), (sx, t.y)]
        return [(sx, sb), (sx, sb + 20), (t.x - 20, sb + 20), (t.x - 20, ty), (t.x, ty)]
    if t.x >= s.x + s.w:
        sx, tx = s.x + s.w, t.x
        if abs(sy - ty) < 1:
            return [(sx, sy), (tx, ty)]
        mid = sx + min(COL_GAP / 2, (tx - sx) / 2)
        return [(sx, sy), (mid, sy), (mid, ty), (tx, ty)]
    below = max(s.y + s.h, t.y + t.h) + 25
    return [(s.x + s.w / 2, s.y + s.h), (s.x + s.w / 2, below), (t.x + t.w / 2, below), (t.x + t.w / 2, t.y + t.h)]
