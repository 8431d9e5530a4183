"""A word list that the beam search can hold words to.

Words are compared case-insensitively (``The``, ``THE`` and ``the`` are one
word).  A *word* is a maximal run of letters and apostrophes; digits,
punctuation and spaces are outside words, so numbers and punctuation always
pass the lexicon.  Prefix queries use one sorted list and ``bisect`` (compact:
a 100,000-word list takes a few MB, not the hundreds a trie of dicts would).
"""

from __future__ import annotations

import bisect
import os
from pathlib import Path
from typing import Iterable

from hwr.errors import InputError

MAX_BYTES = 64 * 1024 * 1024
MAX_WORD = 64


def is_word_char(ch: str) -> bool:
    return ch.isalpha() or ch == "'"


class Lexicon:
    """A set of words with fast "is this the start of a word?" queries."""

    def __init__(self, words: Iterable[str]):
        ws = set()
        for w in words:
            w = w.strip().lower()
            if w and len(w) <= MAX_WORD and all(is_word_char(c) for c in w):
                ws.add(w)
        if not ws:
            raise InputError("the lexicon holds no words (a word is made of letters and apostrophes)")
        self._words = ws
        self._sorted = sorted(ws)

    def __len__(self) -> int:
        return len(self._words)

    def __contains__(self, word: str) -> bool:
        return word.lower() in self._words

    def is_prefix(self, part: str) -> bool:
        """True if some word of the lexicon starts with ``part``."""
        p = part.lower()
        i = bisect.bisect_left(self._sorted, p)
        return i < len(self._sorted) and self._sorted[i].startswith(p)

    @classmethod
    def load(cls, path: str | os.PathLike) -> "Lexicon":
        """Read a UTF-8 word list: one word per line (extra columns such as counts are ignored)."""
        p = Path(path)
        try:
            size = p.stat().st_size
        except OSError as e:
            raise InputError(f"{p}: cannot read the lexicon: {e.strerror or e}") from e
        if size > MAX_BYTES:
            raise InputError(f"{p}: the lexicon is {size / 2**20:.0f} MB; the limit is {MAX_BYTES // 2**20} MB")
        try:
            text = p.read_text(encoding="utf-8")
        except UnicodeDecodeError as e:
            raise InputError(f"{p}: the lexicon is not UTF-8 text ({e.reason} at byte {e.start})") from e
        except OSError as e:  # a folder, no permission
            raise InputError(f"{p}: cannot read the lexicon: {e.strerror or e}") from e
        words = (line.split()[0] for line in text.splitlines() if line.strip() and not line.startswith("#"))
        try:
            return cls(words)
        except InputError as e:
            raise InputError(f"{p}: {e}") from e
