"""A real S3-compatible HTTP server for tests: moto's server mode, as its own process on
127.0.0.1 (boto3 talks to it over HTTP with SigV4 exactly as to AWS or MinIO)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from tooling import need_module

# moto accepts any credentials; boto3 still signs every request with them
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
               "AWS_DEFAULT_REGION": "us-east-1"}


@dataclass
class S3Server:
    endpoint: str

    def client(self):
        import boto3

        return boto3.client("s3", endpoint_url=self.endpoint, region_name="us-east-1",
                            aws_access_key_id="testing", aws_secret_access_key="testing")

    def bucket(self) -> str:
        """A new bucket of its own for one test."""
        name = f"imtest-{uuid.uuid4().hex[:12]}"
        self.client().create_bucket(Bucket=name)
        return name

    def env(self, bucket: str, prefix: str = "jobs") -> dict[str, str]:
        """What a process needs to use the bucket (as compose sets for MinIO)."""
        return {**CREDENTIALS, "IMAGINE_MED_BLOBS": f"s3://{bucket}/{prefix}",
                "IMAGINE_MED_S3_ENDPOINT_URL": self.endpoint}


@pytest.fixture(scope="session")
def s3_server() -> Iterator[S3Server]:
    need_module("moto", "moto[server], the dev extra")
    need_module("flask", "moto[server], the dev extra")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        env={**os.environ, **CREDENTIALS}, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    endpoint = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    break
            except OSError:
                assert proc.poll() is None, proc.stderr.read().decode()[-2000:]  # type: ignore[union-attr]
                time.sleep(0.1)
        else:
            raise AssertionError("moto server did not listen within 30 s")
        os.environ.update(CREDENTIALS)  # boto3 clients made in this process sign with them
        yield S3Server(endpoint)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
