"""`Metadata.rotate_write_key`: a new key works, the old one stops, in this process and in another."""

from __future__ import annotations

from pathlib import Path

import pytest

from clicklake.collect.metadata import Metadata, default_uri
from clicklake.errors import InputError


def test_a_rotated_key_stops_working_here_and_in_another_process(tmp_path: Path) -> None:
    uri = default_uri(tmp_path)
    now = [1000.0]
    with Metadata(uri) as md, Metadata(uri, clock=lambda: now[0], site_change_check_s=2.0) as collector:
        site = md.create_site("Shop", "shop.example")
        assert collector.site_by_key(site.write_key) == site
        rotated = md.rotate_write_key(site.site_id)
        assert rotated.write_key.startswith("wk_") and rotated.write_key != site.write_key
        assert rotated.site_id == site.site_id and rotated.allowed_origins == site.allowed_origins
        assert md.site_by_key(site.write_key) is None and md.site_by_key(rotated.write_key) == rotated
        now[0] += 2.5  # the collector looks for changes every 2 s
        assert collector.site_by_key(site.write_key) is None
        assert collector.site_by_key(rotated.write_key) == rotated
        with pytest.raises(InputError, match="Unknown site"):
            md.rotate_write_key("site_missing")
