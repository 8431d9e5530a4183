"""Plain text and JSON writers."""

from __future__ import annotations

import json
import re
from typing import Any

from hwr.formats._common import Dest, reading_order, write_output
from hwr.types import Page


_BREAKS = re.compile(r"[\r\n]+")


def _line_texts(page: Page) -> list[str]:
    order = [i for _, idx in reading_order(page) for i in idx]
    # a line is one line of output: line breaks inside a recognised text become spaces
    return [_BREAKS.sub(" ", page.lines[i].text or "") for i in order]


def write_text(page: Page, dest: Dest) -> None:
    """The lines' texts in reading order, one per line (UTF-8, ``\\n``, a final newline
    when there is any line)."""
    lines = _line_texts(page)
    data = "".join(t + "\n" for t in lines)
    write_output(dest, data.encode("utf-8", errors="replace"))


def page_dict(page: Page) -> dict[str, Any]:
    """The DESIGN contract object: ``{"input", "text", "lines": [...]}`` plus the page's
    ``width``, ``height`` and ``regions`` (polygon + indices into ``lines``).

    Lines are in reading order (the regions' order); each is ``LineResult.to_dict()``.
    """
    groups = reading_order(page)
    order = [i for _, idx in groups for i in idx]
    pos = {i: k for k, i in enumerate(order)}
    lines = [page.lines[i].to_dict() for i in order]
    regions = [{"polygon": [[x, y] for x, y in poly], "lines": [pos[i] for i in idx]}
               for poly, idx in groups]
    return {
        "input": page.image,
        "text": "\n".join(line["text"] for line in lines),
        "lines": lines,
        "width": int(page.width),
        "height": int(page.height),
        "regions": regions,
    }


def write_json(page: Page, dest: Dest) -> None:
    """``page_dict(page)`` as UTF-8 JSON (non-ASCII characters kept as they are)."""
    obj = page_dict(page)
    try:
        data = (json.dumps(obj, ensure_ascii=False, indent=1) + "\n").encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate: let json escape it
        data = (json.dumps(obj, indent=1) + "\n").encode("ascii")
    write_output(dest, data)
