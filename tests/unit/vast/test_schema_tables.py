"""The renderer's hand-written tables agree with the shipped XSDs."""

import inspect

import pytest
from lxml import etree

import vast.render
import vast.validate
from vast.events import ALL_EVENTS, VAST30_EVENTS, VAST40_EVENTS, VAST41_EVENTS, VAST42_EVENTS
from vast.macros import URL_ELEMENTS
from vast.validate import SCHEMA_DIR

XS = {"xs": "http://www.w3.org/2001/XMLSchema"}


def schema(name: str) -> etree._ElementTree:
    return etree.parse(str(SCHEMA_DIR / name))


@pytest.mark.parametrize(
    ("name", "events"),
    [
        ("vast3_draft.xsd", VAST30_EVENTS),
        ("vast4.xsd", VAST40_EVENTS),
        ("vast_4.1.xsd", VAST41_EVENTS),
        ("vast_4.2.xsd", VAST42_EVENTS),
    ],
)
def test_event_tables_match_the_schema_enumerations(name, events):
    path = "//xs:complexType[@name='TrackingEvents_type']//xs:attribute[@name='event']//xs:enumeration/@value"
    assert set(schema(name).xpath(path, namespaces=XS)) == events


def test_all_events_is_the_union():
    assert ALL_EVENTS == VAST30_EVENTS | VAST40_EVENTS | VAST41_EVENTS | VAST42_EVENTS


def test_url_elements_are_the_any_uri_elements_of_the_schemas():
    found = set()
    for name in ("vast3_draft.xsd", "vast4.xsd", "vast_4.1.xsd", "vast_4.2.xsd"):
        tree = schema(name)
        uri_types = set(
            tree.xpath(
                "//xs:complexType[@name][xs:simpleContent/xs:extension[@base='xs:anyURI']]/@name",
                namespaces=XS,
            )
        )
        for element in tree.xpath("//xs:element[@name]", namespaces=XS):
            declared_type = element.get("type", "").rpartition(":")[2]
            inline_uri = element.xpath(
                "xs:complexType/xs:simpleContent/xs:extension[@base='xs:anyURI']", namespaces=XS
            )
            if declared_type == "anyURI" or declared_type in uri_types or inline_uri:
                found.add(element.get("name"))
    assert found == URL_ELEMENTS


def test_submodules_are_not_shadowed_by_functions():
    assert inspect.ismodule(vast.render)
    assert inspect.ismodule(vast.validate)
