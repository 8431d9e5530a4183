"""Speed of the MDLSTM line recogniser (untrained weights; speed does not depend on them):
parameters, milliseconds per line at batch 1 (inference), training lines/s (CTC loss,
backward, AdamW step) at batch 16 on lines 800-1200 px wide.

    python benchmarks/mdlstm_speed.py [--device cpu|cuda] [--threads 1] [--repeat 5]
                                      [--train-batch 16] [--configs default,small] [--check]

--check first compares the layer on --device (float32) with the CPU in float64 (outputs and
gradients on a padded batch): run it once on a GPU before trusting figures from there.

CPU figures use one torch thread unless --threads says otherwise.  ``CONFIGS`` below are
the configurations compared; ``configs(height)`` is importable for other comparison scripts.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
import torch.nn.functional as F

from hwr.models.mdlstm import LineMDLSTM, LineMDLSTMConfig

CONFIGS = {
    # Graves-style: 4x4 input blocks, three MDLSTM layers, two tanh layers halving the height
    "default": dict(input_block=(4, 4), hidden=(8, 24, 48), ff_channels=(32, 64), ff_blocks=((2, 1), (2, 1))),
    # narrower and shallower: cheaper per pixel
    "small": dict(input_block=(4, 4), hidden=(4, 16, 32), ff_channels=(16, 48), ff_blocks=((2, 1), (2, 1))),
    # width halved once more between the first two layers: T = W / 8, fewer diagonals in layers 2-3
    "fast": dict(input_block=(4, 4), hidden=(8, 24, 48), ff_channels=(32, 64), ff_blocks=((2, 2), (2, 1))),
    # wider (a GPU-sized variant)
    "wide": dict(input_block=(4, 4), hidden=(16, 48, 96), ff_channels=(64, 128), ff_blocks=((2, 1), (2, 1))),
}


def configs(height: int, num_classes: int = 80, names=None) -> dict[str, LineMDLSTMConfig]:
    return {k: LineMDLSTMConfig(num_classes=num_classes, height=height, **v)
            for k, v in CONFIGS.items() if names is None or k in names}


def _sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def ms_per_line(net, height: int, width: int, device: str, repeat: int) -> float:
    net.eval()
    x = torch.rand(1, 1, height, width, device=device)
    lengths = torch.tensor([width])
    ts = []
    with torch.inference_mode():
        for r in range(repeat + 1):
            _sync(device)
            t0 = time.perf_counter()
            net(x, lengths)
            _sync(device)
            if r:  # the first call builds the index tables
                ts.append(time.perf_counter() - t0)
    return statistics.median(ts) * 1000


def train_lines_per_s(net, height: int, batch: int, device: str, steps: int, amp: bool) -> float:
    g = torch.Generator().manual_seed(0)
    net.train()
    opt = torch.optim.AdamW(net.parameters(), lr=1e-4)
    ncls = net.cfg.num_classes
    secs = []
    for s in range(steps + 1):
        widths = torch.randint(800, 1201, (batch,), generator=g)
        x = torch.rand(batch, 1, height, int(widths.max()), generator=g).to(device)
        tlen = (widths // 20).clamp(max=60)  # ~50 characters per 1000 px
        targets = torch.randint(1, ncls, (int(tlen.sum()),), generator=g)
        _sync(device)
        t0 = time.perf_counter()
        with torch.autocast(device_type="cuda", dtype=torch.bfloat16, enabled=amp):
            lp, out_len = net(x, widths)
        loss = F.ctc_loss(lp.float(), targets, out_len, tlen, blank=0, reduction="sum", zero_infinity=True) / batch
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        _sync(device)
        if s:
            secs.append(time.perf_counter() - t0)
    return batch / statistics.median(secs)


def check(device: str) -> None:
    """The 2-D LSTM layer on ``device`` in float32 against the CPU in float64: forward and gradients."""
    from hwr.models.mdlstm import MDLSTM2d

    torch.manual_seed(0)
    ref = MDLSTM2d(5, 6).double()
    x = torch.randn(3, 5, 7, 40, dtype=torch.float64, requires_grad=True)
    widths = torch.tensor([40, 25, 9])
    y = ref(x, widths)
    (y * y).sum().backward()
    grads = [x.grad] + [p.grad for p in ref.parameters()]
    lay = MDLSTM2d(5, 6).to(device)
    lay.load_state_dict({k: v.float() for k, v in ref.state_dict().items()})
    xd = x.detach().float().to(device).requires_grad_(True)
    yd = lay(xd, widths)
    (yd * yd).sum().backward()
    fwd = float((yd.detach().double().cpu() - y.detach()).abs().max())
    rel = max(float((a.double().cpu() - b).abs().max() / b.abs().max())
              for a, b in zip([xd.grad] + [p.grad for p in lay.parameters()], grads))
    ok = fwd < 1e-4 and rel < 1e-4
    print(f"check on {device}: max |output error| {fwd:.2e}, max relative gradient error {rel:.2e}: "
          f"{'ok' if ok else 'FAILED'}")
    if not ok:
        raise SystemExit(1)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--train-batch", type=int, default=16)
    ap.add_argument("--train-steps", type=int, default=3)
    ap.add_argument("--heights", default="64,48")
    ap.add_argument("--configs", default="default,small")
    ap.add_argument("--no-train", action="store_true")
    ap.add_argument("--check", action="store_true")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    if args.check:
        check(args.device)
    amp = args.device.startswith("cuda")
    names = args.configs.split(",")
    print(f"device {args.device}, {torch.get_num_threads()} thread(s); inference: batch 1, width 1000; "
          f"training: batch {args.train_batch}, widths 800-1200{' (bf16 autocast)' if amp else ''}")
    print(f"{'config':<10} {'height':>6} {'params':>9} {'ms/line':>9} {'train lines/s':>14}")
    for height in (int(h) for h in args.heights.split(",")):
        for name, cfg in configs(height, names=names).items():
            torch.manual_seed(0)
            net = LineMDLSTM(cfg).to(args.device)
            params = sum(p.numel() for p in net.parameters())
            ms = ms_per_line(net, height, 1000, args.device, args.repeat)
            lps = float("nan") if args.no_train else train_lines_per_s(
                net, height, args.train_batch, args.device, args.train_steps, amp)
            print(f"{name:<10} {height:>6} {params:>9,} {ms:>9.1f} {lps:>14.1f}", flush=True)


if __name__ == "__main__":
    main()
