"""Where a snapshot lives: a local directory or an object-storage URI, and the few file
operations revgov does itself (writing a page's Parquet file, listing, deleting).

Delta tables are read and committed by delta-rs; page files are written here, through
pyarrow's filesystems, so that a local directory and ``s3://``, ``gs://`` or ``az://`` behave
alike. Credentials come from the environment only (``AWS_*``, ``GOOGLE_*``, ``AZURE_*``, as
delta-rs and pyarrow read them): nothing in revgov.toml, nothing in an error message.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow.fs as pafs

from revgov.errors import SnapshotNotFoundError

__all__ = ["REMOTE_SCHEMES", "Location"]

#: URI schemes of object storage, and the backend each names.
REMOTE_SCHEMES = {
    "s3": "Amazon S3 (or an S3-compatible store)",
    "s3a": "Amazon S3 (or an S3-compatible store)",
    "gs": "Google Cloud Storage",
    "gcs": "Google Cloud Storage",
    "az": "Azure Blob Storage",
    "abfs": "Azure Data Lake Storage",
    "abfss": "Azure Data Lake Storage",
}


def _scheme(uri: str) -> str | None:
    head, sep, _ = uri.partition("://")
    return head.lower() if sep and head.lower() in REMOTE_SCHEMES else None


def _s3_filesystem() -> pafs.FileSystem:
    # delta-rs reads the same variables, so pages and commits go to the same endpoint.
    endpoint = os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL")
    options: dict[str, Any] = {}
    if endpoint:
        scheme, _, host = endpoint.partition("://")
        options |= {"endpoint_override": host or endpoint, "scheme": scheme if host else "https"}
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    if region:
        options["region"] = region
    return pafs.S3FileSystem(**options)


def _azure_filesystem() -> pafs.FileSystem:
    account = os.environ.get("AZURE_STORAGE_ACCOUNT_NAME") or os.environ.get(
        "AZURE_STORAGE_ACCOUNT", ""
    )
    key = os.environ.get("AZURE_STORAGE_ACCOUNT_KEY") or os.environ.get("AZURE_STORAGE_KEY")
    return pafs.AzureFileSystem(account_name=account, account_key=key)


@dataclass(frozen=True)
class Location:
    """A snapshot root: ``uri`` as delta-rs and polars take it, and a filesystem for pages."""

    uri: str

    @classmethod
    def of(cls, root: str | os.PathLike[str]) -> Location:
        text = os.fspath(root)
        if _scheme(text) is None:
            return cls(str(Path(text).expanduser().absolute()))
        return cls(text.rstrip("/"))

    @property
    def is_local(self) -> bool:
        return _scheme(self.uri) is None

    @property
    def backend(self) -> str:
        scheme = _scheme(self.uri)
        return "local filesystem" if scheme is None else REMOTE_SCHEMES[scheme]

    def join(self, *parts: str) -> str:
        return "/".join([self.uri, *parts])

    def child(self, *parts: str) -> Location:
        return Location(self.join(*parts))

    def storage_options(self) -> dict[str, str] | None:
        """Options for delta-rs: only what the environment cannot say itself."""
        if _scheme(self.uri) in ("s3", "s3a"):
            endpoint = os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL")
            if endpoint and endpoint.startswith("http://"):
                # A local S3 server (tests, MinIO): plain HTTP must be allowed explicitly.
                return {"AWS_ALLOW_HTTP": "true"}
        return None

    def polars_options(self) -> dict[str, str] | None:
        """Options for polars' own object-store reader (local files need none)."""
        if _scheme(self.uri) in ("s3", "s3a"):
            endpoint = os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL")
            if endpoint:
                options = {"aws_endpoint_url": endpoint}
                if endpoint.startswith("http://"):
                    options["aws_allow_http"] = "true"
                return options
        return None

    # -- files ---------------------------------------------------------------------------

    def _fs(self, uri: str) -> tuple[pafs.FileSystem, str]:
        scheme = _scheme(uri)
        if scheme is None:
            return pafs.LocalFileSystem(), uri
        path = uri.partition("://")[2]
        if scheme in ("s3", "s3a"):
            return _s3_filesystem(), path
        if scheme in ("gs", "gcs"):
            return pafs.GcsFileSystem(), path
        return _azure_filesystem(), path

    def put(self, relative: str, data: bytes) -> None:
        """Write ``data`` to ``relative`` durably (fsynced on a local disk)."""
        uri = self.join(relative)
        if self.is_local:
            path = Path(uri)
            path.parent.mkdir(parents=True, exist_ok=True)
            with path.open("wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            return
        fs, path_ = self._fs(uri)
        with fs.open_output_stream(path_) as out:
            out.write(data)

    def size(self, relative: str) -> int | None:
        """The size of a file, None if it does not exist."""
        fs, path = self._fs(self.join(relative))
        info = fs.get_file_info(path)
        return None if info.type == pafs.FileType.NotFound else int(info.size or 0)

    def read(self, relative: str) -> bytes:
        fs, path = self._fs(self.join(relative))
        with fs.open_input_file(path) as fh:
            return bytes(fh.read())

    def delete(self, relative: str) -> None:
        fs, path = self._fs(self.join(relative))
        with contextlib.suppress(FileNotFoundError):
            fs.delete_file(path)

    def delete_dir(self, relative: str) -> None:
        fs, path = self._fs(self.join(relative))
        with contextlib.suppress(FileNotFoundError):
            fs.delete_dir(path)

    def list_dirs(self, relative: str = "") -> list[str]:
        """Names of the sub-directories of ``relative`` (empty if it does not exist)."""
        fs, path = self._fs(self.join(relative) if relative else self.uri)
        try:
            infos = fs.get_file_info(pafs.FileSelector(path, allow_not_found=True))
        except (FileNotFoundError, OSError):
            return []
        return sorted(i.base_name for i in infos if i.type == pafs.FileType.Directory)

    def exists(self, relative: str) -> bool:
        fs, path = self._fs(self.join(relative))
        try:
            return bool(fs.get_file_info(path).type != pafs.FileType.NotFound)
        except OSError as exc:
            raise SnapshotNotFoundError(
                f"cannot reach the snapshot at {self.uri!r}: {type(exc).__name__}",
                hint="check the URI and that the storage credentials are set in the environment",
            ) from exc
