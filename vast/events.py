"""Linear tracking event names accepted by each VAST schema (TrackingEvents_type enumerations)."""

from collections.abc import Mapping

VAST30_EVENTS = frozenset(
    {
        "creativeView",
        "start",
        "firstQuartile",
        "midpoint",
        "thirdQuartile",
        "complete",
        "mute",
        "unmute",
        "pause",
        "rewind",
        "resume",
        "fullscreen",
        "exitFullscreen",
        "expand",
        "collapse",
        "acceptInvitation",
        "close",
        "skip",
        "progress",
        "acceptInvitationLinear",
        "closeLinear",
    }
)

VAST40_EVENTS = frozenset(
    {
        "mute",
        "unmute",
        "pause",
        "resume",
        "rewind",
        "skip",
        "playerExpand",
        "playerCollapse",
        "start",
        "firstQuartile",
        "midpoint",
        "thirdQuartile",
        "complete",
        "acceptInvitationLinear",
        "timeSpentViewing",
        "progress",
        "creativeView",
        "acceptInvitation",
        "adExpand",
        "adCollapse",
        "minimize",
        "close",
        "overlayViewDuration",
        "otherAdInteraction",
    }
)

VAST41_EVENTS = (VAST40_EVENTS - {"acceptInvitationLinear", "timeSpentViewing"}) | {"loaded", "closeLinear"}

VAST42_EVENTS = VAST41_EVENTS | {"interactiveStart"}

ALL_EVENTS = VAST30_EVENTS | VAST40_EVENTS | VAST41_EVENTS | VAST42_EVENTS

# VAST 4.0 replaced fullscreen/exitFullscreen with playerExpand/playerCollapse; a tracker
# registered under either name keeps firing whatever version the player asks for.
_EQUIVALENT = {
    "fullscreen": "playerExpand",
    "exitFullscreen": "playerCollapse",
    "playerExpand": "fullscreen",
    "playerCollapse": "exitFullscreen",
}


def event_names_for(accepted: frozenset[str]) -> Mapping[str, str]:
    """Map every known event to the name a schema accepting `accepted` knows it by.

    Events that the schema cannot express are absent, so the renderer leaves them out.
    """
    names = {event: event for event in accepted}
    for event, equivalent in _EQUIVALENT.items():
        if event not in accepted and equivalent in accepted:
            names[event] = equivalent
    return names
