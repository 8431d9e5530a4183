"""Multidimensional (2-D) LSTM + CTC recogniser for line images (Graves & Schmidhuber 2009).

The 2-D LSTM layer
------------------
A 2-D LSTM cell at pixel (i, j) sees its input x[i, j] and the states of two
predecessors: the cell above, (i-1, j), and the cell to the left, (i, j-1).
Four such scans, one from each corner, give every output pixel context from the
whole image.  The cell used here (per direction, ``n`` units)::

    i, f, lam, o = sigmoid(.)   g = tanh(.)          # from  W x[i,j] + U_up h[i-1,j] + U_left h[i,j-1] + b
    c[i,j] = i*g + f * (lam * c[i-1,j] + (1 - lam) * c[i,j-1])
    h[i,j] = o * tanh(c[i,j])

i.e. Graves' cell with one forget gate per dimension, f_up = f*lam and
f_left = f*(1-lam).  The two are tied so that f_up + f_left <= 1: with Graves'
independent gates (f_up + f_left up to 2) the state can double from one
anti-diagonal to the next and grow exponentially over a line, which is the
instability Leifert et al. (2016, "Cells in multidimensional recurrent neural
networks") analyse.  With the convex split, |c| grows at most by |i*g| <= 1 per
diagonal, as in a 1-D LSTM, and the cell-state path passes a gradient back with a
total weight of at most 1 per diagonal, so it cannot amplify it either.  (We do not use their LeakyLP cell itself; this is the
smallest change to Graves' cell that keeps the state bounded, with the same
number of gates: 5 per unit.)

Wave-front computation
----------------------
A pixel depends only on pixels with a smaller i + j, so all pixels of one
anti-diagonal d = i + j can be computed at once from diagonal d - 1: H + W - 1
steps instead of H * W.  The layer does, for input (B, C, H, W)::

    1. project all pixels at once          (B, H, W, C) @ (C, 4*5n)  -> gates from the input
    2. orient: direction k scans from one corner; flipping along H and/or W
       turns it into a top-left scan.  W is flipped *per sample within its
       width* so a padded sample keeps its padding on the right.  The four
       flips are stacked like a batch of 4B.
    3. skew: one gather (index tables cached per (H, W)) lays the input gates
       out by diagonal:   xd[d, k, b, i] = x[k, b, i, d - i]    (D, 4, B, H, 5n),
       D = H + W - 1; steps 2 and 3 are the same gather.  Cells of a diagonal
       that lie off the image (d - i < 0 or >= W) read any pixel and are masked.
    4. scan d = 0 .. D-1 with states h, c: (4, B, H+1, n), row i+1 holding the
       cell of row i of the current diagonal and row 0 an always-zero "row -1":
           up   predecessor of row i = row i-1 of diagonal d-1 -> h[:, :, :-1]
           left predecessor of row i = row i   of diagonal d-1 -> h[:, :, 1:]
           rec  = bmm(h, U)                      (4, B*(H+1), n) @ (4, n, 10n)
           gates = xd[d] + rec[:, :, :-1, :5n] + rec[:, :, 1:, 5n:]   (4, B, H, 5n)
       the gates are completed and activated in place in xd, which is kept for
       the backward pass; c and h are written into preallocated (D+1)-diagonal
       buffers; cells off the image are zeroed with a (D, H) mask, so they pass
       nothing on.  The loop is one autograd Function with a hand-written
       backward pass that walks the diagonals back (checked with gradcheck).
    5. unskew + un-orient: one gather from the diagonal buffer back to
       (B, 4n, H, W) (directions concatenated on channels: 4n outputs).

Padding: with the per-sample flip a padded cell (column >= width) is only ever
a predecessor of other padded cells (its right and lower neighbours), so padding
cannot influence valid cells in any direction; the outputs at padded columns
are set to zero.  A reference implementation that loops over pixels,
:func:`mdlstm2d_reference`, is kept for the tests.

The network
-----------
:class:`LineMDLSTM` follows Graves' offline system in spirit: input blocks
(pixel patches as features) -> MDLSTM -> feed-forward tanh layer over blocks
(subsampling) -> MDLSTM -> ... -> sum over the remaining rows -> linear ->
log-softmax, with wider layers as in later MDLSTM recognisers.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import nn

NGATES = 5  # i, f, lam, o (sigmoid) and g (tanh)


def _ceil_div(a: torch.Tensor, b: int) -> torch.Tensor:
    return torch.div(a + (b - 1), b, rounding_mode="floor")


def _width_mask(widths: torch.Tensor, w: int, device) -> torch.Tensor:
    """(B, w) bool: column < width of each sample."""
    return torch.arange(w, device=device)[None, :] < widths.to(device)[:, None]


class MDLSTM2d(nn.Module):
    """2-D LSTM scanning in four directions: (B, C_in, H, W) -> (B, 4*hidden, H, W).

    Output channels ``[k*hidden:(k+1)*hidden]`` come from the scan that starts at
    corner k: 0 top-left, 1 top-right, 2 bottom-left, 3 bottom-right.
    """

    def __init__(self, in_channels: int, hidden: int):
        super().__init__()
        if in_channels < 1 or hidden < 1:
            raise ValueError("in_channels and hidden must be positive")
        self.in_channels, self.hidden = in_channels, hidden
        n = hidden
        # input projection of the four directions at once; gate order i, f, lam, o, g
        self.w_in = nn.Parameter(torch.empty(4 * NGATES * n, in_channels))
        self.bias = nn.Parameter(torch.zeros(4, NGATES * n))
        # recurrent weights: [:, :, :5n] from the upper, [:, :, 5n:] from the left predecessor
        self.w_rec = nn.Parameter(torch.empty(4, n, 2 * NGATES * n))
        self.reset_parameters()
        self._index_cache: dict = {}

    def reset_parameters(self) -> None:
        n = self.hidden
        bound = (6.0 / (self.in_channels + n)) ** 0.5
        nn.init.uniform_(self.w_in, -bound, bound)
        nn.init.uniform_(self.w_rec, -1.0 / n ** 0.5, 1.0 / n ** 0.5)
        with torch.no_grad():
            self.bias.zero_()
            self.bias[:, n:2 * n] = 1.0  # forget gate open at the start

    # ------------------------------------------------------------------ index tables
    def _skew_index(self, h: int, w: int, device) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Cached tables for an (h, w) grid, D = h + w - 1 diagonals.

        rows, cols: (D, h) source pixel of row i on diagonal d (col clamped);
        valid: (D, h) whether (i, d - i) lies on the grid."""
        key = (h, w, str(device))
        hit = self._index_cache.get(key)
        if hit is None:
            with torch.inference_mode(False):  # tables made under inference mode could not be saved for backward later
                d = torch.arange(h + w - 1, device=device)[:, None]
                i = torch.arange(h, device=device)[None, :]
                j = d - i
                valid = (j >= 0) & (j < w)
                hit = (i.expand_as(j), j.clamp(0, w - 1), valid)
            if len(self._index_cache) > 64:
                self._index_cache.clear()
            self._index_cache[key] = hit
        return hit

    def _orient_index(self, b: int, h: int, w: int, widths: torch.Tensor, device) -> tuple[torch.Tensor, torch.Tensor]:
        """For direction k, sample s, scan position (i, j): the image row (4, 1, h) and column (4, b, w).

        Direction k flips H if k >= 2 and W (within each sample's width) if k is odd; each map is its own inverse."""
        i = torch.arange(h, device=device)
        rows = torch.stack([i, i, h - 1 - i, h - 1 - i])[:, None, :]  # (4, 1, h)
        j = torch.arange(w, device=device)[None, :].expand(b, w)
        wd = widths.to(device)[:, None]
        jf = torch.where(j < wd, wd - 1 - j, j)  # flip inside the width, padding stays on the right
        cols = torch.stack([j, jf, j, jf])  # (4, b, w)
        return rows, cols

    # ------------------------------------------------------------------ forward
    def forward(self, x: torch.Tensor, widths: torch.Tensor | None = None) -> torch.Tensor:
        B, C, H, W = x.shape
        if C != self.in_channels:
            raise ValueError(f"expected {self.in_channels} input channels, got {C}")
        n, G = self.hidden, NGATES * self.hidden
        dev = x.device
        if widths is None:
            widths = torch.full((B,), W, dtype=torch.long)
        widths = widths.to(device=dev, dtype=torch.long).clamp(1, W)
        D = H + W - 1

        # 1. input projection of every pixel, four directions, bias included: (B, H, W, 4, G)
        xp = F.linear(x.permute(0, 2, 3, 1), self.w_in, self.bias.view(-1)).view(-1, G)  # (B*H*W*4, G)

        # 2-3. orient + skew in one gather: xd[d, k, b, i] = xp[b, row_k(i), col_kb(d - i), k]
        rows, cols = self._orient_index(B, H, W, widths, dev)
        di, dj, valid = self._skew_index(H, W, dev)  # (D, H)
        k_ = torch.arange(4, device=dev)[:, None, None, None]
        b_ = torch.arange(B, device=dev)[None, :, None, None]
        flat = ((b_ * H + rows[:, :, di]) * W + cols[:, :, dj]) * 4 + k_  # (4, B, D, H)
        flat = flat.permute(2, 0, 1, 3).reshape(-1)  # (D*4*B*H,) rows of xp; off-grid cells: any, masked later

        # 4. the scan along anti-diagonals (the gather above happens inside, into the buffer the gates
        #    are computed in): states of diagonal d in hbuf[d + 1], row 0 the zero "row -1"
        hbuf = _Scan.apply(xp, flat, self.w_rec, valid, B, H)  # (D + 1, 4, B, H + 1, n)

        # 5. unskew + un-orient: out[b, r, col, k] = state of scan cell (i, j) = (rows_k[r], cols_kb[col]),
        #    which lies on diagonal i + j, row i  (both maps are their own inverse)
        ii = rows.expand(4, B, H)[:, :, :, None]  # (4, B, H, 1)
        jj = cols[:, :, None, :]  # (4, B, 1, W)
        back = (((ii + jj + 1) * 4 + k_) * B + b_) * (H + 1) + ii + 1  # (4, B, H, W) into hbuf
        out = hbuf.view(-1, n).index_select(0, back.permute(1, 2, 3, 0).reshape(-1))  # (B*H*W*4, n)
        out = out.view(B, H, W, 4 * n).permute(0, 3, 1, 2)  # (B, 4n, H, W), channels-last in memory
        if bool((widths < W).any()):
            out = out * _width_mask(widths, W, dev)[:, None, None, :].to(out.dtype)
        return out


def mdlstm2d_reference(layer: MDLSTM2d, x: torch.Tensor, widths: torch.Tensor | None = None) -> torch.Tensor:
    """Pixel-by-pixel reference of :class:`MDLSTM2d` (slow; for tests only).

    Each sample is cut to its width, each direction flipped explicitly and scanned
    with a double loop over (row, column)."""
    B, C, H, W = x.shape
    n, G = layer.hidden, NGATES * layer.hidden
    out = x.new_zeros(B, 4 * n, H, W)
    for b in range(B):
        w = W if widths is None else int(widths[b])
        img = x[b, :, :, :w]
        for k in range(4):
            v = img
            if k >= 2:
                v = v.flip(1)
            if k % 2 == 1:
                v = v.flip(2)
            w_in = layer.w_in[k * G:(k + 1) * G]
            u_up, u_left = layer.w_rec[k, :, :G], layer.w_rec[k, :, G:]
            hs = [[None] * w for _ in range(H)]
            cs = [[None] * w for _ in range(H)]
            zero = x.new_zeros(n)
            for i in range(H):
                for j in range(w):
                    h_up = hs[i - 1][j] if i > 0 else zero
                    c_up = cs[i - 1][j] if i > 0 else zero
                    h_left = hs[i][j - 1] if j > 0 else zero
                    c_left = cs[i][j - 1] if j > 0 else zero
                    a = w_in @ v[:, i, j] + layer.bias[k] + h_up @ u_up + h_left @ u_left
                    ig, fg, lam, og = (torch.sigmoid(a[q * n:(q + 1) * n]) for q in range(4))
                    g = torch.tanh(a[4 * n:])
                    cs[i][j] = ig * g + fg * (lam * c_up + (1 - lam) * c_left)
                    hs[i][j] = og * torch.tanh(cs[i][j])
            res = torch.stack([torch.stack(r, -1) for r in hs], -2)  # (n, H, w)
            if k % 2 == 1:
                res = res.flip(2)
            if k >= 2:
                res = res.flip(1)
            out[b, k * n:(k + 1) * n, :, :w] = res
    return out


def _scan_forward(xd: torch.Tensor, w_rec: torch.Tensor, valid: torch.Tensor):
    """The wave-front recurrence without autograd.

    xd: (D, 4, B, H, G) input gates by diagonal, overwritten with the gate activations;
    w_rec: (4, n, 2G); valid: (D, H) bool.  Returns hbuf, cbuf: (D + 1, 4, B, H + 1, n), the states
    of diagonal d in [d + 1], rows shifted down by one under an all-zero row 0."""
    D, K, B, H, G = xd.shape
    n = G // NGATES
    hbuf = xd.new_empty(D + 1, K, B, H + 1, n)  # every cell but the zero rows below is written by the scan
    cbuf = xd.new_empty(D + 1, K, B, H + 1, n)
    for buf in (hbuf, cbuf):
        buf[0].zero_()
        buf[:, :, :, 0].zero_()
    act = xd
    rec = xd.new_empty(K, B, H + 1, 2 * G)
    tmp = xd.new_empty(K, B, H, n)
    mask = valid.to(xd.dtype)[:, None, None, :, None]  # (D, 1, 1, H, 1)
    # every view the loop needs, made once (per-step slicing costs as much as the arithmetic at batch 1)
    h_in = hbuf.view(D + 1, K, B * (H + 1), n).unbind(0)  # predecessors, for the bmm
    h_out = hbuf[:, :, :, 1:].unbind(0)
    c_up, c_left = cbuf[:, :, :, :-1].unbind(0), cbuf[:, :, :, 1:].unbind(0)  # c_left[d + 1]: the new c
    xs, ms = xd.unbind(0), mask.unbind(0)
    rec_flat, rec_up, rec_left = rec.view(K, B * (H + 1), 2 * G), rec[:, :, :-1, :G], rec[:, :, 1:, G:]
    a_all, a_sig, a_tanh = act.unbind(0), act[..., :4 * n].unbind(0), act[..., 4 * n:].unbind(0)
    ig, fg, lam, og = (act[..., q * n:(q + 1) * n].unbind(0) for q in range(4))
    for d in range(D):
        torch.bmm(h_in[d], w_rec, out=rec_flat)
        a = a_all[d]  # = xs[d]: the input gates, now completed in place
        a += rec_up
        a += rec_left
        a_sig[d].sigmoid_()
        a_tanh[d].tanh_()
        torch.sub(c_up[d], c_left[d], out=tmp)  # c = (i*g + f*(c_left + lam*(c_up - c_left))) * valid
        tmp.mul_(lam[d]).add_(c_left[d]).mul_(fg[d])
        c = c_left[d + 1]
        torch.addcmul(tmp, ig[d], a_tanh[d], out=c)
        c.mul_(ms[d])
        h = h_out[d + 1]
        torch.tanh(c, out=h)
        h.mul_(og[d])
    return hbuf, cbuf


class _Scan(torch.autograd.Function):
    """The scan with a hand-written backward pass (back along the diagonals, d = D-1 .. 0):
    one autograd node instead of ~20 per diagonal, no per-step allocations."""

    @staticmethod
    @torch.amp.custom_fwd(device_type="cuda", cast_inputs=torch.float32)
    def forward(ctx, xp, flat, w_rec, valid, B, H):
        # xp: (N, G) input gates of all pixels; flat: (D*4*B*H,) the row of xp for each (d, k, b, i)
        G = xp.shape[1]
        D = valid.shape[0]
        xd = xp.index_select(0, flat).view(D, 4, B, H, G)
        hbuf, cbuf = _scan_forward(xd, w_rec.contiguous(), valid)  # xd now holds the gate activations
        if ctx.needs_input_grad[0] or ctx.needs_input_grad[2]:
            ctx.save_for_backward(hbuf, cbuf, xd, w_rec, valid, flat)
            ctx.n_rows = xp.shape[0]
        return hbuf

    @staticmethod
    @torch.amp.custom_bwd(device_type="cuda")
    def backward(ctx, dhbuf):
        hbuf, cbuf, act, w_rec, valid, flat = ctx.saved_tensors
        D, K, B, H, G = act.shape
        n = G // NGATES
        mask = valid.to(act.dtype)[:, None, None, :, None]
        dhbuf = dhbuf.contiguous()
        dgates = torch.empty_like(act)  # = the gradient of the gathered input gates
        w_t = w_rec.transpose(1, 2).contiguous()  # (4, 2G, n)
        # gradient of the bmm's output rec: rows 0..H-1 of the up half, rows 1..H of the left half
        d_rec = act.new_zeros(K, B, H + 1, 2 * G)
        d_rec_flat, d_rec_up, d_rec_left = d_rec.view(K, B * (H + 1), 2 * G), d_rec[:, :, :-1, :G], d_rec[:, :, 1:, G:]
        dh_prev = act.new_zeros(K, B, H + 1, n)  # gradient of the bmm's input: diagonal d-1's h, under row 0
        h_in = hbuf.view(D + 1, K, B * (H + 1), n).unbind(0)
        dw = torch.zeros_like(w_rec)
        dc_carry = act.new_zeros(K, B, H, n)
        dcu = act.new_empty(K, B, H, n)
        # views made once, as in the forward pass
        ig, fg, lam, og, g = (act[..., q * n:(q + 1) * n].unbind(0) for q in range(NGATES))
        sig = act[..., :4 * n].unbind(0)
        c_new, c_up = cbuf[:, :, :, 1:].unbind(0), cbuf[:, :, :, :-1].unbind(0)  # c_new[d]: also c_left of d+1
        dh_out, ms = dhbuf[:, :, :, 1:].unbind(0), mask.unbind(0)
        d_i, d_f, d_lam, d_o, d_g = (dgates[..., q * n:(q + 1) * n].unbind(0) for q in range(NGATES))
        d_sig = dgates[..., :4 * n].unbind(0)
        dh_prev_flat, dh_carry = dh_prev.view(K, B * (H + 1), n), dh_prev[:, :, 1:]  # carry: from diagonal d+1
        dc_top, dcu_below = dc_carry[:, :, :-1], dcu[:, :, 1:]
        for d in range(D - 1, -1, -1):
            c, cl = c_new[d + 1], c_new[d]
            dh = dh_out[d + 1] + dh_carry
            tc = torch.tanh(c)
            torch.mul(dh, tc, out=d_o[d])
            dc = dh.mul_(og[d]).mul_(1 - tc * tc).add_(dc_carry).mul_(ms[d])  # gradient of c
            diff = c_up[d] - cl
            torch.mul(dc, g[d], out=d_i[d])
            torch.mul(dc, ig[d], out=d_g[d])
            torch.mul(diff, lam[d], out=d_f[d])
            d_f[d].add_(cl).mul_(dc)
            dcf = dc.mul_(fg[d])
            torch.mul(dcf, diff, out=d_lam[d])
            d_sig[d].mul_(sig[d] * (1 - sig[d]))
            d_g[d].mul_(1 - g[d] * g[d])
            # carries to diagonal d-1: c_left of row i is its row i, c_up of row i is its row i-1
            torch.mul(dcf, lam[d], out=dcu)
            torch.sub(dcf, dcu, out=dc_carry)  # dc_left = dc*f*(1-lam)
            dc_top += dcu_below
            d_rec_up.copy_(dgates[d])
            d_rec_left.copy_(dgates[d])
            dw.baddbmm_(h_in[d].transpose(1, 2), d_rec_flat)  # dW += h_prev^T d_rec
            torch.bmm(d_rec_flat, w_t, out=dh_prev_flat)
        dxp = None
        if ctx.needs_input_grad[0]:
            dxp = dgates.new_zeros(ctx.n_rows, G).index_add_(0, flat, dgates.view(-1, G))
        return dxp, None, (dw if ctx.needs_input_grad[2] else None), None, None, None


# ---------------------------------------------------------------------- the network
def _pair(v) -> tuple[int, int]:
    if isinstance(v, int):
        return (v, v)
    t = tuple(int(a) for a in v)
    if len(t) != 2:
        raise ValueError(f"a block is (height, width), got {v!r}")
    return t  # type: ignore[return-value]


@dataclass
class LineMDLSTMConfig:
    """Graves-style MDLSTM line recogniser.

    ``hidden[k]`` units per direction in MDLSTM layer k (its output has 4*hidden[k]
    channels); between layers k and k+1 a tanh feed-forward layer with
    ``ff_channels[k]`` outputs reads non-overlapping ``ff_blocks[k]`` blocks.
    Total subsampling: height by input_block[0]*prod(ff_blocks[:, 0]) (must divide
    ``height``; the rows left are summed), width by input_block[1]*prod(ff_blocks[:, 1]).
    """

    num_classes: int = 80
    height: int = 64
    input_block: tuple = (4, 4)
    hidden: tuple = (8, 24, 48)
    ff_channels: tuple = (32, 64)
    ff_blocks: tuple = ((2, 1), (2, 1))
    dropout: float = 0.25
    collapse: str = "sum"  # "sum" (Graves) or "max" over the remaining rows

    def __post_init__(self) -> None:
        self.input_block = _pair(self.input_block)
        self.hidden = tuple(int(h) for h in self.hidden)
        self.ff_channels = tuple(int(c) for c in self.ff_channels)
        self.ff_blocks = tuple(_pair(b) for b in self.ff_blocks)
        if self.num_classes < 2:
            raise ValueError("num_classes must be at least 2 (blank + one character)")
        if not self.hidden or any(h < 1 for h in self.hidden):
            raise ValueError("hidden must list at least one positive layer size")
        if len(self.ff_channels) != len(self.hidden) - 1 or len(self.ff_blocks) != len(self.hidden) - 1:
            raise ValueError("ff_channels and ff_blocks need one entry per pair of MDLSTM layers "
                             f"({len(self.hidden) - 1})")
        if any(c < 1 for c in self.ff_channels):
            raise ValueError("ff_channels must be positive")
        if any(a < 1 for blk in (self.input_block, *self.ff_blocks) for a in blk):
            raise ValueError("block sizes must be positive")
        if self.height < 1 or self.height % self.height_factor:
            raise ValueError(f"height {self.height} must be a positive multiple of the vertical "
                             f"subsampling {self.height_factor}")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError("dropout must be in [0, 1)")
        if self.collapse not in ("sum", "max"):
            raise ValueError("collapse must be 'sum' or 'max'")

    @property
    def height_factor(self) -> int:
        f = self.input_block[0]
        for b in self.ff_blocks:
            f *= b[0]
        return f

    @property
    def width_factor(self) -> int:
        f = self.input_block[1]
        for b in self.ff_blocks:
            f *= b[1]
        return f

    def to_dict(self) -> dict:
        d = asdict(self)
        d["input_block"] = list(self.input_block)
        d["hidden"] = list(self.hidden)
        d["ff_channels"] = list(self.ff_channels)
        d["ff_blocks"] = [list(b) for b in self.ff_blocks]
        return d


def _blocks(x: torch.Tensor, bh: int, bw: int) -> torch.Tensor:
    """(B, C, H, W) -> (B, C*bh*bw, H/bh, ceil(W/bw)): non-overlapping blocks as channels (right-padded with 0)."""
    B, C, H, W = x.shape
    pad = (-W) % bw
    if pad:
        x = F.pad(x, (0, pad))
    w = (W + pad) // bw
    x = x.reshape(B, C, H // bh, bh, w, bw).permute(0, 1, 3, 5, 2, 4)  # (B, C, bh, bw, H/bh, w)
    return x.reshape(B, C * bh * bw, H // bh, w)


class LineMDLSTM(nn.Module):
    """line images (B, 1, H, W) + widths (B,) -> log-probabilities (T, B, C) for CTC, T = ceil(W / width_factor)."""

    kind = "image"
    arch = "mdlstm"

    def __init__(self, cfg: LineMDLSTMConfig):
        super().__init__()
        self.cfg = cfg
        bh, bw = cfg.input_block
        in_ch = bh * bw
        self.lstms = nn.ModuleList()
        self.ffs = nn.ModuleList()
        for k, n in enumerate(cfg.hidden):
            self.lstms.append(MDLSTM2d(in_ch, n))
            if k < len(cfg.hidden) - 1:
                fh, fw = cfg.ff_blocks[k]
                self.ffs.append(nn.Conv2d(4 * n, cfg.ff_channels[k], kernel_size=(fh, fw), stride=(fh, fw)))
                in_ch = cfg.ff_channels[k]
        self.drop = nn.Dropout(cfg.dropout)
        self.head = nn.Linear(4 * cfg.hidden[-1], cfg.num_classes)

    def output_lengths(self, lengths: torch.Tensor) -> torch.Tensor:
        w = _ceil_div(lengths, self.cfg.input_block[1])
        for _, fw in self.cfg.ff_blocks:
            w = _ceil_div(w, fw)
        return w.clamp(min=1)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        # x: (B, 1, H, W); lengths: (B,) widths in pixels (on CPU)
        B, _, H, W = x.shape
        if H != self.cfg.height:
            raise ValueError(f"this network reads lines of height {self.cfg.height}, got {H}")
        dev = x.device
        widths = lengths.to(torch.long).clamp(1, W)
        x = x * _width_mask(widths, W, dev)[:, None, None, :].to(x.dtype)  # the padding value must not matter
        bh, bw = self.cfg.input_block
        h = _blocks(x, bh, bw)  # (B, bh*bw, H/bh, W1)
        w = _ceil_div(widths, bw)
        for k, lstm in enumerate(self.lstms):
            h = self.drop(lstm(h, w))  # (B, 4n, Hk, Wk), zero beyond w
            if k < len(self.ffs):
                fh, fw = self.cfg.ff_blocks[k]
                pad = (-h.shape[3]) % fw
                h = torch.tanh(self.ffs[k](F.pad(h, (0, pad)) if pad else h))
                w = _ceil_div(w, fw)
                h = h * _width_mask(w, h.shape[3], dev)[:, None, None, :].to(h.dtype)
        h = h.sum(2) if self.cfg.collapse == "sum" else h.amax(2)  # (B, 4n, T)
        out_len = w.clamp(min=1).cpu()
        lp = self.head(h.transpose(1, 2)).log_softmax(-1)  # (B, T, C)
        return lp.transpose(0, 1), out_len  # (T, B, C), (B,)
