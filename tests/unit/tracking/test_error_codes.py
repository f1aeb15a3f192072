"""Error beacons' codes as recorded (app.tracking.normalise): never dropped, whatever the player sent."""

import pytest

from app.tracking.events import Event
from app.tracking.normalise import error_code


@pytest.mark.parametrize(
    ("sent", "recorded"),
    [
        ("405", "405"),
        (" 402 ", "402"),
        ("0405", "405"),
        ("1009", "1009"),  # a player's own code: kept
        ("[ERRORCODE]", "unexpanded"),
        ("%5BERRORCODE%5D", "unexpanded"),
        ("%%ERRORCODE%%", "unexpanded"),
        ("", "unknown"),
        (None, "unknown"),
        ("4o5", "unknown"),
        ("12345", "unknown"),
        ("unexpanded", "unexpanded"),  # decoded again by the flusher: unchanged
    ],
)
def test_an_error_code_is_normalised(sent, recorded):
    assert error_code(sent) == recorded
    event = Event(name="error", ad_serving_id="a", occurred_at=1.0, error_code=sent)
    assert event.error_code == recorded
    assert Event.decode(event.encode()).error_code == recorded
    assert event.key == f"error:{recorded}"  # one per code and ad serving id
