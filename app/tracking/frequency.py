"""Devices' impression histories, for frequency caps: written with the impression, read by serving.

One history per device key (already a keyed hash, app.serving.caps): in Redis the hash `<prefix>cap:<key>`,
a field per capped campaign (`c:<campaign id>`) and advertiser (`a:<advertiser id>`), each the
space-separated times (whole seconds, oldest first) of the device's latest impressions of it: at most the
largest `max_impressions` of its rules, none older than its longest window. The hash expires after the
longest window of what it holds. The event store's record script appends to it in the same call that
deduplicates the impression (app.tracking.events), so a repeated beacon never counts twice; serving reads
it with HGETALL, in the request's one Redis round trip. Without Redis, MemoryHistories keeps the same in
the process.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass

MAX_DEVICES_IN_MEMORY = 500_000
History = Mapping[str, tuple[float, ...]]  # field -> impression times, oldest first


@dataclass(frozen=True, slots=True)
class CapCount:
    """What one impression adds to its device's history: for each field, the oldest time still worth
    keeping and how many times at most; the history then lives `ttl_seconds`."""

    device: str
    fields: tuple[tuple[str, float, int], ...]
    ttl_seconds: int

    def script_args(self, at: float) -> list:
        """The record script's history arguments (app.tracking.record_script): the time, the TTL, then
        field, oldest, keep for each field."""
        args: list = [int(at), self.ttl_seconds]
        for name, oldest, keep in self.fields:
            args += [name, int(oldest), keep]
        return args


# A function of the record script (app.tracking.record_script), called once the impression is known to be
# new: `key` is the history, args[first] the impression's time, args[first + 1] the TTL, then
# (field, oldest, keep) triples to the end of args.
HISTORY_LUA = """
local function add_to_history(key, args, first)
  local at = tonumber(args[first])
  for i = first + 2, #args, 3 do
    local oldest, keep = tonumber(args[i + 1]), tonumber(args[i + 2])
    local times = {at}
    for t in string.gmatch(redis.call('HGET', key, args[i]) or '', '%d+') do
      if tonumber(t) >= oldest then times[#times + 1] = tonumber(t) end
    end
    table.sort(times)
    local first_kept = math.max(1, #times - keep + 1)
    local kept = {}
    for j = first_kept, #times do kept[#kept + 1] = string.format('%d', times[j]) end
    redis.call('HSET', key, args[i], table.concat(kept, ' '))
  end
  if redis.call('TTL', key) < tonumber(args[first + 1]) then redis.call('EXPIRE', key, args[first + 1]) end
end
"""


def history_key(prefix: str, device: str) -> str:
    return f"{prefix}cap:{device}"


def decode_history(raw: Mapping) -> dict[str, tuple[float, ...]]:
    """A history as HGETALL returns it."""
    return {_text(name): tuple(float(t) for t in _text(times).split()) for name, times in raw.items()}


def _text(value) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


class MemoryHistories:
    """The embedded default: the same histories in the process, at most `max_devices` (least recently
    counted dropped first), each forgotten `ttl_seconds` after its last impression."""

    def __init__(self, max_devices: int = MAX_DEVICES_IN_MEMORY):
        self.max_devices = max_devices
        self._lock = threading.Lock()
        self._devices: OrderedDict[str, tuple[float, dict[str, tuple[float, ...]]]] = OrderedDict()

    def add(self, count: CapCount, at: float) -> None:
        at = float(int(at))
        with self._lock:
            expires, fields = self._devices.pop(count.device, (0.0, {}))
            if expires <= at:
                fields = {}
            for name, oldest, keep in count.fields:
                times = sorted((*(t for t in fields.get(name, ()) if t >= int(oldest)), at))
                fields[name] = tuple(times[-keep:])
            self._devices[count.device] = (max(expires, at + count.ttl_seconds), fields)
            while len(self._devices) > self.max_devices:
                self._devices.popitem(last=False)

    def get(self, device: str, now: float) -> History:
        with self._lock:
            expires, fields = self._devices.get(device, (0.0, {}))
            return dict(fields) if expires > now else {}
