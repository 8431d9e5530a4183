"""Character n-gram language model: training (Kneser-Ney, Witten-Bell), ARPA files, queries.

Tokens are single characters of :func:`hwr.alphabet.normalize_text` output, plus the
sentence markers ``<s>`` / ``</s>`` and ``<unk>``.  Each line of training text is one
sentence.

The model is stored in the standard back-off form, exactly as an ARPA file holds it:
for each stored n-gram ``h c`` a probability ``log10 p(c | h)`` and, for each stored
n-gram that is a context, a back-off weight ``log10 bow(h)``::

    p(c | h) = p_stored(h c)                     if (h c) is stored
             = bow(h) * p(c | h minus its first token)  otherwise (bow(h) = 1 if h is not stored)

Training computes interpolated probabilities and turns them into that form, so the
model sums to one over ``vocab + </s> + <unk>`` for every context.  ``<unk>`` is a
unigram with the probability mass that the lowest order gives to the uniform
distribution (``gamma(empty) / |V|``); it stands for any character outside the
vocabulary.  Pruning drops rare n-grams of order 3 and up and recomputes the back-off
weights so that the model stays normalised.

ARPA file (plain, or gzip when the name ends in ``.gz``): the space character is the
word ``<sp>``; every other character is a word of its own.  Before ``\\data\\`` one line
``# hwr-charlm: {json}`` holds hwr's metadata (format version, order, method, vocabulary,
space token, training corpus description, counts); ARPA readers ignore text before
``\\data\\`` (KenLM only on lines that start with ``#``, as here), so KenLM and
flashlight-text read the file as a character LM.
Foreign ARPA files (e.g. from KenLM's ``lmplz``) load too; their space token is given by
``space_token``.  Files are parsed strictly and never unpickled.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import logging
import math
import os
import re
import tempfile
import time
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from hwr.alphabet import normalize_text
from hwr.errors import ModelError

log = logging.getLogger(__name__)

FORMAT = "hwr-charlm"
FORMAT_VERSION = 1
SPACE_TOKEN = "<sp>"
BOS, EOS, UNK = "<s>", "</s>", "<unk>"
METHODS = ("kneser-ney", "witten-bell")
MAX_ORDER = 10
MAX_NGRAMS = 50_000_000        # a larger ARPA file is refused as absurd
LN10 = math.log(10.0)
_DIGITS = 6                    # significant digits of log10 values in files (and in memory)
_BOS_ID, _EOS_ID, _UNK_ID = 0, 1, 2
_N_SPECIAL = 3
_PAD = "\ue000"                # internal marker of <s> (padding in cache keys); never in a vocabulary
_EOS_MARK = "\ue001"           # internal marker of </s> while counting; never in a vocabulary
_LOG10_ZERO = -99.0            # ARPA convention for log10(0) (the <s> unigram)
_BYTES_PER_NGRAM = 200         # longest ARPA line hwr expects (order 10, multi-byte tokens)
_HEAD_BYTES = 1 << 20          # text read before the \data\ counts are known
_DATA_COUNTS = re.compile(rb"\\data\\[ \t]*\r?\n((?:[ \t]*ngram[ \t]+\d+[ \t]*=[ \t]*\d+[ \t]*\r?\n)+)")


def _quantize(x: np.ndarray) -> np.ndarray:
    """Round log10 values to the digits written to files, so saved == loaded == trained."""
    return np.array([float(f"{v:.{_DIGITS}g}") for v in x.tolist()], dtype=np.float64) if len(x) else x


class CharNgramLM:
    """A character n-gram LM in back-off form.  Build with :meth:`train` or :meth:`load`.

    ``vocab`` holds the characters (``" "`` included); ``order`` is n.  Query with
    :meth:`log_prob`, :meth:`distribution`, :meth:`log_prob_eos`, :meth:`score_text`,
    :meth:`perplexity` (natural logarithms).
    """

    def __init__(self, vocab: Sequence[str], order: int, keys: list[np.ndarray], log10p: list[np.ndarray],
                 log10bow: list[np.ndarray], meta: dict | None = None):
        if not 1 <= order <= MAX_ORDER:
            raise ValueError(f"order must be 1..{MAX_ORDER}, not {order}")
        self.vocab: tuple[str, ...] = tuple(vocab)
        if _PAD in self.vocab or _EOS_MARK in self.vocab:
            raise ValueError("the vocabulary holds a private-use character that hwr reserves (U+E000, U+E001)")
        self.order = order
        self.meta = dict(meta or {})
        self._base = len(self.vocab) + _N_SPECIAL
        if self._base ** order >= 2 ** 63:
            raise ValueError(f"a vocabulary of {len(self.vocab)} characters is too large for order {order}")
        self._id = {c: i + _N_SPECIAL for i, c in enumerate(self.vocab)}
        self._keys = keys                      # per order n (index n-1): sorted int64 keys
        self._lp = [a * LN10 for a in log10p]  # natural-log probabilities
        self._bow = [a * LN10 for a in log10bow]
        self._log10p = log10p
        self._log10bow = log10bow
        self._dist_cache: dict[str, np.ndarray] = {}
        self._ids_cache: dict[tuple[int, ...], np.ndarray] = {}
        self._alpha_cache: dict[tuple[str, ...], np.ndarray] = {}
        self._proj_cache: dict[tuple[str, int], np.ndarray] = {}
        self._alpha_ids: dict[tuple[str, ...], int] = {}
        self.cache_limit = 50_000             # contexts kept; about 1 KB each

    # ------------------------------------------------------------------ introspection

    @property
    def counts(self) -> list[int]:
        """Number of stored n-grams per order (1..n)."""
        return [len(k) for k in self._keys]

    @property
    def method(self) -> str:
        return str(self.meta.get("method", "unknown"))

    def __repr__(self) -> str:
        return f"CharNgramLM(order={self.order}, method={self.method!r}, vocab={len(self.vocab)}, ngrams={self.counts})"

    # ------------------------------------------------------------------ training

    @classmethod
    def train(cls, lines: Iterable[str], order: int = 6, method: str = "kneser-ney", prune: int = 0,
              description: str = "") -> "CharNgramLM":
        """Train on ``lines`` (one sentence each, normalised with ``normalize_text``; empty lines skipped).

        ``method``: ``"kneser-ney"`` (interpolated modified Kneser-Ney, discounts D1, D2, D3+
        per order from counts of counts) or ``"witten-bell"`` (interpolated).  ``prune``: drop
        n-grams of order >= 3 seen fewer than ``prune`` times (0 or 1: keep all).
        """
        if method not in METHODS:
            raise ValueError(f"method must be one of {METHODS}, not {method!r}")
        if not 1 <= order <= MAX_ORDER:
            raise ValueError(f"order must be 1..{MAX_ORDER}, not {order}")
        t0 = time.perf_counter()
        sents = []
        n_chars = 0
        for line in lines:
            t = normalize_text(line.replace(_PAD, "").replace(_EOS_MARK, ""))
            if t:
                sents.append(t)
                n_chars += len(t)
        if not sents:
            raise ValueError("no training text (all lines empty)")
        # one code-point array: <s> c c c </s> <s> ... with private-use markers for <s>, </s>
        bos_cp, eos_cp = 0xE000, 0xE001
        text = "\ue000" + "\ue001\ue000".join(sents) + "\ue001"
        cps = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)
        del text
        uniq, inv = np.unique(cps, return_inverse=True)
        chars = [chr(int(c)) for c in uniq if c not in (bos_cp, eos_cp)]
        vocab = tuple(chars)
        base = len(vocab) + _N_SPECIAL
        if base ** order >= 2 ** 63:
            raise ValueError(f"{len(vocab)} distinct characters are too many for order {order}; "
                             "restrict the training text to a smaller character set")
        remap = np.empty(len(uniq), np.int64)
        ci = _N_SPECIAL
        for j, c in enumerate(uniq):
            if c == bos_cp:
                remap[j] = _BOS_ID
            elif c == eos_cp:
                remap[j] = _EOS_ID
            else:
                remap[j] = ci
                ci += 1
        seq = remap[inv.reshape(-1)]
        del cps, inv
        line_id = np.cumsum(seq == _BOS_ID, dtype=np.int64)
        raw_keys, raw_counts = [], []
        for n in range(1, order + 1):
            k, c = _count_ngrams(seq, line_id, n, base)
            raw_keys.append(k)
            raw_counts.append(c)
        t_count = time.perf_counter() - t0
        log.info("counted n-grams of %d characters in %d lines in %.1f s: %s", n_chars, len(sents), t_count,
                 [len(k) for k in raw_keys])
        keys, log10p, log10bow, discounts = _estimate(raw_keys, raw_counts, order, base, method, prune)
        meta = {
            "format": FORMAT, "version": FORMAT_VERSION, "order": order, "method": method,
            "vocab": list(vocab), "space_token": SPACE_TOKEN, "description": description,
            "training": {"lines": len(sents), "characters": n_chars, "prune": prune,
                         "discounts": discounts},
        }
        lm = cls(vocab, order, keys, log10p, log10bow, meta)
        lm.meta["counts"] = lm.counts
        log.info("trained %r in %.1f s", lm, time.perf_counter() - t0)
        return lm

    # ------------------------------------------------------------------ queries

    def _ids_of(self, text: str) -> list[int]:
        g = self._id.get
        return [g(c, _UNK_ID) for c in text]

    def _context_key(self, context: str) -> str:
        m = self.order - 1
        if m == 0:
            return ""
        if len(context) >= m:
            key = context[len(context) - m:]
            # U+E000 is not in the vocabulary (an unknown character) but marks padding in keys
            return _EOS_MARK + key[1:] if key[0] == _PAD else key
        return _PAD + context

    def _full_dist(self, key: str) -> np.ndarray:
        """Natural-log probabilities of all token ids (index = id; <s> is -inf-ish) after ``key``."""
        d = self._dist_cache.get(key)
        if d is not None:
            return d
        if len(self._dist_cache) >= self.cache_limit:
            self.clear_cache()
        if key.startswith(_PAD):
            ctx = [_BOS_ID] + self._ids_of(key[1:])
        else:
            ctx = self._ids_of(key)
        d = self._dist_ids(tuple(ctx))
        self._dist_cache[key] = d
        return d

    def _dist_ids(self, ctx: tuple[int, ...]) -> np.ndarray:
        """The distribution after the context ids ``ctx``, by the back-off recursion

        ``log p(c | ctx) = stored(ctx, c)`` if that n-gram is stored, else
        ``bow(ctx) + log p(c | ctx[1:])``; the shorter contexts are cached too, so a
        new context costs two binary searches and one vector add.
        """
        d = self._ids_cache.get(ctx)
        if d is not None:
            return d
        base = self._base
        k = len(ctx)
        if k == 0:
            d = np.full(base, -np.inf)
            d[self._keys[0]] = self._lp[0]      # unigram: keys are the ids
        else:
            h = 0
            for t in ctx:
                h = h * base + t
            keys_k = self._keys[k - 1]
            i = int(keys_k.searchsorted(h))
            bow = self._bow[k - 1][i] if i < len(keys_k) and keys_k[i] == h else 0.0
            d = self._dist_ids(ctx[1:]) + bow
            if k < self.order:
                keys_n = self._keys[k]
                lo, hi = keys_n.searchsorted((h * base, (h + 1) * base))
                if hi > lo:
                    d[keys_n[lo:hi] - h * base] = self._lp[k][lo:hi]
        d.flags.writeable = False
        self._ids_cache[ctx] = d
        return d

    def _alphabet_ids(self, alphabet_chars: Sequence[str]) -> tuple[int, np.ndarray]:
        t = tuple(alphabet_chars)
        ids = self._alpha_cache.get(t)
        if ids is None:
            ids = np.array([self._id.get(c, _EOS_ID if c == EOS else _UNK_ID) for c in t], dtype=np.int64)
            self._alpha_cache[t] = ids
            self._alpha_ids[t] = len(self._alpha_ids)
        return self._alpha_ids[t], ids

    def distribution(self, context: str, alphabet_chars: Sequence[str]) -> np.ndarray:
        """Natural-log ``p(c | context)`` for each ``c`` of ``alphabet_chars`` (read-only array).

        Characters outside the LM vocabulary get the ``<unk>`` probability.  Cached by the
        last ``order - 1`` characters of ``context`` (``<s>`` padded at the start).
        """
        key = self._context_key(context)
        if isinstance(alphabet_chars, tuple):
            t = alphabet_chars
        else:
            t = tuple(alphabet_chars)
        aid = self._alpha_ids.get(t)
        if aid is not None:
            out = self._proj_cache.get((key, aid))
            if out is not None:
                return out
        aid, ids = self._alphabet_ids(t)
        out = self._full_dist(key)[ids]
        out.flags.writeable = False
        self._proj_cache[(key, aid)] = out
        return out

    def log_prob(self, context: str, char: str) -> float:
        """Natural-log ``p(char | context)``; ``char`` is one character or ``"</s>"``."""
        if char == EOS:
            i = _EOS_ID
        elif len(char) == 1:
            i = self._id.get(char, _UNK_ID)
        else:
            raise ValueError(f"char must be one character or '</s>', not {char!r}")
        return float(self._full_dist(self._context_key(context))[i])

    def log_prob_eos(self, context: str) -> float:
        """Natural-log probability that the sentence ends after ``context``."""
        return float(self._full_dist(self._context_key(context))[_EOS_ID])

    def log_prob_unk(self, context: str = "") -> float:
        return float(self._full_dist(self._context_key(context))[_UNK_ID])

    def score_text(self, text: str) -> float:
        """Total natural-log probability of the normalised ``text`` as one sentence, ``</s>`` included."""
        t = normalize_text(text)
        total = 0.0
        for i, c in enumerate(t):
            total += self.log_prob(t[:i], c)
        return total + self.log_prob_eos(t)

    def perplexity(self, lines: Iterable[str]) -> float:
        """Per-character perplexity (``</s>`` counts as a character) over the non-empty lines."""
        total, n = 0.0, 0
        for line in lines:
            t = normalize_text(line)
            if not t:
                continue
            total += self.score_text(t)
            n += len(t) + 1
        if n == 0:
            raise ValueError("no text to compute a perplexity on")
        return math.exp(-total / n)

    def check_alphabet(self, chars: Sequence[str]) -> None:
        """Raise ModelError if this LM does not fit a recognition model's alphabet ``chars``.

        Wrong alphabet = fewer than half of the model's letters (all of its characters if
        it has no letters) are in the LM vocabulary.  Missing characters otherwise only
        give a warning: they get the ``<unk>`` probability.
        """
        vocab = set(self.vocab)
        chars = [c for c in chars if c != EOS]
        letters = [c for c in chars if c.isalpha()] or list(chars)
        missing = [c for c in chars if c not in vocab]
        found = sum(1 for c in letters if c in vocab)
        if letters and found * 2 < len(letters):
            shown = "".join(missing[:60])
            raise ModelError(f"language model of the wrong alphabet: only {found} of the model's {len(letters)} "
                             f"letters are in its vocabulary; missing: {shown!r}")
        if missing:
            log.info("the language model has no %d character(s) of the recognition model: %r; "
                        "they get the <unk> probability", len(missing), "".join(missing))

    # ------------------------------------------------------------------ ARPA files

    def _token(self, i: int) -> str:
        if i == _BOS_ID:
            return BOS
        if i == _EOS_ID:
            return EOS
        if i == _UNK_ID:
            return UNK
        c = self.vocab[i - _N_SPECIAL]
        return SPACE_TOKEN if c == " " else c

    def save(self, path: str | os.PathLike, description: str | None = None) -> None:
        """Write an ARPA file (gzip if the name ends in ``.gz``), atomically."""
        path = Path(path)
        meta = dict(self.meta)
        meta.update({"format": FORMAT, "version": FORMAT_VERSION, "order": self.order,
                     "vocab": list(self.vocab), "space_token": SPACE_TOKEN, "counts": self.counts})
        meta.setdefault("method", "unknown")
        if description is not None:
            meta["description"] = description
        tokens = [self._token(i) for i in range(self._base)]
        tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
        try:
            raw = open(tmp, "wb")
            stream = gzip.GzipFile(filename="", fileobj=raw, mode="wb", compresslevel=6, mtime=0) if path.name.endswith(".gz") else raw
            with raw, stream, io.TextIOWrapper(stream, encoding="utf-8", newline="\n") as f:
                # KenLM accepts text before \data\ only on lines that start with '#'
                f.write("# hwr character n-gram language model (ARPA back-off format; characters are words,\n")
                f.write(f"# the space character is {SPACE_TOKEN}).  Metadata as JSON:\n")
                f.write(f"# {FORMAT}: " + json.dumps(meta, ensure_ascii=True, sort_keys=True) + "\n\n")
                f.write("\\data\\\n")
                for n, k in enumerate(self._keys, 1):
                    f.write(f"ngram {n}={len(k)}\n")
                base = self._base
                tok = np.array(tokens, dtype=object)
                for n in range(1, self.order + 1):
                    f.write(f"\n\\{n}-grams:\n")
                    keys = self._keys[n - 1]
                    cols = [tok[(keys // base ** (n - 1 - j)) % base] for j in range(n)]
                    words = [" ".join(w) for w in zip(*cols)] if n > 1 else cols[0].tolist()
                    lp = [f"{v:.{_DIGITS}g}" for v in self._log10p[n - 1].tolist()]
                    if n < self.order:
                        bw = [f"{v:.{_DIGITS}g}" for v in self._log10bow[n - 1].tolist()]
                        f.write("".join(f"{a}\t{w}\t{b}\n" for a, w, b in zip(lp, words, bw)))
                    else:
                        f.write("".join(f"{a}\t{w}\n" for a, w in zip(lp, words)))
                f.write("\n\\end\\\n")
            os.replace(tmp, path)
        finally:
            if tmp.exists():
                tmp.unlink()

    @classmethod
    def load(cls, path: str | os.PathLike, space_token: str | None = None,
             max_ngrams: int = MAX_NGRAMS) -> "CharNgramLM":
        """Read an ARPA character LM (ours or foreign, gzip or plain) with strict checks.

        ``space_token``: the word that stands for the space character (default: the one in
        hwr's metadata, else ``<sp>``).  Raises :class:`ModelError` naming the file and line.
        """
        p = Path(path)
        cache = _cache_path(p, space_token)
        if cache is not None and cache.exists():
            lm = _load_cache(cache)
            if lm is not None:
                return lm
        lm = _ArpaReader(p, space_token, max_ngrams).read()
        if cache is not None:
            _save_cache(lm, cache)
        return lm

    def clear_cache(self) -> None:
        self._dist_cache.clear()
        self._proj_cache.clear()
        self._ids_cache.clear()


# ---------------------------------------------------------------------------- load cache
#
# Parsing an ARPA file of a few hundred thousand n-grams takes seconds; the parsed arrays
# are kept in the user's cache folder as .npz (numbers and strings only, read with
# allow_pickle=False), keyed by the SHA-256 of the file's bytes, so a changed file is
# parsed again and a damaged cache file is ignored.


def _cache_path(path: Path, space_token: str | None) -> Path | None:
    if os.environ.get("HWR_NO_CACHE"):
        return None
    try:
        h = hashlib.sha256()
        with open(path, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
    except OSError:
        return None  # the reader reports it
    h.update(f"|{space_token}|{FORMAT_VERSION}".encode())
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "hwr" / "lm" / f"{h.hexdigest()[:24]}.npz"


def _save_cache(lm: "CharNgramLM", cache: Path) -> None:
    arrays = {"vocab": np.array(lm.vocab, dtype=str), "order": np.array(lm.order),
              "meta": np.array(json.dumps(lm.meta))}
    for n in range(lm.order):
        arrays[f"keys{n}"] = lm._keys[n]
        arrays[f"p{n}"] = lm._log10p[n]
        arrays[f"bow{n}"] = lm._log10bow[n]
    try:
        cache.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=cache.parent, suffix=".tmp.npz")
        os.close(fd)
        np.savez(tmp, **arrays)
        os.replace(tmp, cache)
    except OSError as e:  # a read-only home: no cache, no harm
        log.debug("cannot write the LM cache %s: %s", cache, e)


def _load_cache(cache: Path) -> "CharNgramLM | None":
    try:
        with np.load(cache, allow_pickle=False) as z:
            order = int(z["order"])
            if not 1 <= order <= MAX_ORDER:
                raise ValueError(f"order {order}")
            keys = [z[f"keys{n}"] for n in range(order)]
            lp = [z[f"p{n}"] for n in range(order)]
            bow = [z[f"bow{n}"] for n in range(order)]
            vocab = [str(c) for c in z["vocab"]]
            meta = json.loads(str(z["meta"]))
        # a damaged or foreign cache must not give an LM that fails later, at query time
        base = len(vocab) + _N_SPECIAL
        for n, (k, p, b) in enumerate(zip(keys, lp, bow), 1):
            if (k.ndim != 1 or k.dtype != np.int64 or p.shape != k.shape or b.shape != k.shape
                    or p.dtype.kind != "f" or b.dtype.kind != "f" or not (np.all(np.isfinite(p)) and np.all(np.isfinite(b)))
                    or (len(k) and (k[0] < 0 or k[-1] >= base ** n)) or np.any(np.diff(k) <= 0)):
                raise ValueError(f"inconsistent arrays of order {n}")
        if not isinstance(meta, dict):
            raise ValueError("metadata is not an object")
        return CharNgramLM(vocab, order, keys, lp, bow, meta)
    except Exception as e:  # noqa: BLE001 - a damaged cache is parsed again from the ARPA file
        log.debug("ignoring the LM cache %s: %s", cache, e)
        return None


# ---------------------------------------------------------------------------- counting


def _count_ngrams(seq: np.ndarray, line_id: np.ndarray, n: int, base: int,
                  chunk: int = 8_000_000) -> tuple[np.ndarray, np.ndarray]:
    """Sorted unique keys and counts of the n-grams of ``seq`` that stay inside one sentence."""
    L = len(seq) - n + 1
    parts_k, parts_c = [], []
    for s in range(0, max(L, 0), chunk):
        e = min(L, s + chunk)
        key = seq[s:e].copy()
        for j in range(1, n):
            key *= base
            key += seq[s + j:e + j]
        ok = line_id[s:e] == line_id[s + n - 1:e + n - 1]   # inside one sentence (<s> unigrams included)
        k, c = np.unique(key[ok], return_counts=True)
        parts_k.append(k)
        parts_c.append(c)
    if not parts_k:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    if len(parts_k) == 1:
        return parts_k[0].astype(np.int64), parts_c[0].astype(np.int64)
    k = np.concatenate(parts_k)
    c = np.concatenate(parts_c)
    uk, inv = np.unique(k, return_inverse=True)
    return uk.astype(np.int64), np.bincount(inv, weights=c, minlength=len(uk)).astype(np.int64)


def _kn_discounts(a: np.ndarray) -> tuple[float, float, float]:
    """Modified Kneser-Ney discounts D1, D2, D3+ from the counts of counts of ``a``.

    Falls back to (0.5, 1.0, 1.5) scaled into range when counts of counts are zero or the
    estimates leave (0, k) -- this happens on tiny corpora.
    """
    n1, n2, n3, n4 = (int(np.count_nonzero(a == k)) for k in (1, 2, 3, 4))
    fallback = (0.5, 1.0, 1.5)
    if min(n1, n2) == 0:
        return fallback
    y = n1 / (n1 + 2 * n2)
    d = [1 - 2 * y * n2 / n1]
    d.append(2 - 3 * y * n3 / n2)
    d.append(3 - 4 * y * n4 / n3 if n3 else fallback[2])
    out = []
    for k, (dk, fb) in enumerate(zip(d, fallback), 1):
        out.append(dk if 0 < dk < k else fb)
    return out[0], out[1], out[2]


def _estimate(raw_keys, raw_counts, order, base, method, prune):
    """Interpolated probabilities in back-off form: per order sorted keys, log10 p, log10 bow."""
    probs: list[np.ndarray] = []     # natural prob (not log) of every n-gram, full tables
    gammas: list[tuple[np.ndarray, np.ndarray]] = []   # per order n: (history keys, gamma) of n-grams of order n
    discounts = []
    vsize = base - 1                  # predictable tokens: everything but <s>
    for n in range(1, order + 1):
        keys, cnt = raw_keys[n - 1], raw_counts[n - 1].astype(np.float64)
        if len(keys) == 0:            # no sentence is long enough for this order
            probs.append(np.zeros(0))
            gammas.append((np.zeros(0, np.int64), np.zeros(0)))
            discounts.append(None)
            continue
        if method == "kneser-ney" and n < order:
            # continuation counts N1+(. w), except for n-grams that start with <s>
            suf, nsuf = np.unique(raw_keys[n] % base ** n, return_counts=True)
            a = cnt.copy()
            starts_bos = keys < base ** (n - 1) if n > 1 else keys == _BOS_ID
            pos = np.searchsorted(suf, keys)
            pos = np.minimum(pos, len(suf) - 1)
            found = suf[pos] == keys if len(suf) else np.zeros(len(keys), bool)
            use = found & ~starts_bos
            a[use] = nsuf[pos[use]]
            # n-grams never preceded by anything (impossible inside a sentence) keep raw counts
        else:
            a = cnt
        if n == 1:
            sel = keys != _BOS_ID
        else:
            sel = np.ones(len(keys), bool)
        hist = keys // base if n > 1 else np.zeros(len(keys), np.int64)
        if method == "kneser-ney":
            d1, d2, d3 = _kn_discounts(a[sel])
            discounts.append([d1, d2, d3])
            disc = np.where(a >= 3, d3, np.where(a >= 2, d2, d1))
            disc = np.minimum(disc, a)
            num = np.where(sel, a - disc, 0.0)
            massed = np.where(sel, disc, 0.0)
        else:
            num = np.where(sel, a, 0.0)
            massed = sel.astype(np.float64)        # one type per distinct continuation
        hk, hstart = np.unique(hist, return_index=True)   # hist is sorted since keys are
        tot = np.add.reduceat(np.where(sel, a, 0.0), hstart)
        mass = np.add.reduceat(massed, hstart)
        if method == "kneser-ney":
            denom = tot
            gamma = np.divide(mass, tot, out=np.ones_like(tot), where=tot > 0)
        else:
            denom = tot + mass
            gamma = np.divide(mass, denom, out=np.ones_like(tot), where=denom > 0)
        hidx = np.searchsorted(hk, hist)
        p = np.divide(num, denom[hidx], out=np.zeros_like(num), where=denom[hidx] > 0)
        if n == 1:
            lower = np.full(len(keys), 1.0 / vsize)
        else:
            prev = raw_keys[n - 2]
            lower = probs[n - 2][np.searchsorted(prev, keys % base ** (n - 1))]
        p = p + gamma[hidx] * lower
        if n == 1:
            p[~sel] = 0.0
        probs.append(p)
        gammas.append((hk, gamma))
    # the unigram table gets <unk> (never seen) with gamma(empty) / |V|
    k1, p1 = raw_keys[0], probs[0]
    if not np.any(k1 == _UNK_ID):
        g0 = gammas[0][1][0]
        k1 = np.concatenate([k1, [_UNK_ID]])
        p1 = np.concatenate([p1, [g0 / vsize]])
        o = np.argsort(k1)
        k1, p1 = k1[o], p1[o]
    # every character of the vocabulary is a unigram (seen in training); keep tables
    keys_out = [k1] + [raw_keys[n] for n in range(1, order)]
    p_out = [p1] + probs[1:]
    cnt_out = [None] + [raw_counts[n] for n in range(1, order)]
    if prune and prune > 1:
        for n in range(3, order + 1):
            keep = cnt_out[n - 1] >= prune
            keys_out[n - 1] = keys_out[n - 1][keep]
            p_out[n - 1] = p_out[n - 1][keep]
    # back-off weights: gamma exactly where nothing was pruned, else renormalised
    log10p = []
    for n in range(1, order + 1):
        lp = np.full(len(p_out[n - 1]), _LOG10_ZERO)
        pos = p_out[n - 1] > 0
        lp[pos] = np.log10(p_out[n - 1][pos])
        log10p.append(_quantize(lp))
    qp = [np.where(lp <= _LOG10_ZERO, 0.0, 10.0 ** lp) for lp in log10p]
    log10bow = []
    for n in range(1, order + 1):
        keys = keys_out[n - 1]
        bow = np.zeros(len(keys))
        if n < order and len(keys_out[n]):
            ext = keys_out[n]
            hist = ext // base
            hk, hstart = np.unique(hist, return_index=True)
            sum_hi = np.add.reduceat(qp[n], hstart)
            if n == 1:
                low = qp[0][np.searchsorted(keys_out[0], ext % base)]
            else:
                low = qp[n - 1][np.searchsorted(keys_out[n - 1], ext % base ** n)]
            sum_lo = np.add.reduceat(low, hstart)
            num = 1.0 - sum_hi
            den = 1.0 - sum_lo
            # exact interpolation weights of the (unpruned) model, for the fallback
            gk, gv = gammas[n]
            g = gv[np.searchsorted(gk, hk)]
            ok = (num > 1e-12) & (den > 1e-12)
            w = np.where(ok, num / np.where(ok, den, 1.0), g)
            idx = np.searchsorted(keys, hk)
            bow[idx] = np.log10(np.maximum(w, 1e-99))
        log10bow.append(_quantize(bow))
    return keys_out, log10p, log10bow, discounts


# ---------------------------------------------------------------------------- interpolation


def interpolate(models: Sequence[CharNgramLM], weights: Sequence[float], description: str = "") -> CharNgramLM:
    """One back-off LM that approximates the mixture ``sum_i weights[i] * p_i(c | h)``.

    Static interpolation, as SRILM's ``ngram -mix-lm`` does it: the result stores every
    n-gram that any of the models stores (closed under prefixes and suffixes, so that each
    context holds its back-off weight), each with the mixed probability; its back-off
    weights renormalise the rest of each context's mass, so it sums to one.  It is exact
    for the stored n-grams and backs off like an n-gram model elsewhere.  The vocabulary
    is the union of the models'; a character one model lacks gets an equal share of that
    model's ``<unk>`` probability.  Weights are normalised to sum to one.

    Used to adapt a general LM to the text of a fine-tuning (``hwr train``): the small
    in-domain model brings its words, the general one keeps everything else likely.
    """
    if not models or len(models) != len(weights):
        raise ValueError("give as many weights as models, at least one")
    w = np.asarray(weights, np.float64)
    if not np.all(np.isfinite(w)) or np.any(w < 0) or w.sum() <= 0:
        raise ValueError("weights must be non-negative and not all zero")
    w = w / w.sum()
    vocab = tuple(sorted(set().union(*(m.vocab for m in models))))
    order = max(m.order for m in models)
    base = len(vocab) + _N_SPECIAL
    if base ** order >= 2 ** 63:
        raise ValueError(f"a vocabulary of {len(vocab)} characters is too large for order {order}")
    new_id = {c: i + _N_SPECIAL for i, c in enumerate(vocab)}
    # per model: its ids -> new ids, the new ids it lacks, and new ids -> its ids (for contexts)
    maps = []
    for m in models:
        to_new = np.array(list(range(_N_SPECIAL)) + [new_id[c] for c in m.vocab], np.int64)
        lacks = np.array([new_id[c] for c in vocab if c not in m._id], np.int64)
        to_m = np.full(base, _UNK_ID, np.int64)
        to_m[to_new] = np.arange(len(to_new))
        maps.append((to_new, lacks, to_m))
    # the union of the stored n-grams, in new ids, closed under prefixes and suffixes
    keys: list[set | np.ndarray] = []
    for n in range(1, order + 1):
        parts = []
        for m, (to_new, _, _) in zip(models, maps):
            if n <= m.order and len(m._keys[n - 1]):
                k = m._keys[n - 1]
                mb = m._base
                new = np.zeros(len(k), np.int64)
                for j in range(n):
                    new = new * base + to_new[(k // mb ** (n - 1 - j)) % mb]
                parts.append(new)
        keys.append(np.unique(np.concatenate(parts)) if parts else np.zeros(0, np.int64))
    for n in range(order, 1, -1):
        k = keys[n - 1]
        keys[n - 2] = np.unique(np.concatenate([keys[n - 2], k // base, k % base ** (n - 1)]))
    keys[0] = np.arange(base, dtype=np.int64)  # every token is a unigram (<s> with log10 p = -99)

    def mixed(hist: tuple[int, ...]) -> np.ndarray:
        out = np.zeros(base)
        for m, wi, (to_new, lacks, to_m) in zip(models, w, maps):
            ctx = tuple(int(to_m[t]) for t in hist[max(0, len(hist) - (m.order - 1)):]) if m.order > 1 else ()
            p = np.exp(m._dist_ids(ctx))
            v = np.zeros(base)
            v[to_new] = p
            share = p[_UNK_ID] / (len(lacks) + 1)
            v[lacks] = share
            v[_UNK_ID] = share
            out += wi * v
        out[_BOS_ID] = 0.0
        return out

    log10p = []
    for n in range(1, order + 1):
        k = keys[n - 1]
        p = np.zeros(len(k))
        if n == 1:
            p = mixed(())[k]
        else:
            hist = k // base
            hk, start = np.unique(hist, return_index=True)
            ends = np.append(start[1:], len(k))
            for h, a, b in zip(hk.tolist(), start.tolist(), ends.tolist()):
                ids = [(h // base ** (n - 2 - j)) % base for j in range(n - 1)]
                p[a:b] = mixed(tuple(ids))[k[a:b] % base]
        for m in models:
            m._ids_cache.clear()
        lp = np.full(len(k), _LOG10_ZERO)
        lp[p > 0] = np.log10(p[p > 0])
        log10p.append(_quantize(lp))
    qp = [np.where(lp <= _LOG10_ZERO, 0.0, 10.0 ** lp) for lp in log10p]
    log10bow = []
    for n in range(1, order + 1):
        bow = np.zeros(len(keys[n - 1]))
        if n < order and len(keys[n]):
            ext = keys[n]
            hk, start = np.unique(ext // base, return_index=True)
            sum_hi = np.add.reduceat(qp[n], start)
            low = qp[n - 1][np.searchsorted(keys[n - 1], ext % base ** n)]
            sum_lo = np.add.reduceat(low, start)
            num, den = 1.0 - sum_hi, 1.0 - sum_lo
            ok = (num > 1e-12) & (den > 1e-12)
            bw = np.where(ok, num / np.where(ok, den, 1.0), 1e-99)
            bow[np.searchsorted(keys[n - 1], hk)] = np.log10(np.maximum(bw, 1e-99))
        log10bow.append(_quantize(bow))
    meta = {"format": FORMAT, "version": FORMAT_VERSION, "order": order, "method": "interpolated",
            "vocab": list(vocab), "space_token": SPACE_TOKEN, "description": description,
            "interpolated": [{"weight": float(wi), "order": m.order, "method": m.method,
                              "description": str(m.meta.get("description", ""))} for m, wi in zip(models, w)]}
    lm = CharNgramLM(vocab, order, [np.asarray(k, np.int64) for k in keys], log10p, log10bow, meta)
    lm.meta["counts"] = lm.counts
    return lm


# ---------------------------------------------------------------------------- ARPA reading


class _ArpaReader:
    """Strict ARPA parser over the lines of the whole (decompressed) file."""

    def __init__(self, path: Path, space_token: str | None, max_ngrams: int):
        self.path = path
        self.space_token = space_token
        self.max_ngrams = max_ngrams
        self.lines: list[str] = []
        self.i = 0                    # index of the next line; line numbers are 1-based

    @property
    def lineno(self) -> int:
        return self.i

    def fail(self, msg: str, line: bool = True) -> ModelError:
        where = f"{self.path}, line {self.lineno}" if line else str(self.path)
        return ModelError(f"{where}: {msg}")

    def _limit(self, head: bytes) -> int:
        """Most bytes of text the file may hold: ``_BYTES_PER_NGRAM`` per n-gram announced in
        ``\\data\\`` when the counts are in ``head``, else per n-gram of ``max_ngrams``.  So a
        gzip bomb (a few MB expanding to GBs) is refused after what its header announces."""
        limit = self.max_ngrams * _BYTES_PER_NGRAM
        m = _DATA_COUNTS.search(head)
        if m:
            total = sum(int(c) for c in re.findall(rb"=[ \t]*(\d+)", m.group(1)))
            limit = min(limit, m.end() + _HEAD_BYTES + total * _BYTES_PER_NGRAM)
        return limit

    def _read_limited(self, stream) -> tuple[bytes, int]:
        """The stream's bytes, read in blocks, stopping one block past the limit (``read(n)``
        with a huge ``n`` would allocate ``n`` bytes at once)."""
        head = stream.read(_HEAD_BYTES)
        limit = self._limit(head)
        parts, total = [head], len(head)
        while total <= limit and len(parts[-1]):
            block = stream.read(min(_HEAD_BYTES * 16, limit + 1 - total) or 1)
            parts.append(block)
            total += len(block)
        return b"".join(parts), limit

    def _read_text(self) -> str:
        try:
            with open(self.path, "rb") as fh:
                if fh.read(2) == b"\x1f\x8b":
                    fh.seek(0)
                    try:
                        with gzip.GzipFile(fileobj=fh) as g:
                            data, limit = self._read_limited(g)
                    except (EOFError, OSError, zlib_error) as e:
                        raise ModelError(f"{self.path}: corrupt or truncated gzip data ({e})") from e
                else:
                    fh.seek(0)
                    data, limit = self._read_limited(fh)
        except OSError as e:
            raise ModelError(f"{self.path}: cannot read language model ({e.strerror or e})") from e
        if len(data) > limit:
            raise ModelError(f"{self.path}: more than {limit:,} bytes of text: larger than its \\data\\ counts "
                             "announce, or than any language model hwr accepts")
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError as e:
            raise ModelError(f"{self.path}: not UTF-8 text at byte {e.start}; not an ARPA language model") from e

    def _next(self) -> str | None:
        if self.i >= len(self.lines):
            return None
        self.i += 1
        return self.lines[self.i - 1]

    def read(self) -> CharNgramLM:
        self.lines = self._read_text().splitlines()
        meta = self._header()
        counts = self._data()
        space = self.space_token or meta.get("space_token") or SPACE_TOKEN
        sections = []
        for n in range(1, len(counts) + 1):
            sections.append(self._section(n, counts[n - 1], len(counts)))
        self._end()
        return self._build(sections, counts, space, meta)

    def _header(self) -> dict:
        meta: dict = {}
        while (line := self._next()) is not None:
            s = line.strip()
            if s == "\\data\\":
                return meta
            if s.lstrip("# ").startswith(FORMAT + ":"):
                try:
                    meta = json.loads(s.lstrip("# ")[len(FORMAT) + 1:])
                except (ValueError, RecursionError) as e:  # RecursionError: absurdly nested JSON
                    raise self.fail(f"unreadable hwr metadata ({type(e).__name__})") from e
                if not isinstance(meta, dict):
                    raise self.fail("hwr metadata is not a JSON object")
                vocab = meta.get("vocab")
                if vocab is not None and not (isinstance(vocab, list) and all(isinstance(c, str) for c in vocab)):
                    raise self.fail("hwr metadata: 'vocab' is not a list of characters")
                if not isinstance(meta.get("space_token", ""), str):
                    raise self.fail("hwr metadata: 'space_token' is not a string")
                v = meta.get("version")
                if not isinstance(v, int) or v > FORMAT_VERSION:
                    raise self.fail(f"hwr language model format version {v!r} is not supported "
                                    f"(this hwr reads up to {FORMAT_VERSION})")
            if self.i > 10_000:
                break
        raise self.fail("no \\data\\ section: not an ARPA language model (or truncated)")

    def _data(self) -> list[int]:
        counts: list[int] = []
        while (line := self._next()) is not None:
            s = line.strip()
            if not s:
                if counts:
                    break
                continue
            if not s.startswith("ngram "):
                raise self.fail(f"expected 'ngram N=COUNT' in \\data\\, got {s[:60]!r}")
            a, eq, b = s[6:].partition("=")
            try:
                n, c = int(a), int(b)
            except ValueError:
                raise self.fail(f"non-numeric n-gram count {s[:60]!r}") from None
            if not eq or n != len(counts) + 1:
                raise self.fail(f"expected 'ngram {len(counts) + 1}=COUNT', got {s[:60]!r}")
            if n > MAX_ORDER:
                raise self.fail(f"order {n} is larger than the supported {MAX_ORDER}")
            if c < 0 or c > self.max_ngrams:
                raise self.fail(f"absurd n-gram count {c} (limit {self.max_ngrams})")
            counts.append(c)
        if not counts:
            raise self.fail("empty \\data\\ section (truncated file?)")
        if sum(counts) > self.max_ngrams:
            raise self.fail(f"{sum(counts)} n-grams in all is more than the limit {self.max_ngrams}")
        if counts[0] == 0:
            raise self.fail("no unigrams")
        return counts

    def _section(self, n: int, count: int, order: int):
        while (line := self._next()) is not None:
            s = line.strip()
            if not s:
                continue
            if s != f"\\{n}-grams:":
                raise self.fail(f"expected the section header '\\{n}-grams:', got {s[:60]!r}")
            break
        else:
            raise self.fail(f"file ends before the \\{n}-grams: section (truncated)")
        start = self.i
        body = self.lines[start:start + count]
        parts = [ln.split() for ln in body]
        want_bow = n < order
        ok_lens = {n + 1, n + 2} if want_bow else {n + 1}
        lens = set(map(len, parts))
        if not lens <= ok_lens or len(body) < count:
            for k, p in enumerate(parts):
                if len(p) not in ok_lens:
                    self.i = start + k + 1
                    if not p or p[0].startswith("\\"):
                        raise self.fail(f"found {k} {n}-grams, \\data\\ announced {count}")
                    raise self.fail(f"a {n}-gram line needs a log10 probability, {n} word(s)"
                                    f"{' and an optional back-off weight' if want_bow else ''}: {body[k][:80]!r}")
            self.i = len(self.lines)
            raise self.fail(f"file ends inside the \\{n}-grams: section after {len(body)} of {count} "
                            "entries (truncated)")
        if want_bow and n + 1 in lens:   # back-off weights are optional
            parts = [p if len(p) == n + 2 else p + ["0"] for p in parts]
        cols = list(zip(*parts)) if parts else [()] * (n + 1 + want_bow)
        lp = self._numbers(cols[0], start, "log10 probability")
        if np.any(lp > 1e-6):
            k = int(np.argmax(lp > 1e-6))
            self.i = start + k + 1
            raise self.fail(f"log10 probability {parts[k][0]} is positive")
        bw = self._numbers(cols[n + 1], start, "back-off weight") if want_bow else np.zeros(count)
        words = cols[1:n + 1]        # one tuple of words per position in the n-gram
        self.i = start + count
        nxt = self._next()
        if nxt is not None and nxt.strip():
            raise self.fail(f"more {n}-grams than the {count} announced in \\data\\")
        return words, lp, bw

    def _numbers(self, strings: list[str], start: int, what: str) -> np.ndarray:
        try:
            v = np.array(strings, dtype=np.float64)
        except ValueError:
            for k, s in enumerate(strings):
                try:
                    float(s)
                except ValueError:
                    self.i = start + k + 1
                    raise self.fail(f"non-numeric {what} {s[:40]!r}") from None
            raise self.fail(f"non-numeric {what} in the section starting at line {start + 1}") from None
        bad = ~np.isfinite(v)
        if np.any(bad):
            k = int(np.argmax(bad))
            self.i = start + k + 1
            raise self.fail(f"{what} is {strings[k]} (must be finite)")
        return v

    def _end(self) -> None:
        while (line := self._next()) is not None:
            s = line.strip()
            if not s:
                continue
            if s == "\\end\\":
                return
            raise self.fail(f"expected \\end\\ after the last section, got {s[:60]!r}")
        raise self.fail("no \\end\\ marker: the file is truncated", line=False)

    def _build(self, sections, counts, space: str, meta: dict) -> CharNgramLM:
        order = len(counts)
        special = {BOS: _BOS_ID, EOS: _EOS_ID, UNK: _UNK_ID}
        chars = []
        unigram_words = sections[0][0][0]
        for t in unigram_words:
            if t in special:
                continue
            c = " " if t == space else t
            if c in (_PAD, _EOS_MARK):
                raise ModelError(f"{self.path}: unigram U+{ord(c):04X} is reserved by hwr")
            if len(c) != 1:
                raise ModelError(f"{self.path}: unigram {t!r} is not a single character "
                                 f"(not a character LM, or its space token is not {space!r})")
            chars.append(c)
        if len(set(chars)) != len(chars):
            raise ModelError(f"{self.path}: a character occurs twice among the unigrams")
        vocab = tuple(sorted(chars))
        base = len(vocab) + _N_SPECIAL
        if base ** order >= 2 ** 63:
            raise ModelError(f"{self.path}: {len(vocab)} characters at order {order} are too many for hwr")
        tid = dict(special)
        for i, c in enumerate(vocab):
            tid[space if c == " " else c] = i + _N_SPECIAL
        if EOS not in unigram_words:
            raise ModelError(f"{self.path}: no </s> unigram")
        keys, lps, bws = [], [], []
        for n, (words, lp, bw) in enumerate(sections, 1):
            k = np.zeros(len(lp), np.int64)
            for col in words:
                try:
                    ids = np.fromiter(map(tid.__getitem__, col), np.int64, len(col))
                except KeyError as e:
                    raise ModelError(f"{self.path}: a {n}-gram uses {e.args[0]!r}, which is not a unigram") from None
                k = k * base + ids
            o = np.argsort(k, kind="stable")
            k = k[o]
            if len(k) > 1 and np.any(k[1:] == k[:-1]):
                dup = int(k[1:][k[1:] == k[:-1]][0])
                raise ModelError(f"{self.path}: a {n}-gram occurs twice in the \\{n}-grams: section (key {dup})")
            keys.append(k)
            lps.append(lp[o])
            bws.append(bw[o])
        if not np.any(keys[0] == _UNK_ID):
            # a foreign model without <unk>: unknown characters get the smallest unigram probability
            lowest = float(np.min(lps[0][keys[0] != _BOS_ID]))
            log.warning("%s has no <unk>; unknown characters get log10 p = %.3f", self.path, lowest)
            keys[0] = np.concatenate([keys[0], [_UNK_ID]])
            lps[0] = np.concatenate([lps[0], [lowest]])
            bws[0] = np.concatenate([bws[0], [0.0]])
            o = np.argsort(keys[0])
            keys[0], lps[0], bws[0] = keys[0][o], lps[0][o], bws[0][o]
        meta = dict(meta)
        if meta.get("vocab") is not None and sorted(meta["vocab"]) != list(vocab):
            raise ModelError(f"{self.path}: the metadata vocabulary does not match the unigrams")
        meta["vocab"] = list(vocab)
        meta["order"] = order
        meta["space_token"] = space
        meta.setdefault("method", "unknown")
        meta["source"] = str(self.path)
        return CharNgramLM(vocab, order, keys, lps, bws, meta)


try:  # zlib errors from truncated gzip streams
    from zlib import error as zlib_error
except ImportError:  # pragma: no cover
    zlib_error = OSError
