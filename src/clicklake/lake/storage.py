"""Where the lake's files live: a local folder, or S3-compatible object storage.

The warehouse is a setting (`lake.warehouse`, empty for `<data>/warehouse`, else
`s3://bucket/prefix`); the S3 endpoint, region and keys ride in the catalog's FileIO
properties, so every table's `io` reads and writes its files wherever they are. Code that
goes around pyiceberg (DuckDB views, the transform's uploads, maintenance's listing) gets a
pyarrow file system from that same FileIO here, so no setting is read twice and no
credential is copied. The secret key is never part of a repr or a message.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Final
from urllib.parse import urlparse

from clicklake.config import LakeSettings
from clicklake.errors import ConfigError

if TYPE_CHECKING:
    import pyarrow.fs as pafs
    from pyiceberg.io import FileIO

#: Region told to an S3-compatible server that has none of its own (the SigV4 signature needs one).
DEFAULT_REGION: Final = "us-east-1"
_OBJECT_SCHEMES: Final = frozenset({"s3", "s3a", "s3n"})


@dataclass(frozen=True)
class Warehouse:
    """The warehouse location and the object-storage settings that reach it."""

    location: str = ""
    endpoint: str = ""
    region: str = ""
    access_key_id: str = ""
    secret_access_key: str = field(default="", repr=False)

    @classmethod
    def of(cls, lake: LakeSettings) -> Warehouse:
        return cls(
            location=lake.warehouse,
            endpoint=lake.s3_endpoint,
            region=lake.s3_region,
            access_key_id=lake.s3_access_key_id,
            secret_access_key=lake.s3_secret_access_key,
        )

    @property
    def local(self) -> bool:
        """Whether the warehouse is the folder in the data directory."""
        return not self.location

    def properties(self) -> dict[str, str]:
        """pyiceberg FileIO properties for the object store (empty for a local warehouse without S3 settings)."""
        props: dict[str, str] = {}
        if self.endpoint:
            props["s3.endpoint"] = self.endpoint
        region = self.region or (DEFAULT_REGION if self.endpoint else "")
        if region:
            props["s3.region"] = region
        if self.access_key_id:
            props["s3.access-key-id"] = self.access_key_id
        if self.secret_access_key:
            props["s3.secret-access-key"] = self.secret_access_key
        if self.endpoint:
            # an S3-compatible server on an address of its own: bucket in the path, not in the host name
            props["s3.force-virtual-addressing"] = "false"
        return props


def is_local(location: str) -> bool:
    """Whether a file location (URI or path) is on the local file system."""
    return urlparse(location).scheme in ("", "file")


def is_object_store(location: str) -> bool:
    return urlparse(location).scheme in _OBJECT_SCHEMES


def filesystem(io: FileIO, location: str) -> tuple[pafs.FileSystem, str]:
    """The pyarrow file system that `io` reads `location` with, and the location's path in it (`bucket/key`)."""
    fs, [path] = in_store(io, [location])
    return fs, path


def in_store(io: FileIO, locations: list[str]) -> tuple[pafs.FileSystem, list[str]]:
    """The one pyarrow file system holding every location (through `io`'s settings), and their paths in it.

    A FileIO other than pyarrow's (one a REST catalog asked for) lends its properties
    to a pyarrow one.
    """
    from pyiceberg.io.pyarrow import PyArrowFileIO

    arrow_io = io if isinstance(io, PyArrowFileIO) else PyArrowFileIO(dict(io.properties))
    stores = set()
    paths = []
    for location in locations:
        scheme, netloc, path = PyArrowFileIO.parse_location(location, arrow_io.properties)
        if scheme not in _OBJECT_SCHEMES and scheme != "file":
            raise ConfigError(f"cannot read {location}: clicklake reads a local warehouse or an s3:// one")
        stores.add((scheme, netloc if scheme != "file" else ""))
        paths.append(path.rstrip("/"))
    if len(stores) != 1:
        raise ConfigError(f"expected files of one store, got {len(stores)} ({sorted(stores)})")
    [(scheme, netloc)] = stores
    return arrow_io.fs_by_scheme(scheme, netloc or None), paths


def upload(io: FileIO, local: Path, location: str) -> None:
    """Copy a local file to `location` through `io` (one PUT, or a multipart upload for a large file)."""
    output = io.new_output(location)
    with local.open("rb") as source, output.create(overwrite=True) as target:
        while chunk := source.read(8 << 20):
            target.write(chunk)


@dataclass(frozen=True)
class StoredFile:
    """A file found under a location in object storage."""

    path: str  # bucket/key
    size: int
    mtime: float  # seconds since the epoch, on the store's clock


def list_files(fs: pafs.FileSystem, directory: str) -> Iterator[StoredFile]:
    """Every file under `directory` (`bucket/prefix`), recursively; none when it does not exist."""
    import pyarrow.fs as pafs

    selector = pafs.FileSelector(directory, recursive=True, allow_not_found=True)
    for info in fs.get_file_info(selector):
        if info.type == pafs.FileType.File:
            mtime = info.mtime.timestamp() if info.mtime is not None else datetime.now(UTC).timestamp()
            yield StoredFile(info.path, info.size or 0, mtime)


def store_clock(fs: pafs.FileSystem, directory: str) -> float:
    """The time now on the store's clock: the modification time of a probe object written under `directory`.

    The probe is named like a data file: a table bucket (S3 Tables, SeaweedFS) refuses
    other names under a table's location.
    """
    probe = f"{directory}/.clock-{uuid.uuid4().hex}.parquet"
    with fs.open_output_stream(probe) as out:
        out.write(b"")
    try:
        info = fs.get_file_info(probe)
        assert info.mtime is not None, "the object store reports no modification time"
        return float(info.mtime.timestamp())
    finally:
        fs.delete_file(probe)
