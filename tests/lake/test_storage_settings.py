"""The warehouse settings: what reaches pyiceberg's FileIO, what is refused at start-up, and what is never shown."""

from __future__ import annotations

import pytest

from clicklake.config import load_settings, shown
from clicklake.errors import ConfigError
from clicklake.lake.storage import Warehouse, is_local, is_object_store

SECRET = "not-to-be-seen-0451"
S3 = {
    "CLICKLAKE_LAKE__WAREHOUSE": "s3://analytics/clicklake",
    "CLICKLAKE_LAKE__S3_ENDPOINT": "http://127.0.0.1:8333",
    "CLICKLAKE_LAKE__S3_ACCESS_KEY_ID": "clicklake",
    "CLICKLAKE_LAKE__S3_SECRET_ACCESS_KEY": SECRET,
}


def test_s3_settings_become_fileio_properties_and_the_secret_is_not_in_the_repr() -> None:
    warehouse = Warehouse.of(load_settings(env=S3).lake)
    assert not warehouse.local
    assert warehouse.properties() == {
        "s3.endpoint": "http://127.0.0.1:8333",
        "s3.region": "us-east-1",  # an S3-compatible server with no region of its own
        "s3.access-key-id": "clicklake",
        "s3.secret-access-key": SECRET,
        "s3.force-virtual-addressing": "false",
    }
    assert SECRET not in repr(warehouse)
    # AWS itself: no endpoint, no region guessed, keys from the default chain
    assert Warehouse(location="s3://b/p").properties() == {}
    assert Warehouse().local and Warehouse().properties() == {}


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"CLICKLAKE_LAKE__WAREHOUSE": "/srv/lake"}, "'/srv/lake' is not empty nor an s3://bucket/prefix location"),
        ({"CLICKLAKE_LAKE__S3_ACCESS_KEY_ID": ""}, "s3_access_key_id and s3_secret_access_key go together"),
        ({"CLICKLAKE_LAKE__CATALOG_CREDENTIAL": "id:" + SECRET}, "catalog_credential: set only for a REST catalog"),
    ],
)
def test_bad_lake_settings_fail_at_start_up_without_showing_a_secret(extra: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(env={**S3, **extra})
    assert message in str(caught.value)
    assert SECRET not in str(caught.value)


def test_a_rest_catalog_takes_any_warehouse_name_and_a_credential() -> None:
    settings = load_settings(
        env={
            "CLICKLAKE_LAKE__CATALOG_URI": "https://catalog.example/api",
            "CLICKLAKE_LAKE__WAREHOUSE": "analytics",
            "CLICKLAKE_LAKE__CATALOG_CREDENTIAL": "id:" + SECRET,
        }
    )
    assert settings.lake.warehouse == "analytics"
    assert shown("lake.catalog_credential", settings.lake.catalog_credential) == "********"
    assert shown("lake.catalog_credential", "") == ""  # unset is told as unset
    assert shown("lake", {"s3_secret_access_key": SECRET, "warehouse": "x"}) == {
        "s3_secret_access_key": "********",
        "warehouse": "x",
    }


def test_locations() -> None:
    assert is_local("/data/warehouse/x.parquet") and is_local("file:///data/x.parquet")
    assert not is_local("s3://b/k") and is_object_store("s3://b/k") and is_object_store("s3a://b/k")
    assert not is_object_store("gs://b/k")
