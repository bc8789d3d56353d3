"""Content-addressed storage for job outputs: the local filesystem, or an S3-compatible store.

Files are named by the SHA-256 of their bytes (`ab/cd/abcd....png`), so identical images (same
spec, same seed) are stored once and a stored file can never be silently replaced. Which store
a process uses comes from one URL (`IMAGINE_MED_BLOBS`, see `open_blob_store`):

- unset or `file:///path`: files under the data dir (the embedded default, one host);
- `s3://bucket/prefix`: objects in S3 or anything that speaks its API (MinIO, Ceph RGW, R2),
  with `IMAGINE_MED_S3_ENDPOINT_URL` for a non-AWS endpoint. Every host reads what any host
  wrote; each keeps a local cache of the blobs it touched (same names, checked on download), so
  adapters that post files from a path work unchanged.

Retention: `prune(before)` deletes blobs last written before a time (a blob stored again is
touched, so a new job's files never go with an old job's); on S3 `apply_retention(days)` also
sets a bucket lifecycle rule, so the store expires them itself.
"""

from __future__ import annotations

import hashlib
import mimetypes
import os
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import urlparse

if TYPE_CHECKING:
    from imagine_med.settings import Settings

HEX = frozenset("0123456789abcdef")


def check_key(key: str) -> str:
    """A key is sha256 hex plus an optional suffix; anything else (a path) is refused."""
    if len(key) < 64 or not set(key[:64]) <= HEX or "/" in key or "\\" in key or ".." in key:
        raise ValueError(f"not a blob key: {key!r}")
    return key


def key_for(data: bytes, suffix: str = "") -> str:
    return hashlib.sha256(data).hexdigest() + suffix


def fanout(key: str) -> str:
    """`ab/cd/abcd...`: two levels of 256 folders keep directory listings short."""
    return f"{key[:2]}/{key[2:4]}/{key}"


class BlobStore(Protocol):
    def put(self, data: bytes, suffix: str = "") -> str:
        """Store bytes; returns their key (sha256 hex + suffix)."""
        ...

    def get(self, key: str) -> bytes:
        ...

    def local_path(self, key: str) -> Path | None:
        """A filesystem path holding the blob (a remote store downloads it to its cache)."""
        ...

    def url(self, key: str, expires_s: int = 3600) -> str | None:
        """A URL a browser can fetch the blob from (presigned on S3; None for local files)."""
        ...

    def prune(self, before: datetime) -> int:
        """Delete blobs last written before `before`; returns how many."""
        ...

    def describe(self) -> str:
        ...


def _write_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class LocalBlobStore:
    """Blobs as files under `root`, written atomically (temp file + rename)."""

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root)

    def _path(self, key: str) -> Path:
        return self.root / fanout(check_key(key))

    def put(self, data: bytes, suffix: str = "") -> str:
        key = key_for(data, suffix)
        path = self._path(key)
        if path.exists():
            os.utime(path)  # written again now: retention counts from here
            return key
        _write_atomic(path, data)
        return key

    def get(self, key: str) -> bytes:
        return self._path(key).read_bytes()

    def local_path(self, key: str) -> Path | None:
        return self._path(key)

    def url(self, key: str, expires_s: int = 3600) -> str | None:
        return None

    def prune(self, before: datetime) -> int:
        cutoff = before.timestamp()
        removed = 0
        for path in self.root.glob("??/??/*"):
            if path.name.startswith(".tmp-") or not path.is_file():
                continue
            if path.stat().st_mtime < cutoff:
                path.unlink(missing_ok=True)
                removed += 1
        return removed

    def describe(self) -> str:
        return f"files in {self.root}"


class S3BlobStore:
    """Blobs as objects `<prefix>/ab/cd/<key>` in an S3 bucket, with a local read cache."""

    def __init__(self, bucket: str, prefix: str, cache_dir: Path | str, *,
                 endpoint_url: str | None = None, region: str | None = None,
                 retention_days: int = 0, client: Any = None) -> None:
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.cache = LocalBlobStore(cache_dir)
        self.endpoint_url = endpoint_url
        self.retention_days = retention_days
        if client is None:
            import boto3
            from botocore.config import Config

            client = boto3.client(
                "s3", endpoint_url=endpoint_url, region_name=region or "us-east-1",
                # path-style: MinIO and most self-hosted stores have no per-bucket DNS names
                config=Config(s3={"addressing_style": "path"}, signature_version="s3v4",
                              retries={"max_attempts": 5, "mode": "standard"}),
            )
        self.client = client

    def object_key(self, key: str) -> str:
        name = fanout(check_key(key))
        return f"{self.prefix}/{name}" if self.prefix else name

    def _head(self, key: str) -> dict[str, Any] | None:
        from botocore.exceptions import ClientError

        try:
            return self.client.head_object(Bucket=self.bucket, Key=self.object_key(key))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return None
            raise

    def put(self, data: bytes, suffix: str = "") -> str:
        key = key_for(data, suffix)
        head = self._head(key)
        if head is None:
            self.client.put_object(
                Bucket=self.bucket, Key=self.object_key(key), Body=data,
                ContentType=mimetypes.guess_type(f"x{suffix}")[0] or "application/octet-stream",
                Metadata={"sha256": key[:64]},
            )
        elif self._stale(head["LastModified"]):
            self._touch(key)
        self.cache.put(data, suffix)  # this host has the bytes: no download to read them back
        return key

    def _stale(self, modified: datetime) -> bool:
        """Old enough that retention might delete it soon: touch it for the new job."""
        if self.retention_days <= 0:
            return False
        return datetime.now(UTC) - modified > timedelta(days=self.retention_days / 2)

    def _touch(self, key: str) -> None:
        name = self.object_key(key)
        self.client.copy_object(Bucket=self.bucket, Key=name, MetadataDirective="REPLACE",
                                CopySource={"Bucket": self.bucket, "Key": name},
                                Metadata={"sha256": key[:64], "touched": str(int(time.time()))})

    def get(self, key: str) -> bytes:
        path = self.cache.local_path(key)
        if path is not None and path.exists():
            return path.read_bytes()
        data = self.client.get_object(Bucket=self.bucket, Key=self.object_key(key))["Body"].read()
        if hashlib.sha256(data).hexdigest() != key[:64]:
            raise OSError(f"blob {key} from s3://{self.bucket} does not match its hash")
        self.cache.put(data, key[64:])
        return data

    def local_path(self, key: str) -> Path | None:
        path = self.cache.local_path(key)
        if path is not None and not path.exists():
            self.get(key)
        return path

    def url(self, key: str, expires_s: int = 3600) -> str | None:
        return self.client.generate_presigned_url(
            "get_object", Params={"Bucket": self.bucket, "Key": self.object_key(key)},
            ExpiresIn=int(expires_s),
        )

    def prune(self, before: datetime) -> int:
        paginator = self.client.get_paginator("list_objects_v2")
        removed = 0
        prefix = f"{self.prefix}/" if self.prefix else ""
        for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix):
            old = [{"Key": o["Key"]} for o in page.get("Contents", [])
                   if o["LastModified"] < before]
            for i in range(0, len(old), 1000):  # DeleteObjects takes at most 1000 keys
                self.client.delete_objects(Bucket=self.bucket,
                                           Delete={"Objects": old[i:i + 1000], "Quiet": True})
            removed += len(old)
        self.cache.prune(before)
        return removed

    def apply_retention(self, days: int) -> None:
        """A lifecycle rule expiring this prefix's objects `days` after their last write."""
        self.client.put_bucket_lifecycle_configuration(
            Bucket=self.bucket,
            LifecycleConfiguration={"Rules": [{
                "ID": f"imagine-med-retention-{self.prefix or 'root'}",
                "Filter": {"Prefix": f"{self.prefix}/" if self.prefix else ""},
                "Status": "Enabled", "Expiration": {"Days": int(days)},
            }]},
        )

    def check(self) -> None:
        """Raise unless the bucket answers (readiness probes)."""
        self.client.head_bucket(Bucket=self.bucket)

    def describe(self) -> str:
        where = f" at {self.endpoint_url}" if self.endpoint_url else ""
        return f"s3://{self.bucket}/{self.prefix}{where} (cache {self.cache.root})"


def open_blob_store(url: str | None, cache_dir: Path | str, *, endpoint_url: str | None = None,
                    region: str | None = None, retention_days: int = 0) -> BlobStore:
    """The store a URL names: None or file:///path (local files), s3://bucket/prefix."""
    if not url:
        return LocalBlobStore(cache_dir)
    parsed = urlparse(url)
    if parsed.scheme == "file":
        return LocalBlobStore(parsed.path)
    if parsed.scheme == "s3":
        if not parsed.netloc:
            raise ValueError(f"IMAGINE_MED_BLOBS={url!r} names no bucket (s3://bucket/prefix)")
        return S3BlobStore(parsed.netloc, parsed.path, cache_dir, endpoint_url=endpoint_url,
                           region=region, retention_days=retention_days)
    raise ValueError(f"IMAGINE_MED_BLOBS={url!r}: use s3://bucket/prefix or file:///path")


def blob_store_for(settings: Settings, cache_dir: Path | str) -> BlobStore:
    return open_blob_store(settings.blobs, cache_dir, endpoint_url=settings.s3_endpoint_url,
                           region=settings.s3_region, retention_days=settings.blob_retention_days)
