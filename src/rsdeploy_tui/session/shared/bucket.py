"""The few S3 calls a shared store makes, with their outcomes as operator-level types.

Put-if-absent (``If-None-Match: *``) and compare-and-swap (``If-Match: <ETag>``) are S3's own
concurrency primitives; a 412 is ``Precondition`` (somebody else got there first), an endpoint
that does not answer is ``Unreachable`` (work goes on locally), anything else an
``RsdeployError`` naming the key. boto3 is imported only when a store is used.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterator, Mapping
from typing import Any

from rsdeploy_tui.errors import RsdeployError
from rsdeploy_tui.session.shared.url import StoreUrl, check_endpoint

CONNECTIONS = 20
"""HTTP connections a store keeps open: one per upload in flight (``objects.WINDOW``) and
the lease's renewal, the rest for readers."""


class Precondition(RsdeployError):
    """S3 refused a conditional write (412): the object exists / changed since it was read."""


class Unreachable(RsdeployError):
    """The store did not answer (network down, endpoint gone)."""


class Missing(RsdeployError):
    """The object is not there."""


def sha256_b64(body: bytes) -> str:
    """The SHA-256 of ``body`` as S3's ``ChecksumSHA256`` (base64)."""
    return base64.b64encode(hashlib.sha256(body).digest()).decode("ascii")


def _lighten(s3: Any) -> None:
    """Less work per request for a client that puts many small objects (the uploader's CPU
    competes with the UI thread for the GIL): no ``Expect: 100-continue`` round trip before
    each body (botocore sends one for every upload; event objects are a few hundred bytes)."""
    from botocore.handlers import add_expect_header

    s3.meta.events.unregister("before-call.s3", add_expect_header)


class Bucket:
    """One store URL's bucket, through a boto3 client built like every other AWS client."""

    def __init__(self, url: StoreUrl, vars: Mapping[str, str] | None = None,
                 client: Any = None) -> None:
        from rsdeploy_tui import aws

        self.url = url
        # one client for every call of this store, with a connection per upload in flight
        self._s3 = client or aws.client("s3", vars, retries=1, connections=CONNECTIONS)
        if client is None:
            _lighten(self._s3)
        self.endpoint = str(self._s3.meta.endpoint_url)
        self.region = str(self._s3.meta.region_name or "")
        check_endpoint(self.endpoint, url)

    def put_new(self, key: str, body: bytes, metadata: dict[str, str] | None = None,
                checksum: str | None = None) -> str:
        """Write ``key`` only if it does not exist (``If-None-Match: *``); returns its ETag.

        ``checksum``: the body's ``sha256_b64`` when the caller has it already.
        """
        return self._put(key, body, metadata, checksum, IfNoneMatch="*")

    def put_if_match(self, key: str, body: bytes, etag: str,
                     metadata: dict[str, str] | None = None, checksum: str | None = None) -> str:
        """Replace ``key`` only if it is still ``etag`` (``If-Match``); returns the new ETag."""
        return self._put(key, body, metadata, checksum, IfMatch=etag)

    def get(self, key: str) -> tuple[bytes, str, dict[str, str]]:
        """(body, ETag, metadata) of ``key``; ``Missing`` when it is not there."""
        response = self._call("read", key, self._s3.get_object, Bucket=self.url.bucket, Key=key)
        try:
            body = response["Body"].read()
        except Exception as error:  # noqa: BLE001 - a cut stream is the network's failure
            raise self._classify(error, "read", key) from None
        return body, str(response.get("ETag", "")), dict(response.get("Metadata") or {})

    def keys(self, prefix: str, start_after: str = "") -> Iterator[str]:
        """Every key under ``prefix`` (after ``start_after``), in S3's (lexicographic) order."""
        token: str | None = None
        while True:
            extra: dict[str, str] = {"ContinuationToken": token} if token else {}
            if start_after and not token:
                extra["StartAfter"] = start_after
            page = self._call("list", prefix, self._s3.list_objects_v2, Bucket=self.url.bucket,
                              Prefix=prefix, **extra)
            for entry in page.get("Contents") or ():
                yield str(entry["Key"])
            if not page.get("IsTruncated"):
                return
            token = page.get("NextContinuationToken")

    def folders(self, prefix: str) -> list[str]:
        """The names of the "folders" right under ``prefix`` (``prefix`` ends with ``/``)."""
        names: list[str] = []
        token: str | None = None
        while True:
            extra = {"ContinuationToken": token} if token else {}
            page = self._call("list", prefix, self._s3.list_objects_v2, Bucket=self.url.bucket,
                              Prefix=prefix, Delimiter="/", **extra)
            for entry in page.get("CommonPrefixes") or ():
                names.append(str(entry["Prefix"])[len(prefix):].strip("/"))
            if not page.get("IsTruncated"):
                return names
            token = page.get("NextContinuationToken")

    def _put(self, key: str, body: bytes, metadata: dict[str, str] | None,
             checksum: str | None, **condition: str) -> str:
        response = self._call(
            "write", key, self._s3.put_object, Bucket=self.url.bucket, Key=key, Body=body,
            ChecksumSHA256=checksum or sha256_b64(body), Metadata=dict(metadata or {}),
            **condition)
        return str(response.get("ETag", ""))

    def _call(self, doing: str, key: str, method: Any, **kwargs: Any) -> Any:
        try:
            return method(**kwargs)
        except Exception as error:  # noqa: BLE001 - classified below, never swallowed
            raise self._classify(error, doing, key) from None

    def _classify(self, error: BaseException, doing: str, key: str) -> RsdeployError:
        from botocore.exceptions import (
            ClientError,
            ConnectionClosedError,
            ConnectTimeoutError,
            EndpointConnectionError,
            HTTPClientError,
            ReadTimeoutError,
        )

        from rsdeploy_tui.aws import describe_error

        where = f"s3://{self.url.bucket}/{key}"
        if isinstance(error, ClientError):
            status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            code = str(error.response.get("Error", {}).get("Code", ""))
            if status == 412 or code in ("PreconditionFailed", "ConditionalRequestConflict"):
                return Precondition("Changed in the shared store",
                                    f"{where} was written by someone else first.")
            if status == 404 or code in ("NoSuchKey", "404"):
                return Missing("Not in the shared store", f"There is no {where}.")
            if isinstance(status, int) and status >= 500:
                return Unreachable("Shared store unavailable",
                                   f"Could not {doing} {where}: {describe_error(error)}.")
            return RsdeployError("Shared store refused",
                                 f"Could not {doing} {where}: {describe_error(error)}.")
        if isinstance(error, EndpointConnectionError | ConnectTimeoutError | ReadTimeoutError
                      | ConnectionClosedError | HTTPClientError | ConnectionError
                      | TimeoutError):
            return Unreachable("Shared store unreachable",
                               f"Could not {doing} {where}: {describe_error(error)}.")
        if isinstance(error, RsdeployError):
            return error
        return RsdeployError("Shared store failed",
                             f"Could not {doing} {where}: {describe_error(error)}.")
