"""One self-contained HTML page: inline CSS, inline SVG, images as data: URIs, no fetches.

The page's small script writes, on load, the colour the browser actually drew for each
coloured topology element into `data-drawn-stroke`, and sets `data-ready` on <body>: a test
that loads the page in a real browser reads both from the DOM it produced.
"""

from __future__ import annotations

import base64
import html
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from hcplb.fsutil import write_atomic

__all__ = ["Cell", "esc", "inline_svg", "page", "png_img", "table", "write_page"]

_CSS = """
body { font: 14px/1.4 system-ui, -apple-system, "Segoe UI", Helvetica, Arial, sans-serif;
       margin: 1.5em 2em; color: #212121; }
h1 { font-size: 1.5em; margin-bottom: 0.2em; }
h2 { font-size: 1.15em; margin-top: 1.6em; border-bottom: 1px solid #e0e0e0; }
.summary { font-size: 1.1em; font-weight: 600; }
.verdict-ok { color: #2e7d32; } .verdict-fail { color: #c62828; } .verdict-warn { color: #ef6c00; }
.topology svg { max-width: 100%; height: auto; }
table { border-collapse: collapse; margin: 0.5em 0; }
th, td { border: 1px solid #e0e0e0; padding: 3px 8px; text-align: left; vertical-align: top; }
th { background: #fafafa; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
tr.status-fail td { background: #ffebee; } tr.status-warn td { background: #fff3e0; }
tr.status-skip td { color: #757575; }
td.status { font-weight: 600; white-space: nowrap; }
tr.status-pass td.status { color: #2e7d32; } tr.status-fail td.status { color: #c62828; }
tr.status-warn td.status { color: #ef6c00; }
td.hint { color: #424242; font-style: italic; }
code, .id { font-family: ui-monospace, "DejaVu Sans Mono", monospace; font-size: 0.92em; }
.legend span { display: inline-block; margin-right: 1.2em; }
.legend b { display: inline-block; width: 1.6em; height: 0.35em; vertical-align: middle; }
"""

_SCRIPT = """
document.addEventListener("DOMContentLoaded", function () {
  var drawn = document.querySelectorAll(".topology g.node, .topology g.edge");
  drawn.forEach(function (g) {
    var shape = g.querySelector("path, polygon, ellipse");
    if (shape) { g.setAttribute("data-drawn-stroke", getComputedStyle(shape).stroke); }
  });
  document.body.setAttribute("data-ready", String(drawn.length));
});
"""

_PROLOG = re.compile(r"^.*?(?=<svg\b)", re.S)


@dataclass(frozen=True)
class Cell:
    """A table cell: text (escaped) and an optional class."""

    text: str
    cls: str = ""


def esc(text: object) -> str:
    return html.escape(str(text), quote=True)


def inline_svg(svg: str) -> str:
    """Graphviz SVG without its XML prolog and DOCTYPE, to sit inside HTML."""
    return _PROLOG.sub("", svg, count=1)


def png_img(png: bytes, alt: str) -> str:
    data = base64.b64encode(png).decode()
    return f'<img alt="{esc(alt)}" src="data:image/png;base64,{data}" style="max-width:100%">'


def table(
    headers: Sequence[str],
    rows: Iterable[tuple[Sequence[Cell | str], str, str]],
    *,
    cls: str = "",
) -> str:
    """rows: (cells, row class, row id)."""
    head = "".join(f"<th>{esc(h)}</th>" for h in headers)
    body = []
    for cells, row_cls, row_id in rows:
        tds = "".join(
            f'<td class="{esc(c.cls)}">{esc(c.text)}</td>'
            if isinstance(c, Cell) and c.cls
            else f"<td>{esc(c.text if isinstance(c, Cell) else c)}</td>"
            for c in cells
        )
        attrs = (f' class="{esc(row_cls)}"' if row_cls else "") + (
            f' id="{esc(row_id)}"' if row_id else ""
        )
        body.append(f"<tr{attrs}>{tds}</tr>")
    table_cls = f' class="{esc(cls)}"' if cls else ""
    return f"<table{table_cls}><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def page(title: str, sections: Sequence[str]) -> str:
    """The whole document. Sections are HTML already; nothing is loaded from elsewhere."""
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
        "img-src data:; style-src 'unsafe-inline'; script-src 'unsafe-inline'\">"
        f"<title>{esc(title)}</title><style>{_CSS}</style>"
        f"<script>{_SCRIPT}</script></head>\n<body>\n" + "\n".join(sections) + "\n</body></html>\n"
    )


def write_page(path: Path, text: str) -> None:
    """Write the page atomically (hcplb.fsutil: a symlink or non-regular file at `path` is
    refused, never followed)."""
    write_atomic(path, text, mode=0o644)
