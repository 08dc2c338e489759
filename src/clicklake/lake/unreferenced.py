"""Removal of the files no snapshot of a table reads any more, in a local folder or in object storage.

Step 3 of `clicklake.lake.maintain`: data files, manifests and manifest lists under the
table's location that no remaining snapshot uses and that are older than a cutoff are
deleted; `*.metadata.json` files are left to `write.metadata.delete-after-commit.enabled`.
A file's age is read on the clock of the storage that stamped it.
"""

from __future__ import annotations

import logging
import os
import tempfile
from collections.abc import Iterable
from datetime import UTC, datetime
from urllib.parse import unquote, urlparse

from pyiceberg.table import Table

from clicklake.lake.storage import filesystem, is_object_store, list_files, store_clock

log = logging.getLogger("clicklake.lake.maintain")


def _name(table: Table) -> str:
    return ".".join(table.name())


def remove_unreferenced_files(table: Table, older_than: datetime) -> tuple[int, int]:
    """Delete data files, manifests and manifest lists under the table's location that no snapshot uses.

    Only files older than `older_than` (this process's clock) go, so a file a writer has
    just written and not yet committed stays; ages are measured on the file system's clock.
    `*.metadata.json` files are never touched.
    Returns (files deleted, bytes freed).
    """
    root = local_dir(table.location())
    if root is None:
        if not is_object_store(table.location()):
            log.info("not removing unreferenced files of %s: cannot list %s", _name(table), table.location())
            return 0, 0
        return _remove_unreferenced_objects(table, older_than)
    table.refresh()
    referenced = referenced_paths(table)
    # a file's age is read on the clock that stamped it, the file system's, which need not
    # agree with this process's (a network mount, a clock set by hand)
    cutoff = storage_clock(root) - (datetime.now(UTC) - older_than).total_seconds()
    deleted = freed = 0
    for path in candidates(root):
        if path in referenced:
            continue
        try:
            stat = os.lstat(path)
            if stat.st_mtime >= cutoff:
                continue
            os.remove(path)
        except FileNotFoundError:
            continue
        deleted += 1
        freed += stat.st_size
        log.debug("deleted unreferenced %s", path)
    if deleted:
        log.info("deleted %d unreferenced files of %s (%d bytes)", deleted, _name(table), freed)
    return deleted, freed


def storage_clock(directory: str | os.PathLike[str]) -> float:
    """The time now on the clock of the file system holding `directory`: the mtime of a file written there."""
    with tempfile.NamedTemporaryFile(dir=directory, prefix=".clock-") as probe:
        return os.fstat(probe.fileno()).st_mtime


def local_dir(location: str) -> str | None:
    parsed = urlparse(location)
    if parsed.scheme == "file":
        return os.path.normpath(parsed.netloc + parsed.path)
    if parsed.scheme == "":
        return os.path.normpath(os.path.abspath(location))
    return None


def _remove_unreferenced_objects(table: Table, older_than: datetime) -> tuple[int, int]:
    """`remove_unreferenced_files` for a table in object storage: list its prefix, delete what no snapshot reads."""
    fs, root = filesystem(table.io, table.location())
    table.refresh()
    referenced = referenced_objects(table)
    cutoff = store_clock(fs, f"{root}/data") - (datetime.now(UTC) - older_than).total_seconds()
    deleted = freed = 0
    for directory, avro_only in ((f"{root}/data", False), (f"{root}/metadata", True)):
        for stored in list_files(fs, directory):
            if stored.path in referenced or stored.mtime >= cutoff or (avro_only and not stored.path.endswith(".avro")):
                continue
            try:
                fs.delete_file(stored.path)
            except FileNotFoundError:
                continue
            deleted += 1
            freed += stored.size
            log.debug("deleted unreferenced %s", stored.path)
    if deleted:
        log.info("deleted %d unreferenced files of %s (%d bytes)", deleted, _name(table), freed)
    return deleted, freed


def referenced_objects(table: Table) -> set[str]:
    """Paths in the object store (`bucket/key`) of every file a snapshot of `table` reads, raw and percent-decoded."""
    referenced: set[str] = set()
    for location in _referenced_locations(table):
        if is_object_store(location):
            path = filesystem(table.io, location)[1]
            referenced.update((path, unquote(path)))
    return referenced


def referenced_paths(table: Table) -> set[str]:
    """Local paths of every file a snapshot of `table` reads, in both raw and percent-decoded form."""
    paths: set[str] = set()
    for location in _referenced_locations(table):
        local = local_dir(location)
        if local is not None:
            # when unsure how a path was encoded, keep the file under either reading
            paths.update((local, os.path.normpath(unquote(local))))
    return paths


def _referenced_locations(table: Table) -> set[str]:
    """Locations (as written in the metadata) of every file a snapshot of `table` reads."""
    io = table.io
    locations: set[str] = set()
    seen_manifests: set[str] = set()
    for snapshot in table.snapshots():
        locations.add(snapshot.manifest_list)
        for manifest in snapshot.manifests(io):
            locations.add(manifest.manifest_path)
            if manifest.manifest_path in seen_manifests:
                continue
            seen_manifests.add(manifest.manifest_path)
            # an entry DELETED in this manifest's snapshot is read by no snapshot that has the manifest
            locations.update(entry.data_file.file_path for entry in manifest.fetch_manifest_entry(io))
    locations.update(s.statistics_path for s in table.metadata.statistics)
    locations.update(s.statistics_path for s in table.metadata.partition_statistics)
    return locations


def candidates(root: str) -> Iterable[str]:
    """Regular files under `root/data`, and the Avro manifests and manifest lists in `root/metadata`."""
    for directory, avro_only in ((os.path.join(root, "data"), False), (os.path.join(root, "metadata"), True)):
        for dirpath, _, filenames in os.walk(directory):
            for name in filenames:
                path = os.path.join(dirpath, name)
                if (not avro_only or name.endswith(".avro")) and os.path.isfile(path) and not os.path.islink(path):
                    yield os.path.normpath(path)
