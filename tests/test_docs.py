"""The generated docs match the code, and the prose names what the code has."""

from __future__ import annotations

from pathlib import Path

from clicklake import _docs
from clicklake.config import settings_table
from clicklake.schema import EVENT_TYPES

ROOT = Path(__file__).resolve().parents[1]


def test_generated_docs_are_current() -> None:
    stale = [str(p.relative_to(ROOT)) for p, content in _docs.expected().items() if p.read_bytes() != content]
    assert not stale, f"run `make docs`: {stale} differ from the code"


def test_every_setting_is_in_the_configuration_doc() -> None:
    text = (ROOT / "docs" / "configuration.md").read_text()
    for doc in settings_table():
        assert f"`{doc.key}`" in text and f"`{doc.env}`" in text


def test_contract_doc_describes_every_event_type() -> None:
    text = (ROOT / "docs" / "contract.md").read_text()
    for event_type in EVENT_TYPES:
        assert f"`{event_type}`" in text, event_type


def test_readme_quick_start_is_two_commands() -> None:
    text = (ROOT / "README.md").read_text()
    assert "make up" in text and "make test" in text and "http://127.0.0.1:8000" in text
