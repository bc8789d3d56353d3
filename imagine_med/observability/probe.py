"""`python -m imagine_med.observability.probe [live|ready]`: the container HEALTHCHECK.

Asks this container's own process at 127.0.0.1:$IMAGINE_MED_HEALTH_PORT (/healthz or /readyz)
and exits 0 when it answers 200, 1 otherwise. With no health port set there is nothing to ask,
so it exits 0 (one-shot commands such as `imagine-med submit` run in the same image).
Standard library only: it runs every few seconds and must start fast.
"""

from __future__ import annotations

import os
import sys
import urllib.error
import urllib.request

PATHS = {"live": "/healthz", "ready": "/readyz"}


def main(argv: list[str]) -> int:
    port = int(os.environ.get("IMAGINE_MED_HEALTH_PORT") or "0")
    if not port:
        return 0
    path = PATHS.get(argv[0] if argv else "live", "/healthz")
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=4) as resp:
            return 0 if resp.status == 200 else 1
    except (urllib.error.URLError, OSError) as exc:
        print(f"{path}: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
