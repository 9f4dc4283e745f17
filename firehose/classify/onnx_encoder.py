"""The model on ONNX Runtime with int8 weights: on a CPU about twice torch's dynamic int8 per post (README).

The loaded sentence-transformers model (transformer, mean pooling, L2 norm) is exported once to ONNX, its
weights quantized to int8 by onnxruntime, and the file cached under `FEEDGEN_ONNX_CACHE_DIR` (default
`~/.cache/gitfeed/onnx`) keyed by the weights and the library versions, so a restart loads it in a second.
Only models of that shape are exported; any other falls back to torch (`supports`). Measured in the README
(`python -m scripts.bench_classify`); the shipped heads were trained on this path's embeddings.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger(__name__)
OPSET = 17
DEFAULT_CACHE_DIR = Path("~/.cache/gitfeed/onnx")


def available() -> bool:
    try:
        import onnxruntime  # noqa: F401
        import onnxruntime.quantization  # noqa: F401
    except ImportError:
        return False
    return True


def supports(st: Any) -> bool:
    """True for a BERT-like transformer followed by mean pooling and a Normalize module."""
    modules = list(st)
    if [type(m).__name__ for m in modules] != ["Transformer", "Pooling", "Normalize"]:
        return False
    pooling = modules[1].get_config_dict()
    return pooling.get("pooling_mode") == "mean" or bool(pooling.get("pooling_mode_mean_tokens"))


def _weights_key(st: Any) -> str:
    """Hash of the transformer's weights and of the versions that shape the exported file."""
    import onnxruntime
    import torch

    digest = hashlib.sha256(f"{torch.__version__}|{onnxruntime.__version__}|{OPSET}|int8".encode())
    for name, tensor in st[0].auto_model.state_dict().items():
        digest.update(name.encode())
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()[:24]


def _pooled(transformer: Any) -> Any:
    """transformer -> mean over the attention mask -> L2 norm, as one traceable module."""
    import torch

    class Pooled(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.transformer = transformer

        def forward(self, input_ids: Any, attention_mask: Any) -> Any:
            hidden = self.transformer(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            mean = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(mean, dim=1)

    return Pooled().eval()


def export_int8(st: Any, cache_dir: Path | None = None) -> Path:
    """The cached int8 ONNX file of this model, exported and quantized on first use (seconds)."""
    import warnings

    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic

    cache = (cache_dir or DEFAULT_CACHE_DIR).expanduser()
    target = cache / f"{_weights_key(st)}.int8.onnx"
    if target.is_file():
        return target
    cache.mkdir(parents=True, exist_ok=True)
    log.info("exporting the model to ONNX (int8) at %s, once", target)
    sample = st.tokenizer(["an example post"], return_tensors="pt")
    with tempfile.TemporaryDirectory(dir=cache) as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fp32 = Path(tmp) / "model.onnx"
        with torch.inference_mode():
            torch.onnx.export(
                _pooled(st[0].auto_model),
                (sample["input_ids"], sample["attention_mask"]),
                str(fp32),
                input_names=["input_ids", "attention_mask"],
                output_names=["embedding"],
                dynamic_axes={"input_ids": {0: "n", 1: "len"}, "attention_mask": {0: "n", 1: "len"}},
                opset_version=OPSET,
                dynamo=False,
            )
        partial = Path(tmp) / "model.int8.onnx"
        quantize_dynamic(str(fp32), str(partial), weight_type=QuantType.QInt8)
        os.replace(partial, target)  # atomic: a concurrent loader sees the whole file or none
    return target


class OnnxEncoder:
    """`encode(texts)` -> (n, dim) float32, L2-normalized; texts batched by token length (little padding)."""

    def __init__(self, st: Any, *, dim: int, threads: int = 0, cache_dir: Path | None = None) -> None:
        import onnxruntime as ort

        self.tokenizer = st.tokenizer
        self.dim = dim
        self.max_seq_length = int(st.max_seq_length)
        self.pad_id = int(self.tokenizer.pad_token_id or 0)
        self.path = export_int8(st, cache_dir)
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        # Idle intra-op threads sleep rather than spin: spinning took half the CPU of 2 threads on a busy
        # machine (39 against 75 posts per CPU-second), CPU that ingest's decoding on the same core needs.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self.session = ort.InferenceSession(str(self.path), options, providers=["CPUExecutionProvider"])

    def encode(self, texts: Sequence[str], batch_size: int) -> np.ndarray:
        ids = self.tokenizer(list(texts), truncation=True, max_length=self.max_seq_length)["input_ids"]
        order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
        out = np.zeros((len(ids), self.dim), dtype=np.float32)
        for start in range(0, len(order), batch_size):
            rows = order[start : start + batch_size]
            width = max(len(ids[i]) for i in rows)
            input_ids = np.full((len(rows), width), self.pad_id, dtype=np.int64)
            mask = np.zeros((len(rows), width), dtype=np.int64)
            for r, i in enumerate(rows):
                input_ids[r, : len(ids[i])] = ids[i]
                mask[r, : len(ids[i])] = 1
            (out[rows],) = self.session.run(None, {"input_ids": input_ids, "attention_mask": mask})
        return out
