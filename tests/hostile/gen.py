"""Generators of hostile input: specs (aliases, sizes, depths, types, encodings), special files
and secret files. Each case says what a correct hcplb answers: which exit code, and the line
its first located error must point at (None: any place, 0: the file as a whole)."""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from ..conftest import EXAMPLES

SEED = (EXAMPLES / "seed.yaml").read_text(encoding="utf-8")


@dataclass(frozen=True)
class SpecCase:
    """A spec given as bytes: `line` is where the first error must point (None: anywhere)."""

    id: str
    data: bytes
    line: int | None
    rc: int = 2


def _line_of(text: str, needle: str) -> int:
    return text[: text.index(needle)].count("\n") + 1


def _replace(old: str, new: str) -> tuple[bytes, int]:
    assert old in SEED, old
    return SEED.replace(old, new, 1).encode(), _line_of(SEED, old)


def laughs(levels: int, width: int) -> bytes:
    """A "billion laughs": each level an anchored list of `width` aliases of the one before."""
    lines = ['l0: &l0 ["lol"]']
    for i in range(1, levels + 1):
        lines.append(f"l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * width) + "]")
    return ("\n".join(lines) + "\n").encode()


def laughs_in_spec(levels: int, width: int) -> bytes:
    """The laughs hidden in a real field of the seed (node labels), so the spec parses."""
    anchors = ["x-l0: &l0 lol"]
    for i in range(1, levels + 1):
        anchors.append(f"x-l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * width) + "]")
    return ("\n".join(anchors) + "\n" + SEED).encode()


def spec_cases() -> Iterator[SpecCase]:
    """Bad specs, each with the answer hcplb owes."""
    # encodings and bytes
    data, line = _replace("asn: 64512", 'asn: "\x00"')
    yield SpecCase("nul-byte", data, line)
    data, line = _replace("hcp-api-pool\n", "hcp-api-p\xffol\n")
    yield SpecCase(
        "latin1-byte", SEED.encode().replace(b"hcp-api-pool\n", b"hcp-api-p\xffol\n", 1), line
    )
    yield SpecCase("utf16", SEED.encode("utf-16"), 1)
    yield SpecCase("bom-then-nul", b"\xef\xbb\xbf" + b"\x00" * 8, 1)
    yield SpecCase(
        "control-char",
        SEED.replace("kind: Site", "kind: Si\x07te").encode(),
        _line_of(SEED, "kind: Site"),
    )
    # shapes
    yield SpecCase("empty", b"", None)
    yield SpecCase("only-comment", b"# nothing\n", None)
    yield SpecCase("list-root", b"- a\n- b\n", 1)
    yield SpecCase("scalar-root", b"hello\n", 1)
    yield SpecCase("two-documents", SEED.encode() + b"---\n" + SEED.encode(), None)
    yield SpecCase("tab-indent", SEED.replace("  routers:", "\trouters:").encode(), None)
    yield SpecCase("unclosed-quote", b'apiVersion: "hcplb.io/v1alpha1\n', None)
    yield SpecCase("undefined-alias", b"a: *nowhere\n", 1)
    yield SpecCase("duplicate-key", b"apiVersion: a\napiVersion: b\n", None)
    # aliases, depth, size
    yield SpecCase("laughs-9x9", laughs(9, 9), None)
    yield SpecCase("laughs-30x2", laughs(30, 2), None)
    yield SpecCase("laughs-in-labels", laughs_in_spec(12, 6), None)
    yield SpecCase("deep-flow-5k", b"a: " + b"[" * 5000 + b"]" * 5000 + b"\n", 1)
    yield SpecCase("deep-flow-map", b"a: " + b"{b: " * 3000 + b"1" + b"}" * 3000 + b"\n", 1)
    deep_block = "a:\n" + "".join(" " * i + f"k{i}:\n" for i in range(1, 1200))
    yield SpecCase("deep-block-1200", deep_block.encode(), None)
    yield SpecCase("deep-seq-1500", ("- " * 1500 + "x\n").encode(), None)
    yield SpecCase("big-3MB", b"# " + b"x" * (3 << 20) + b"\n", 0)
    yield SpecCase("long-line", b"a: 1\nb: " + b"y" * (1 << 20) + b"\n", 2)
    # ruamel reads ~2000 lines a second here: many keys are slow, bounded only by MAX_SPEC_BYTES
    yield SpecCase("many-keys", ("".join(f"k{i}: {i}\n" for i in range(3000))).encode(), None)
    # types and numbers
    for field, old, new in (
        ("asn-true", "asn: 64512", "asn: true"),
        ("asn-float", "asn: 64512", "asn: 64512.5"),
        ("asn-huge", "asn: 64512", "asn: 99999999999999999999999999"),
        ("asn-list", "asn: 64512", "asn: [1, 2]"),
        ("asn-map", "asn: 64512", "asn: {a: 1}"),
        ("asn-negative", "asn: 64512", "asn: -1"),
        ("hold-100000s", "holdTime: 90s", "holdTime: 100000s"),
        ("hold-inf", "holdTime: 90s", "holdTime: .inf"),
        ("hold-nan", "holdTime: 90s", "holdTime: .nan"),
        ("hold-negative", "holdTime: 90s", "holdTime: -5"),
        ("hold-hours", "holdTime: 90s", "holdTime: 99999999999999999999h"),
        ("keepalive-garbage", "keepaliveTime: 30s", "keepaliveTime: 30 s; rm -rf /"),
        ("ttl-exp", "ttl: 300", "ttl: 1e400"),
        ("ttl-bool", "ttl: 300", "ttl: yes"),
        ("bfd-float", "detectMultiplier: 3", "detectMultiplier: 3.5"),
        ("bfd-huge", "receiveInterval: 50", "receiveInterval: 50000000000"),
        ("name-newline", "name: hcp-api-pool", 'name: "hcp-api\\npool"'),
        ("name-unicode", "name: hcp-api-pool", "name: hcp-api-pool\u2028x"),
        ("vip-v6", "vip: 10.0.2.20", "vip: '::1'"),
        ("vip-garbage", "vip: 10.0.2.20", "vip: 10.0.2.999"),
        ("pool-backwards", "10.0.2.20-10.0.2.20", "10.0.2.30-10.0.2.20"),
    ):
        data, line = _replace(old, new)
        yield SpecCase(field, data, line)


def _fifo(path: Path) -> Path:
    os.mkfifo(path)
    return path


def _symlink(target: str) -> Callable[[Path], Path]:
    def make(path: Path) -> Path:
        path.symlink_to(target)
        return path

    return make


def _write(data: bytes, mode: int = 0o600) -> Callable[[Path], Path]:
    def make(path: Path) -> Path:
        path.write_bytes(data)
        path.chmod(mode)
        return path

    return make


def _directory(path: Path) -> Path:
    path.mkdir()
    return path


# (id, how to make the file at a path): none of them is a usable spec or secret
SPECIAL_FILES: tuple[tuple[str, Callable[[Path], Path]], ...] = (
    ("fifo", _fifo),
    ("dev-zero", _symlink("/dev/zero")),
    ("dev-urandom", _symlink("/dev/urandom")),
    ("dev-null", _symlink("/dev/null")),
    ("directory", _directory),
    ("dangling-link", _symlink("/nonexistent/hcplb")),
    ("self-link", lambda p: _symlink(p.name)(p)),
    ("proc-file", _symlink("/proc/self/status")),
)

# secret files hcplb must refuse (exit 2, the field named); `warn`: accepted with a warning
SECRET_FILES: tuple[tuple[str, Callable[[Path], Path]], ...] = (
    *SPECIAL_FILES,
    ("world-writable", _write(b"s3cret\n", 0o666)),
    ("group-and-world-writable", _write(b"s3cret\n", 0o777)),
    ("shadow-like", _write(b"root:*:19000:0:99999:7:::\ndaemon:*:19000:0:99999:7:::\n")),
    ("too-large", _write(b"a" * 5000)),
    ("not-utf8", _write(b"\xff\xfe\xfd\n")),
    ("empty", _write(b"")),
    ("blank-lines", _write(b"\n\n  \n")),
    ("space-inside", _write(b"two words\n")),
    ("too-long-for-md5", _write(b"x" * 81 + b"\n")),
    ("newline-injection", _write(b"pw\nrouter bgp 1\n")),
)
SECRET_WARNED = (("world-readable", _write(b"s3cret\n", 0o644)),)


def is_regular(path: Path) -> bool:
    return stat.S_ISREG(path.lstat().st_mode)
