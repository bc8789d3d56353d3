"""The S3 blob store against a real S3-compatible server (moto's, over HTTP on 127.0.0.1)."""

from __future__ import annotations

import hashlib
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

import pytest
from s3_support import S3Server

from imagine_med.settings import Settings
from imagine_med.store.blobs import LocalBlobStore, S3BlobStore, blob_store_for, open_blob_store


def store(s3: S3Server, bucket: str, cache: Path, **kw: object) -> S3BlobStore:
    blobs = open_blob_store(f"s3://{bucket}/jobs/v1", cache, endpoint_url=s3.endpoint, **kw)
    assert isinstance(blobs, S3BlobStore)
    return blobs


def test_content_addressed_objects_readable_from_another_host(
        s3_server: S3Server, tmp_path: Path) -> None:
    bucket = s3_server.bucket()
    host_a = store(s3_server, bucket, tmp_path / "a")
    data = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 40
    key = host_a.put(data, ".png")
    assert key == hashlib.sha256(data).hexdigest() + ".png"
    assert host_a.put(data, ".png") == key  # stored once
    listed = s3_server.client().list_objects_v2(Bucket=bucket)["Contents"]
    assert [o["Key"] for o in listed] == [f"jobs/v1/{key[:2]}/{key[2:4]}/{key}"]
    head = s3_server.client().head_object(Bucket=bucket, Key=listed[0]["Key"])
    assert head["ContentType"] == "image/png" and head["Metadata"]["sha256"] == key[:64]

    host_b = store(s3_server, bucket, tmp_path / "b")  # shares only the bucket
    assert not (tmp_path / "b").exists()
    path = host_b.local_path(key)
    assert path is not None and path.is_relative_to(tmp_path / "b")
    assert path.read_bytes() == data and host_b.get(key) == data
    with pytest.raises(ValueError, match="not a blob key"):
        host_b.get("../../etc/passwd" + "0" * 64)


def test_a_corrupted_object_is_refused_not_cached(s3_server: S3Server, tmp_path: Path) -> None:
    bucket = s3_server.bucket()
    blobs = store(s3_server, bucket, tmp_path / "a")
    key = blobs.put(b"the real bytes", ".json")
    s3_server.client().put_object(Bucket=bucket, Key=blobs.object_key(key), Body=b"tampered")
    reader = store(s3_server, bucket, tmp_path / "b")
    with pytest.raises(OSError, match="does not match its hash"):
        reader.get(key)
    assert not reader.cache.local_path(key).exists()


def test_presigned_url_serves_the_bytes_without_credentials(
        s3_server: S3Server, tmp_path: Path) -> None:
    blobs = store(s3_server, s3_server.bucket(), tmp_path)
    data = bytes(range(200)) * 7
    key = blobs.put(data, ".png")
    url = blobs.url(key, expires_s=600)
    assert url is not None and "X-Amz-Signature=" in url and "X-Amz-Expires=600" in url
    with urllib.request.urlopen(url, timeout=10) as resp:  # a plain GET, as a browser's
        assert resp.read() == data
        assert resp.headers["Content-Type"] == "image/png"
    assert LocalBlobStore(tmp_path / "l").url(key) is None


def test_prune_deletes_only_blobs_written_before_the_cutoff(
        s3_server: S3Server, tmp_path: Path) -> None:
    bucket = s3_server.bucket()
    blobs = store(s3_server, bucket, tmp_path / "cache")
    old = blobs.put(b"an old job's grid", ".png")
    time.sleep(1.2)  # S3 LastModified has one-second resolution
    cutoff = datetime.now(UTC)
    time.sleep(1.2)
    new = blobs.put(b"a new job's grid", ".png")
    assert blobs.prune(cutoff) == 1
    names = [o["Key"] for o in s3_server.client().list_objects_v2(Bucket=bucket)["Contents"]]
    assert names == [blobs.object_key(new)]
    assert not blobs.cache.local_path(old).exists() and blobs.cache.local_path(new).exists()

    local = LocalBlobStore(tmp_path / "local")
    a = local.put(b"old")
    time.sleep(0.05)
    cut = datetime.now(UTC)
    time.sleep(0.05)
    b = local.put(b"new")
    local.put(b"old")  # stored again by a new job: touched, so it is kept
    assert local.prune(cut) == 0 and local.get(a) == b"old" and local.get(b) == b"new"


def test_blob_url_setting_picks_the_store(tmp_path: Path, s3_server: S3Server) -> None:
    assert isinstance(blob_store_for(Settings(data_dir=tmp_path), tmp_path / "f"),
                      LocalBlobStore)
    chosen = blob_store_for(
        Settings(blobs="s3://bucket-x/p", s3_endpoint_url=s3_server.endpoint), tmp_path)
    assert isinstance(chosen, S3BlobStore) and chosen.bucket == "bucket-x"
    assert chosen.prefix == "p" and chosen.endpoint_url == s3_server.endpoint
    with pytest.raises(ValueError, match="names no bucket"):
        open_blob_store("s3:///prefix", tmp_path)
    with pytest.raises(ValueError, match="use s3://bucket/prefix"):
        open_blob_store("gs://bucket/prefix", tmp_path)


def test_the_daily_retention_sweep_runs_once_for_the_fleet(qenv, tmp_path: Path) -> None:
    import os

    from imagine_med.queue.api import JobQueue
    from imagine_med.queue.worker import prune_old_files

    jq = qenv.queue()
    settings = jq.settings.model_copy(update={"blob_retention_days": 2})
    q = JobQueue(qenv.redis_url, qenv.prefix, qenv.database_url, settings=settings,
                 files_dir=tmp_path / "files")
    old, new = q.blobs.put(b"three days old", ".png"), q.blobs.put(b"fresh", ".png")
    three_days_ago = time.time() - 3 * 86400
    os.utime(q.blobs.local_path(old), (three_days_ago, three_days_ago))
    assert prune_old_files(q) == 1
    assert not q.blobs.local_path(old).exists() and q.blobs.get(new) == b"fresh"
    assert prune_old_files(q) is None  # another worker asking the same day: not its turn
    q.redis.delete(f"{q.prefix}:prune-lock")
    assert prune_old_files(qenv.queue()) is None  # retention off: never
    assert not q.redis.exists(f"{q.prefix}:prune-lock")
