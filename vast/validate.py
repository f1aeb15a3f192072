"""Validate VAST documents against the official IAB XSDs shipped in vast/schemas/."""

import functools
from pathlib import Path

from lxml import etree

from vast.macros import percent_encode_macros_in_tree

SCHEMA_DIR = Path(__file__).parent / "schemas"

SCHEMA_FILES = {
    "3.0": "vast3_draft.xsd",
    "4.0": "vast4.xsd",
    "4.1": "vast_4.1.xsd",
    "4.2": "vast_4.2.xsd",
    "4.3": "vast_4.2.xsd",  # no 4.3 XSD is published
}


class VastValidationError(ValueError):
    """The document is not well-formed or does not match its version's schema."""


def validate(xml: bytes, version: str) -> None:
    """Raise VastValidationError unless `xml` is valid against the schema for `version`.

    URL macros are percent-encoded first (see `vast.macros.percent_encode_macros`).
    """
    if version not in SCHEMA_FILES:
        raise ValueError(f"no schema for VAST version {version!r}; known: {', '.join(SCHEMA_FILES)}")
    schema = _load_schema(SCHEMA_FILES[version])
    try:
        root = etree.fromstring(xml, etree.XMLParser(resolve_entities=False))
    except etree.XMLSyntaxError as error:
        raise VastValidationError(f"not well-formed XML: {error}") from error
    percent_encode_macros_in_tree(root)
    if not schema.validate(root):
        raise VastValidationError(str(schema.error_log))


@functools.cache
def _load_schema(filename: str) -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(SCHEMA_DIR / filename)))
