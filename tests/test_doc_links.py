"""Every relative link in README.md and docs/*.md names a file that exists, and every
``#anchor`` (alone or after a ``.md`` file) names a heading of the target file, slugged as
GitHub does it.  Offline and fast: the markdown files are only read."""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from urllib.parse import unquote

import pytest

REPO = Path(__file__).resolve().parents[1]
DOCS = sorted([REPO / "README.md", *(REPO / "docs").glob("*.md")])

FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
HEADING = re.compile(r"^ {0,3}(#{1,6})[ \t]+(.*?)(?:[ \t]+#+)?[ \t]*$")
CODE_SPAN = re.compile(r"(`+)(.+?)\1", re.S)
# [text](target) and ![alt](target); the text may span lines and hold code spans
LINK = re.compile(r"!?\[((?:[^\[\]]|\[[^\[\]]*\])*)\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
EXTERNAL = re.compile(r"^(?:[a-z][a-z0-9+.-]*:|//)", re.I)


def _prose(text: str) -> list[tuple[int, str]]:
    """The lines outside fenced code blocks, with their line numbers."""
    out, fence = [], None
    for number, line in enumerate(text.splitlines(), 1):
        m = FENCE.match(line)
        if fence is None and m:
            fence = m.group(1)[0] * len(m.group(1))
            continue
        if fence is not None:
            if line.strip().startswith(fence) and set(line.strip()) <= {fence[0]}:
                fence = None
            continue
        out.append((number, line))
    return out


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, markup and punctuation other than '-' and
    '_' removed, each space a hyphen."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link: its text
    text = text.replace("`", "").strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


@lru_cache(maxsize=None)
def anchors(path: Path) -> frozenset[str]:
    """Every heading's anchor; a repeated one gets -1, -2, ... as on GitHub."""
    seen: dict[str, int] = {}
    out = set()
    for _, line in _prose(path.read_text(encoding="utf-8")):
        m = HEADING.match(line)
        if not m:
            continue
        base = slug(m.group(2))
        n = seen.get(base, 0)
        seen[base] = n + 1
        out.add(base if n == 0 else f"{base}-{n}")
    return frozenset(out)


def links(path: Path) -> list[tuple[int, str]]:
    """(line number, target) of every link outside code."""
    lines = _prose(path.read_text(encoding="utf-8"))
    # rejoin the prose so that links spanning lines are found; remember where each line starts
    starts, parts, pos = [], [], 0
    for number, line in lines:
        starts.append((pos, number))
        parts.append(line)
        pos += len(line) + 1
    prose = "\n".join(parts)
    # blank out code spans (same length, so positions keep their line numbers)
    prose = CODE_SPAN.sub(lambda m: "`" + re.sub(r"[^\n]", "x", m.group(0)[1:-1]) + "`", prose)
    found = []
    for m in LINK.finditer(prose):
        line = max((n for p, n in starts if p <= m.start()), default=1)
        found.append((line, m.group(2)))
    return found


def _problems(path: Path) -> list[str]:
    problems = []
    for line, target in links(path):
        if EXTERNAL.match(target):
            continue
        where = f"{path.relative_to(REPO)}:{line}: {target}"
        file_part, _, anchor = target.partition("#")
        dest = (path.parent / unquote(file_part)).resolve() if file_part else path
        if not dest.exists():
            problems.append(f"{where}: no such file")
            continue
        if anchor and dest.suffix == ".md" and unquote(anchor) not in anchors(dest):
            problems.append(f"{where}: no heading with that anchor in {dest.relative_to(REPO)}")
    return problems


@pytest.mark.parametrize("path", DOCS, ids=lambda p: str(p.relative_to(REPO)))
def test_links_resolve(path):
    assert links(path) or path.name != "README.md", "no links found: the parser is broken"
    assert _problems(path) == []


def test_slugs_as_github_makes_them():
    assert slug("Reading a line three times (`--bands 3`)") == "reading-a-line-three-times---bands-3"
    assert slug("Pages in another language than the LM's") == "pages-in-another-language-than-the-lms"
    assert slug("Decoding: beam search, language model, lexicon") == "decoding-beam-search-language-model-lexicon"
    assert slug("Points or Bézier curves?") == "points-or-bézier-curves"


def test_duplicate_headings_get_numbered(tmp_path):
    doc = tmp_path / "a.md"
    doc.write_text("# Figures\n\n```sh\n# not a heading\n```\n\n## Figures\n\n### Figures\n", encoding="utf-8")
    assert anchors(doc) == {"figures", "figures-1", "figures-2"}


def test_broken_links_are_found(tmp_path):
    (tmp_path / "b.md").write_text("## There\n", encoding="utf-8")
    doc = tmp_path / "a.md"
    doc.write_text("# Here\n\n[ok](#here) [ok](b.md#there) [`code` ok](b.md) [web](https://example.org/x#y)\n"
                   "[bad](#nowhere) [bad](b.md#nowhere) [bad](c.md) `[not a link](x.md)`\n"
                   "[split\nacross lines](#gone)\n", encoding="utf-8")
    global REPO
    saved, REPO = REPO, tmp_path
    try:
        problems = _problems(doc)
    finally:
        REPO = saved
    assert [p.split(": ", 1)[1] for p in problems] == ["#nowhere: no heading with that anchor in a.md",
                                                       "b.md#nowhere: no heading with that anchor in b.md",
                                                       "c.md: no such file",
                                                       "#gone: no heading with that anchor in a.md"]
