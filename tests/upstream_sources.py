"""The upstream files the repository keeps (tests/upstream/, src/hcplb/data/crds/): where each
comes from, checked and refreshed.

Each folder's provenance lives in one markdown table (tests/upstream/README.md,
src/hcplb/data/crds/SOURCES.md), one row a file:

    | file | upstream | path | revision | git blob | licence |

A row with a git blob is a verbatim copy: its bytes hash to that blob, and
`refresh` copies it anew from a checkout of its upstream. A row whose blob is `-` was
written for hcplb from the upstream path (a Go test's inputs as YAML, a summary of rules):
`refresh` does not touch it and says whether its source changed since the revision named.

    python -m tests.upstream_sources refresh metallb/metallb=../metallb openshift/hypershift=...

(`make upstream-refresh UPSTREAM="owner/name=DIR ..."`) rewrites the files and the tables; review
the diff, then run the tests.
"""

from __future__ import annotations

import hashlib
import sys
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from hcplb.runner import run

ROOT = Path(__file__).resolve().parent.parent
UPSTREAM = ROOT / "tests" / "upstream"
CRDS = ROOT / "src" / "hcplb" / "data" / "crds"
# each folder and its table
MANIFESTS = {UPSTREAM: UPSTREAM / "README.md", CRDS: CRDS / "SOURCES.md"}
HEADER = ("file", "upstream", "path", "revision", "git blob", "licence")
WRITTEN = "-"  # the blob of a file written for hcplb, not copied


@dataclass(frozen=True)
class Source:
    """One row: a file (relative to its folder) and the upstream file it reflects."""

    file: str
    upstream: str
    path: str
    revision: str
    blob: str
    licence: str

    @property
    def verbatim(self) -> bool:
        return self.blob != WRITTEN


def git_blob(data: bytes) -> str:
    """The id git gives these bytes as a blob (`git hash-object`)."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def _cells(line: str) -> list[str]:
    return [c.strip().strip("`") for c in line.strip().strip("|").split("|")]


def _table_span(lines: list[str], where: Path) -> tuple[int, int]:
    """Index of the table's header line and one past its last row."""
    for start, line in enumerate(lines):
        if line.startswith("|") and tuple(_cells(line)) == HEADER:
            end = start + 2
            while end < len(lines) and lines[end].startswith("|"):
                end += 1
            return start, end
    raise ValueError(f"{where}: no table with the columns {' | '.join(HEADER)}")


def read_sources(manifest: Path) -> list[Source]:
    lines = manifest.read_text().splitlines()
    start, end = _table_span(lines, manifest)
    rows = []
    for number, line in enumerate(lines[start + 2 : end], start=start + 3):
        cells = _cells(line)
        if len(cells) != len(HEADER):
            raise ValueError(f"{manifest}:{number}: {len(cells)} cells, want {len(HEADER)}")
        rows.append(Source(*cells))
    return rows


def _row(source: Source) -> str:
    cells = (f"`{source.file}`", source.upstream, f"`{source.path}`", source.revision)
    return "| " + " | ".join((*cells, source.blob, source.licence)) + " |"


def write_sources(manifest: Path, sources: Sequence[Source]) -> None:
    lines = manifest.read_text().splitlines()
    start, end = _table_span(lines, manifest)
    rows = [_row(s) for s in sources]
    text = "\n".join([*lines[: start + 2], *rows, *lines[end:]]) + "\n"
    _write(manifest, text.encode())


def _write(path: Path, data: bytes) -> None:
    if path.is_symlink():
        raise ValueError(f"{path}: a symlink; refusing to write through it")
    path.write_bytes(data)


def _git(checkout: Path, *args: str) -> str:
    result = run(["git", "-C", str(checkout), *args], timeout=60)
    if not result.ok:
        raise ValueError(f"git {' '.join(args)} in {checkout}: {result.stderr.strip()}")
    return result.stdout


def _show(checkout: Path, revision: str, path: str) -> bytes:
    """The file at that revision, checked against git's own blob id (the runner reads text)."""
    blob = _git(checkout, "rev-parse", f"{revision}:{path}").strip()
    data = _git(checkout, "cat-file", "blob", blob).encode()
    if git_blob(data) != blob:
        raise ValueError(f"{checkout}: {path} did not read back as the same bytes; copy it by hand")
    return data


def refresh(folder: Path, manifest: Path, checkouts: dict[str, Path]) -> list[str]:
    """Copy every verbatim file of the folder anew from the given checkouts (their HEAD); list
    what changed and which written files' sources moved."""
    sources = read_sources(manifest)
    notes: list[str] = []
    updated = []
    for source in sources:
        checkout = checkouts.get(source.upstream)
        if checkout is None:
            updated.append(source)
            continue
        head = _git(checkout, "rev-parse", "HEAD").strip()
        upstream_path = source.path.split("::")[0]
        if not source.verbatim:
            moved = _git(checkout, "diff", "--stat", source.revision, head, "--", upstream_path)
            if moved.strip():
                notes.append(f"check by hand: {source.file} ({upstream_path} changed)")
            updated.append(source)
            continue
        data = _show(checkout, head, upstream_path)
        if git_blob(data) != source.blob:
            _write(folder / source.file, data)
            notes.append(f"updated: {source.file}")
        updated.append(replace(source, revision=head, blob=git_blob(data)))
    write_sources(manifest, updated)
    return notes


def main(argv: Sequence[str]) -> int:
    if len(argv) < 2 or argv[0] != "refresh" or any("=" not in a for a in argv[1:]):
        print("usage: python -m tests.upstream_sources refresh OWNER/NAME=CHECKOUT ...")
        return 2
    checkouts = {k: Path(v) for k, v in (a.split("=", 1) for a in argv[1:])}
    for folder, manifest in MANIFESTS.items():
        for note in refresh(folder, manifest, checkouts):
            print(note)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
