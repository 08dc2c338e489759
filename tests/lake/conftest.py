"""The session fixture `weed` (one SeaweedFS, S3 and Iceberg REST) moved to tests/conftest.py, so that tests
outside tests/lake (the scale-out test in tests/e2e) use the same server; its helpers stay in tests/seaweedfs.py."""
