"""Character and word error rates: edit distance summed over a set, divided by
the summed reference length (not the mean of per-line rates)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

from rapidfuzz.distance import Levenshtein


@dataclass
class ErrorRates:
    char_errors: int = 0
    chars: int = 0
    word_errors: int = 0
    words: int = 0
    lines: int = 0

    def add(self, ref: str, hyp: str) -> None:
        self.char_errors += Levenshtein.distance(ref, hyp)
        self.chars += len(ref)
        rw, hw = ref.split(), hyp.split()
        self.word_errors += Levenshtein.distance(rw, hw)
        self.words += len(rw)
        self.lines += 1

    @property
    def cer(self) -> float:
        return self.char_errors / max(self.chars, 1)

    @property
    def wer(self) -> float:
        return self.word_errors / max(self.words, 1)


def error_rates(pairs: Iterable[tuple[str, str]]) -> ErrorRates:
    """CER and WER over ``(reference, hypothesis)`` pairs."""
    er = ErrorRates()
    for ref, hyp in pairs:
        er.add(ref, hyp)
    return er
