import hashlib
import re

import pytest
from lxml import etree

from vast import SUPPORTED_VERSIONS, VastValidationError, vmap
from vast.render import render
from vast.validate import SCHEMA_DIR, SCHEMA_FILES, _load_schema, validate

SAMPLES = [
    "vast3.0_Inline_Linear_Tag-test.xml",
    "vast4.0_Inline_Simple.xml",
    "vast4.1_Inline_Simple.xml",
    "vast4.2_Inline_Simple.xml",
    "vast4.2_Wrapper_Tag-test.xml",
]


@pytest.mark.parametrize("name", SAMPLES)
def test_official_iab_samples_are_valid(samples_dir, name):
    xml = (samples_dir / name).read_bytes()
    validate(xml, etree.fromstring(xml).get("version"))


@pytest.mark.parametrize("name", SAMPLES)
def test_official_samples_fail_against_another_major_version(samples_dir, name):
    xml = (samples_dir / name).read_bytes()
    other = "4.2" if name.startswith("vast3") else "3.0"
    with pytest.raises(VastValidationError):
        validate(xml, other)


def test_every_supported_version_has_a_schema():
    assert set(SCHEMA_FILES) == set(SUPPORTED_VERSIONS)
    assert SCHEMA_FILES["4.3"] == SCHEMA_FILES["4.2"]


def test_schemas_are_the_published_files():
    """The shipped XSDs (VAST's and VMAP's) match the SHA-256 sums recorded in SOURCE.md."""
    source = (SCHEMA_DIR / "SOURCE.md").read_text()
    recorded = {name: digest for digest, name in re.findall(r"^([0-9a-f]{64})  (\S+)$", source, re.M)}
    assert set(recorded) == {*SCHEMA_FILES.values(), vmap.SCHEMA_FILE.name}
    for name, digest in recorded.items():
        assert hashlib.sha256((SCHEMA_DIR / name).read_bytes()).hexdigest() == digest


def test_schemas_are_loaded_once():
    assert _load_schema("vast_4.2.xsd") is _load_schema("vast_4.2.xsd")


def test_schema_violation_raises_with_the_lxml_message(full_ad):
    root = etree.fromstring(render(full_ad, "4.2"))
    inline = root[0][0]
    inline.remove(inline.find("{http://www.iab.com/VAST}AdTitle"))
    with pytest.raises(VastValidationError, match="AdTitle"):
        validate(etree.tostring(root), "4.2")


def test_hand_made_invalid_document_raises():
    xml = b'<VAST version="3.0"><Ad id="1"><InLine><AdTitle>no AdSystem</AdTitle></InLine></Ad></VAST>'
    with pytest.raises(VastValidationError, match=r"AdTitle.*not expected"):
        validate(xml, "3.0")


def test_missing_id_value_is_invalid_in_4_0(full_ad):
    root = etree.fromstring(render(full_ad, "4.0"))
    del root.find(".//{http://www.iab.com/VAST}UniversalAdId").attrib["idValue"]
    with pytest.raises(VastValidationError, match="idValue"):
        validate(etree.tostring(root), "4.0")


@pytest.mark.parametrize("version", SUPPORTED_VERSIONS)
def test_document_of_another_version_is_rejected(full_ad, version):
    other = "3.0" if version != "3.0" else "4.2"
    with pytest.raises(VastValidationError):
        validate(render(full_ad, other), version)


def test_not_well_formed_xml_raises():
    with pytest.raises(VastValidationError, match="not well-formed"):
        validate(b"<VAST version='4.2'><Ad>", "4.2")


def test_unknown_version_raises_value_error():
    with pytest.raises(ValueError, match=r"known: 3\.0, 4\.0, 4\.1, 4\.2, 4\.3"):
        validate(render(None), "2.0")


def test_raw_macros_need_the_percent_encoding(full_ad):
    xml = render(full_ad, "4.2")
    validate(xml, "4.2")
    schema = etree.XMLSchema(etree.parse(str(SCHEMA_DIR / "vast_4.2.xsd")))
    assert not schema.validate(etree.fromstring(xml))
    assert "anyURI" in str(schema.error_log)
