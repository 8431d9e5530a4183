"""Model files: safetensors weights + JSON metadata.  Never pickle.

A model is a folder-less pair ``NAME.safetensors`` + ``NAME.json`` (the JSON
also travels inside the safetensors header as ``__metadata__["hwr"]``, so a
single ``.safetensors`` file is a complete model).  Loading parses JSON and
raw tensors only: a model file cannot run code.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hwr.alphabet import Alphabet
from hwr.errors import ModelError

FORMAT = "hwr-model"
FORMAT_VERSION = 1
MAX_MODEL_BYTES = 2 * 1024**3


@dataclass
class ModelInfo:
    """Everything about a model except its weights."""

    arch: str
    kind: str  # "ink" or "image"
    config: dict[str, Any]
    alphabet: list[str]
    preprocessing: dict[str, Any] = field(default_factory=dict)
    training: dict[str, Any] = field(default_factory=dict)
    name: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"format": FORMAT, "format_version": FORMAT_VERSION, "name": self.name, "arch": self.arch,
                "kind": self.kind, "config": self.config, "alphabet": self.alphabet,
                "preprocessing": self.preprocessing, "training": self.training}

    @classmethod
    def from_json(cls, obj: Any, where: str) -> "ModelInfo":
        if not isinstance(obj, dict) or obj.get("format") != FORMAT:
            raise ModelError(f"{where}: not an hwr model (metadata format {obj.get('format') if isinstance(obj, dict) else None!r})")
        version = obj.get("format_version", 0)
        if isinstance(version, bool) or not isinstance(version, (int, float)) or not math.isfinite(version):
            raise ModelError(f"{where}: model format version {version!r} is not a number")
        if version > FORMAT_VERSION:
            raise ModelError(f"{where}: model format {obj.get('format_version')} is newer than this hwr reads ({FORMAT_VERSION})")
        try:
            info = cls(arch=str(obj["arch"]), kind=str(obj["kind"]), config=dict(obj["config"]),
                       alphabet=list(obj["alphabet"]), preprocessing=dict(obj.get("preprocessing", {})),
                       training=dict(obj.get("training", {})), name=str(obj.get("name", "")))
        except (KeyError, TypeError, ValueError) as e:
            raise ModelError(f"{where}: incomplete model metadata ({e})") from e
        try:
            Alphabet(info.alphabet)
        except (TypeError, ValueError) as e:
            raise ModelError(f"{where}: bad alphabet ({e})") from e
        if info.config.get("num_classes") != len(info.alphabet) + 1:
            raise ModelError(f"{where}: alphabet has {len(info.alphabet)} characters but the network has "
                             f"{info.config.get('num_classes')} classes (expected alphabet + blank)")
        return info


def model_path(path: str | os.PathLike) -> Path:
    """``path`` as a model file: ``.safetensors`` added when it has another ending (``hand.v2``
    is ``hand.v2.safetensors``, not ``hand.safetensors``, which may be another model)."""
    path = Path(path)
    return path if path.suffix == ".safetensors" else path.with_name(path.name + ".safetensors")


def save_model(net, info: ModelInfo, path: str | os.PathLike, half: bool = False) -> Path:
    """Write ``net``'s weights and ``info`` to ``path`` (``.safetensors``) and a ``.json`` beside it, atomically.

    ``half`` stores the floating-point weights as float16, half the size (the embedded image
    model is shipped so); :func:`load_model` loads them back into the float32 network."""
    from safetensors.torch import save_file

    path = model_path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    meta = json.dumps(info.to_json(), ensure_ascii=False)
    state = {k: v.detach().cpu().contiguous() for k, v in net.state_dict().items()}
    if half:
        state = {k: v.half() if v.is_floating_point() else v for k, v in state.items()}
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    try:
        save_file(state, str(tmp), metadata={"hwr": meta})
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    side = path.with_suffix(".json")
    tmpj = side.with_name(f".{side.name}.tmp{os.getpid()}")
    tmpj.write_text(json.dumps(info.to_json(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(tmpj, side)
    return path


def read_info(path: str | os.PathLike) -> ModelInfo:
    """Metadata of a model file, without loading weights."""
    from safetensors import safe_open

    path = Path(path)
    _check_file(path)
    try:
        with safe_open(str(path), framework="pt") as f:
            meta = f.metadata() or {}
    except Exception as e:  # safetensors raises its own error types for corrupt headers
        raise ModelError(f"{path}: not a readable safetensors model ({e})") from e
    if "hwr" not in meta:
        raise ModelError(f"{path}: safetensors file without hwr metadata")
    try:
        obj = json.loads(meta["hwr"])
    except (ValueError, RecursionError) as e:  # RecursionError: absurdly nested JSON
        raise ModelError(f"{path}: corrupt hwr metadata ({type(e).__name__}: {str(e)[:200]})") from e
    return ModelInfo.from_json(obj, str(path))


def _check_file(path: Path) -> None:
    if not path.exists():
        raise ModelError(f"{path}: no such model file")
    try:
        size = path.stat().st_size
        if size > MAX_MODEL_BYTES:
            raise ModelError(f"{path}: model file too large ({size} bytes)")
        with open(path, "rb") as f:
            head = f.read(9)
    except OSError as e:  # a folder, no permission
        raise ModelError(f"{path}: cannot read the model file ({e.strerror or e})") from e
    # safetensors: a little-endian u64 header length, then a JSON header
    n = int.from_bytes(head[:8], "little") if len(head) >= 8 else -1
    if len(head) == 9 and head[8:9] == b"{" and 8 + n <= size:
        return
    if head[:1] == b"\x80" or head[:2] == b"PK":
        raise ModelError(f"{path}: looks like a pickle/torch.save file; hwr only loads safetensors models")
    raise ModelError(f"{path}: not a safetensors model file")


def _build(info: ModelInfo, path: Path):
    """The untrained network ``info`` describes; ModelError for a configuration torch refuses."""
    from hwr.models.registry import build

    try:
        return build(info.arch, info.config)
    except ModelError as e:
        raise ModelError(f"{path}: {e}") from e
    except (TypeError, ValueError, RuntimeError, OverflowError) as e:  # e.g. sizes torch cannot build
        raise ModelError(f"{path}: bad configuration for {info.arch} ({type(e).__name__}: {str(e)[:200]})") from e


def load_model(path: str | os.PathLike, device: str = "cpu"):
    """Load a model: returns ``(net, info)`` with ``net`` in eval mode on ``device``."""
    import torch
    from safetensors import safe_open
    from safetensors.torch import load_file

    path = Path(path)
    info = read_info(path)
    # The configuration is checked against the tensors in the file before any memory is
    # allocated: the network is first built on the "meta" device (shapes only), so a file
    # whose config claims a network of 100 GB is refused, not allocated.
    try:
        with safe_open(str(path), framework="pt") as f:
            shapes = {k: tuple(f.get_slice(k).get_shape()) for k in f.keys()}
    except Exception as e:  # noqa: BLE001 - safetensors' own error types for a damaged header
        raise ModelError(f"{path}: cannot read weights ({e})") from e
    with torch.device("meta"):
        expected = _build(info, path).state_dict()
    missing = sorted(set(expected) - set(shapes))
    extra = sorted(set(shapes) - set(expected))
    if missing or extra:
        raise ModelError(f"{path}: weights do not fit {info.arch} (missing {missing[:3]}, unexpected {extra[:3]})")
    for k, shape in shapes.items():
        if shape != tuple(expected[k].shape):
            raise ModelError(f"{path}: weight {k} has shape {shape}, {info.arch} needs {tuple(expected[k].shape)}")
    net = _build(info, path)
    try:
        state = load_file(str(path), device="cpu")
    except Exception as e:
        raise ModelError(f"{path}: cannot read weights ({e})") from e
    for k, v in state.items():
        if not torch.isfinite(v).all():
            raise ModelError(f"{path}: weight {k} holds NaN or infinite values")
    net.load_state_dict(state)
    net.eval()
    return net.to(device), info
