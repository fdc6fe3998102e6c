#!/usr/bin/env python3
"""Print herald's target graph as Package.swift declares it, or check a document's copy.

    scripts/target_graph.py                          # the graph, layers bottom-up
    scripts/target_graph.py --check docs/ARCHITECTURE.md

Each line is one target: its layer (0 for a target on no other herald target, else one
above its highest dependency), its name, and the herald targets it depends on. Tests and
the helpers under Tests/ are left out, and so are the targets Package.swift declares only
for `make fuzz` or `make benchmarks` (the environment that turns them on is cleared).

--check compares the graph with the fenced block between `<!-- target-graph -->` and
`<!-- /target-graph -->` in the document, and exits 1 with a diff when they differ, so that
the drawing of the layers cannot drift from what SwiftPM enforces.
"""

import argparse
import difflib
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BEGIN = "<!-- target-graph -->"
END = "<!-- /target-graph -->"


def dump_package():
    """`swift package dump-package`, without the variables that declare optional targets."""
    env = {k: v for k, v in os.environ.items() if k not in ("HERALD_FUZZ", "HERALD_BENCHMARKS")}
    out = subprocess.run(["swift", "package", "dump-package"], cwd=ROOT, env=env,
                         check=True, capture_output=True, text=True).stdout
    return json.loads(out)


def herald_targets(package):
    """{name: [herald dependencies]} for the targets that make up herald itself."""
    targets = [t for t in package["targets"]
               if t["type"] != "test" and not (t.get("path") or "").startswith("Tests/")]
    names = {t["name"] for t in targets}
    graph = {}
    for target in targets:
        deps = set()
        for dependency in target.get("dependencies", []):
            # {"byName": [name, condition]} or {"target": [name, condition]}; products are
            # other packages'.
            for kind in ("byName", "target"):
                if kind in dependency and dependency[kind][0] in names:
                    deps.add(dependency[kind][0])
        graph[target["name"]] = sorted(deps)
    return graph


def layers(graph):
    """Each target's layer: 0 on nothing, else one above its highest dependency."""
    layer = {}

    def visit(name):
        if name not in layer:
            layer[name] = 1 + max((visit(d) for d in graph[name]), default=-1)
        return layer[name]

    for name in graph:
        visit(name)
    return layer


def render(graph):
    layer = layers(graph)
    width = max(len(name) for name in graph)
    lines = []
    for name in sorted(graph, key=lambda n: (layer[n], n.lower())):
        deps = graph[name]
        line = f"{layer[name]}  {name.ljust(width)}"
        if deps:
            line += "  → " + ", ".join(deps)
        lines.append(line.rstrip())
    return lines


def documented(path):
    """The lines of the fenced block between the markers in `path`."""
    text = Path(path).read_text()
    if BEGIN not in text or END not in text:
        sys.exit(f"{path}: no {BEGIN} … {END} block")
    block = text.split(BEGIN, 1)[1].split(END, 1)[0].strip().splitlines()
    if len(block) < 2 or not block[0].startswith("```") or block[-1] != "```":
        sys.exit(f"{path}: the {BEGIN} block is not one fenced code block")
    return block[1:-1]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", metavar="DOC", help="exit 1 with a diff when DOC's graph differs")
    args = parser.parse_args()
    lines = render(herald_targets(dump_package()))
    if args.check is None:
        print("\n".join(lines))
        return
    expected = documented(args.check)
    if expected != lines:
        sys.stdout.writelines(difflib.unified_diff(
            [line + "\n" for line in expected], [line + "\n" for line in lines],
            fromfile=f"{args.check} ({BEGIN})", tofile="Package.swift"))
        sys.exit(1)


if __name__ == "__main__":
    main()
