"""Characters <-> labels.  Label 0 is the CTC blank; the alphabet is saved in every model."""

from __future__ import annotations

import unicodedata
from typing import Iterable, Sequence


class Alphabet:
    """An ordered set of characters; ``encode`` maps text to labels 1..N (0 is blank)."""

    BLANK = 0

    def __init__(self, chars: Iterable[str]):
        seen: list[str] = []
        known: set[str] = set()  # a set: an alphabet of 100,000 entries must not take minutes
        for c in chars:
            if not isinstance(c, str) or len(c) != 1:
                raise ValueError(f"alphabet entries must be single characters, got {c!r}")
            if c not in known:
                known.add(c)
                seen.append(c)
        if not seen:
            raise ValueError("empty alphabet")
        self.chars: list[str] = seen
        self._index = {c: i + 1 for i, c in enumerate(seen)}

    @classmethod
    def from_texts(cls, texts: Iterable[str], extra: str = "") -> "Alphabet":
        chars = set(extra)
        for t in texts:
            chars.update(normalize_text(t))
        return cls(sorted(chars))

    def __len__(self) -> int:
        """Number of classes including the blank."""
        return len(self.chars) + 1

    def __contains__(self, c: str) -> bool:
        return c in self._index

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Alphabet) and other.chars == self.chars

    def encode(self, text: str, strict: bool = False) -> list[int]:
        """Labels of ``text``; unknown characters are dropped (or raise if ``strict``)."""
        out = []
        for c in normalize_text(text):
            i = self._index.get(c)
            if i is None:
                if strict:
                    raise KeyError(f"character {c!r} is not in the alphabet")
                continue
            out.append(i)
        return out

    def decode(self, labels: Sequence[int]) -> str:
        return "".join(self.chars[i - 1] for i in labels if i > 0)

    def to_list(self) -> list[str]:
        return list(self.chars)


def normalize_text(text: str) -> str:
    """NFC, with runs of white space collapsed to one space and the ends stripped."""
    return " ".join(unicodedata.normalize("NFC", text).split())
