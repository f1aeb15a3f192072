"""VAST error codes (vast.errors): exactly the codes of the specification, each with its meaning."""

import pytest

from vast.errors import ERROR_CODES, UNEXPANDED, UNKNOWN, meaning

# VAST 3.0 §2.4.2.3, and the 4.x additions (VAST 4.2 §2.3.6.3): 204-206, 304, 406-411, 902.
VAST_3 = {100, 101, 102, 200, 201, 202, 203, 300, 301, 302, 303, 400, 401, 402, 403, 405}
VAST_3 |= {500, 501, 502, 503, 600, 601, 602, 603, 604, 900, 901}
VAST_4 = {204, 205, 206, 304, 406, 407, 408, 409, 410, 411, 902}


def test_the_table_holds_the_specifications_codes_and_no_other():
    assert set(ERROR_CODES) == VAST_3 | VAST_4
    assert all(text.endswith(".") and len(text) > 10 for text in ERROR_CODES.values())


@pytest.mark.parametrize(
    ("code", "words"),
    [
        ("100", "XML parsing error."),
        ("405", "Problem displaying MediaFile"),
        ("410", "Verification unit in the Verification node was not executed."),
        ("408", "Conditional ad rejected (deprecated along with conditionalAd)."),
        ("411", "Mezzanine was provided as required, but file did not meet required specification."),
        ("407", "Download may take several hours."),
        ("902", "InteractiveCreativeFile"),
        ("404", "Not a VAST error code"),  # not defined: 403 and 405 are
        ("1009", "Not a VAST error code"),
        (UNEXPANDED, "did not replace the [ERRORCODE] macro"),
        (UNKNOWN, "No error code"),
    ],
)
def test_every_recorded_code_has_a_meaning(code, words):
    assert words in meaning(code)
