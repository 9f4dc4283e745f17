"""The model on ONNX Runtime (int8): the export is the same model, cached; a post's embedding is its own."""

from __future__ import annotations

import os

import numpy as np
import pytest

from firehose.classify import onnx_encoder
from firehose.classify.embedder import Embedder, pick_runtime

pytestmark = pytest.mark.skipif(not onnx_encoder.available(), reason="onnxruntime is a dependency")

TEXTS = [
    "fine-tuning a small llama on our support tickets, eval loss still dropping",
    "new release of the repo is up, changelog in the readme",
    "went for a long walk by the river this morning, the light was lovely",
    "the ferry was late again so we got fish and chips and waited",
    "our transformer keeps overfitting after epoch three, any tips on dropout?",
    "kaffe og kanelsnegle på balkonen, endelig sol",
]


@pytest.fixture(scope="module")
def onnx_embedder(tmp_path_factory: pytest.TempPathFactory) -> Embedder:
    os.environ["HF_HUB_OFFLINE"] = "1"
    cache = tmp_path_factory.mktemp("onnx-cache")
    return Embedder(precision="int8", runtime="onnx", threads=1, onnx_cache_dir=str(cache))


def test_the_exported_model_embeds_like_the_torch_model(onnx_embedder: Embedder) -> None:
    reference = Embedder(precision="fp32", runtime="torch", threads=1).encode(TEXTS)
    embedded = onnx_embedder.encode(TEXTS)
    assert embedded.shape == reference.shape
    np.testing.assert_allclose(np.linalg.norm(embedded, axis=1), 1.0, atol=1e-4)
    cosines = (embedded * reference).sum(axis=1)
    # int8 weights move each vector a little; a wrong pooling or a missing norm moves it far.
    assert cosines.min() > 0.8, cosines
    assert cosines.mean() > 0.9, cosines
    # and the texts stay apart: each is nearest to its own reference vector
    assert list((embedded @ reference.T).argmax(axis=1)) == list(range(len(TEXTS)))


def test_a_posts_embedding_does_not_depend_on_its_batch(onnx_embedder: Embedder) -> None:
    assert onnx_embedder.batch_size == 1
    together = onnx_embedder.encode(TEXTS)
    alone = np.vstack([onnx_embedder.encode([text]) for text in TEXTS])
    np.testing.assert_array_equal(together, alone)


def test_the_export_is_cached_and_reused(onnx_embedder: Embedder) -> None:
    path = onnx_embedder._onnx.path
    stamp = path.stat().st_mtime_ns
    again = Embedder(precision="int8", runtime="onnx", threads=1, onnx_cache_dir=str(path.parent))
    assert again._onnx.path == path
    assert path.stat().st_mtime_ns == stamp
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no partial files left behind


def test_runtime_choice(onnx_embedder: Embedder) -> None:
    st = onnx_embedder.model
    assert pick_runtime("auto", "int8", "cpu", st) == "onnx"
    assert pick_runtime("auto", "fp32", "cpu", st) == "torch"
    assert pick_runtime("torch", "int8", "cpu", st) == "torch"
    with pytest.raises(ValueError, match="FEEDGEN_EMBED_RUNTIME=onnx needs int8"):
        pick_runtime("onnx", "fp32", "cpu", st)
    with pytest.raises(ValueError, match="not one of"):
        pick_runtime("tensorrt", "int8", "cpu", st)
    assert "ONNX Runtime" in onnx_embedder.describe()


def test_a_model_of_another_shape_is_not_exported(onnx_embedder: Embedder) -> None:
    class CLSPooling:
        def get_config_dict(self) -> dict:
            return {"pooling_mode": "cls"}

    Transformer = type("Transformer", (), {})
    Pooling = type("Pooling", (), {"get_config_dict": CLSPooling.get_config_dict})
    Normalize = type("Normalize", (), {})
    assert not onnx_encoder.supports([Transformer(), Pooling(), Normalize()])
    assert not onnx_encoder.supports([Transformer(), Pooling()])
    assert onnx_encoder.supports(onnx_embedder.model)


def test_settings_name_the_runtime() -> None:
    from firehose.settings import load_settings

    assert load_settings(embed_runtime="torch").embed_runtime == "torch"
    with pytest.raises(ValueError, match="embed_runtime"):
        load_settings(embed_runtime="tensorrt")
