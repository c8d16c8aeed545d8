#!/usr/bin/env python3
"""Checks the layering of src/ (docs/architecture.md): every #include "module/..." must follow an allowed edge, and
no file outside src/dist/ may call MPI directly (collectives go through the communicator and its watchdog).
Usage: check_layers.py SRC_DIR        exit 0 when clean, 1 listing every violation as file:line: what."""
import pathlib
import re
import sys

# Direct edges; a module may include itself and everything reachable from it.
EDGES = {
    "core": [],
    "dist": ["core"],
    "store": ["dist"],
    "synth": ["store"],
    "media": ["store"],
    "face": ["media", "store"],
    "backbone": ["face", "store"],
    "editor": ["backbone", "store"],
    "metrics": ["backbone", "face", "media", "store"],
    "pipeline": ["editor", "metrics", "backbone", "face", "media", "synth", "store"],
    "app": ["pipeline"],
}
MPI_CALL = re.compile(r"\bMPI_[A-Z][A-Za-z_]*\s*\(")
INCLUDE = re.compile(r'^\s*#\s*include\s+"([a-z_]+)/')


def reachable(module):
    seen, todo = {module}, [module]
    while todo:
        for nxt in EDGES[todo.pop()]:
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return seen


def check(src):
    problems = []
    for path in sorted(src.rglob("*")):
        if path.suffix not in (".h", ".cpp", ".hpp", ".cc"):
            continue
        module = path.relative_to(src).parts[0]
        if module not in EDGES:
            problems.append(f"{path}: module '{module}' is not in the layer table (tests/app/check_layers.py)")
            continue
        allowed = reachable(module)
        for number, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
            m = INCLUDE.match(line)
            if m and m.group(1) in EDGES and m.group(1) not in allowed:
                problems.append(f"{path}:{number}: {module} may not include {m.group(1)} ({line.strip()})")
            code = line.split("//")[0]
            if module != "dist" and MPI_CALL.search(code):
                problems.append(f"{path}:{number}: MPI called outside src/dist/ (use the communicator): {code.strip()}")
    return problems


if __name__ == "__main__":
    found = check(pathlib.Path(sys.argv[1]))
    for p in found:
        print(p)
    print(f"layers: {len(found)} violation(s)")
    sys.exit(1 if found else 0)
