"""Train the character LSTM LM that rescores the beam search's n best readings
(hwr/models_data/lm_en_lstm.safetensors, card lm_en_lstm.md), and print its perplexity
beside the shipped 6-gram's on the same validation lines.

The training text is the n-gram LM's (``build_lm.py``, which prepares it as one text file per
source in its work folder: ``python benchmarks/build_lm.py --table`` or ``--final`` with the
sources' paths); WordNet's glosses, half the text and the least like a letter, are sampled
down (``--wordnet-share``).  The validation lines (IAM-OnDB ``testset_t`` and the unlisted
forms) only choose the checkpoint kept.  Training runs for ``--minutes`` (Adam, the learning
rate constant for the first ``--decay-from`` of the time, then falling linearly to 0) and
keeps the best validation perplexity; a killed run starts again from its last checkpoint (``OUT.run.pt``,
the weights and the optimizer's state, written by torch and read back only with
``weights_only=True``).

    python benchmarks/build_nlm.py --corpus /tmp/hwr-lm-build --minutes 45 --threads 2 --out M.safetensors
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import torch  # noqa: E402

from hwr.decoding.lm import CharNgramLM  # noqa: E402
from hwr.decoding.neural_lm import CharLSTM, NeuralLM, line_log_probs  # noqa: E402

# build_lm.py's SOURCE.txt files, in training order, and what each is (for the model's description)
SOURCES = {"indomain": "IAM-OnDB trainset transcriptions", "fortunes": "Debian fortunes",
           "austen": "Jane Austen's novels", "mobydick": "Moby-Dick", "wordnet": "WordNet 3.0 glosses",
           "oanc": "an OANC sample"}


def corpus_lines(folder: Path, wordnet_share: float, seed: int) -> tuple[list[str], list[str]]:
    """The training lines, and what they are (one entry per source found)."""
    rng = random.Random(seed)
    lines, found = [], []
    for name in SOURCES:
        p = folder / f"{name}.txt"
        if not p.exists():
            print(f"  {name}: missing ({p})", file=sys.stderr)
            continue
        got = [x for x in p.read_text(encoding="utf-8").splitlines() if x]
        what = SOURCES[name]
        if name == "wordnet":
            got = [x for x in got if rng.random() < wordnet_share]
            what += f" ({wordnet_share:.0%})"
        found.append(what)
        print(f"  {name}: {len(got)} lines, {sum(map(len, got)) / 1e6:.2f} M characters", file=sys.stderr)
        lines += got
    return lines, found


def validation_lines(paths) -> list[str]:
    """The transcriptions of ink datasets (``.h5``), or the lines of text files."""
    from hwr.data.inkset import InkSet

    out = []
    for p in paths:
        texts = InkSet(p).texts if Path(p).suffix == ".h5" else Path(p).read_text(encoding="utf-8").splitlines()
        out += [t for t in texts if t]
    return out


def batches(lines: list[str], batch: int, rng: random.Random):
    """Batches of lines of about one length (less padding), in random order."""
    order = sorted(range(len(lines)), key=lambda i: (len(lines[i]), rng.random()))
    chunks = [order[k:k + batch] for k in range(0, len(order), batch)]
    rng.shuffle(chunks)
    for c in chunks:
        yield [lines[i] for i in c]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--corpus", type=Path, required=True, help="build_lm.py's work folder (SOURCE.txt files)")
    ap.add_argument("--val", type=Path, nargs="+", help="ink datasets (.h5) or text files whose lines validate "
                    "(default: the IAM-OnDB testset_t and unlisted datasets in the benchmark cache)")
    ap.add_argument("--ngram", type=Path, default=REPO / "hwr" / "models_data" / "lm_en.arpa.gz",
                    help="the n-gram LM to compare with")
    ap.add_argument("--wordnet-share", type=float, default=0.33)
    ap.add_argument("--hidden", type=int, default=512)
    ap.add_argument("--layers", type=int, default=1)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--minutes", type=float, default=45)
    ap.add_argument("--decay-from", type=float, default=0.5,
                    help="share of --minutes after which the learning rate falls linearly to 0 at the end")
    ap.add_argument("--eval-every", type=int, default=500, help="steps")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args()
    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    rng = random.Random(args.seed)
    lines, sources = corpus_lines(args.corpus, args.wordnet_share, args.seed)
    if not lines:
        sys.exit(f"{args.corpus}: no training text (prepare it with build_lm.py)")
    from _data import CACHE

    val = validation_lines(args.val or [CACHE / "h5" / "iam-val.h5", CACHE / "h5" / "iam-unlisted.h5"])
    ngram_ppl = CharNgramLM.load(args.ngram).perplexity(val)
    print(f"  validation: {len(val)} lines; {args.ngram.name} perplexity {ngram_ppl:.3f}", file=sys.stderr)

    net = CharLSTM(hidden=args.hidden, layers=args.layers)
    opt = torch.optim.Adam(net.parameters(), lr=args.lr)
    run = args.out.with_name(args.out.name + ".run.pt")
    step, best, spent = 0, float("inf"), 0.0
    if run.exists():
        state = torch.load(run, weights_only=True)
        net.load_state_dict(state["net"])
        opt.load_state_dict(state["opt"])
        step, best, spent = int(state["step"]), float(state["best"]), float(state["spent"])
        rng = random.Random(args.seed + step)
        print(f"  resumed at step {step} ({spent / 60:.1f} min, best perplexity {best:.3f})", file=sys.stderr)
    lm = NeuralLM(net)
    n_chars = sum(map(len, lines))
    t0 = time.perf_counter() - spent
    print("| step | epochs | minutes | train loss | val perplexity |")
    print("| --- | --- | --- | --- | --- |")
    done = False
    while not done:
        for texts in batches(lines, args.batch, rng):
            net.train()
            lp = line_log_probs(net, texts)
            loss = -lp.sum() / (sum(map(len, texts)) + len(texts))
            frac = (time.perf_counter() - t0) / (args.minutes * 60)
            for g in opt.param_groups:
                g["lr"] = args.lr * min(1.0, max(0.0, (1 - frac) / max(1e-9, 1 - args.decay_from)))
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
            opt.step()
            step += 1
            spent = time.perf_counter() - t0
            done = spent > args.minutes * 60
            if step % args.eval_every == 0 or done:
                net.eval()
                ppl = lm.perplexity(val)
                epochs = step * args.batch / len(lines)
                print(f"| {step} | {epochs:.2f} | {spent / 60:.1f} | {loss.item():.3f} | {ppl:.3f} |", flush=True)
                if ppl < best:
                    best = ppl
                    lm.save(args.out, perplexity=round(ppl, 3), steps=step, training_chars=n_chars,
                            description=" + ".join(sources))
                tmp = run.with_name(run.name + ".tmp")
                torch.save({"net": net.state_dict(), "opt": opt.state_dict(), "step": step, "best": best,
                            "spent": spent}, tmp)
                tmp.replace(run)
            if done:
                break
    print(f"best validation perplexity {best:.3f} (n-gram {ngram_ppl:.3f}); wrote {args.out}")


if __name__ == "__main__":
    main()
