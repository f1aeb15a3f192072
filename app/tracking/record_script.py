"""The Redis record script: many writes of the event store in one call (one round trip, one fsync).

Each write is one counted event, or an SDK answer with its ad request (`POST /api/v1/ad-request`): the
answer stored unless one exists, and the request recorded only when ours was stored. An event is
deduplicated once per ad serving id and `Event.key` (a seen-hash per ad), added to the stream, and an
impression adds its cost to its campaign's live spend, itself to its campaign's live delivery (in total, and
the spend and impressions of its UTC day: app.serving.pacing) and to its device's frequency-cap history
(app.tracking.frequency).

Every write is its own: the script checks a write's keys before it writes anything for it, and a write that
fails (a key holding another type) gets an error of its own in the script's answer while the others of its
call are made. Every key is passed in KEYS (Redis Cluster needs a script's keys to share a hash slot: a
batch would then be made per slot).

Layout. KEYS[1] the stream, then each write's keys in turn; ARGV[1] the dedupe TTL, then for each write its
kind, its number of keys, its number of arguments, and those arguments:
- `e`, an event: keys seen-hash, campaign spend, campaign delivery hash [, device history]; arguments event
  key, cost units, the encoded event, the impression's UTC day ('' for other events) [, CapCount.script_args].
- `a`, an answer then its event: the answer's key, then an event's keys; the answer and its TTL in seconds,
  then the event's arguments.
The answer: per write, 1 (counted, or ours stored and recorded), 0 (already counted), a one-element array
holding the answer stored before (`a`), or an error reply.
"""

from __future__ import annotations

from dataclasses import dataclass

import redis

from app.tracking.frequency import HISTORY_LUA

COUNTED = 1  # a write's result: counted (an event), or ours stored and recorded (an answer)

RECORD_SCRIPT = (
    HISTORY_LUA
    + """
local stream, dedupe = KEYS[1], ARGV[1]

local function check(key, kind)
  local found = redis.call('TYPE', key)['ok']
  if found ~= 'none' and found ~= kind then error(key .. ' holds a ' .. found .. ', not a ' .. kind, 0) end
end

-- The event whose keys start at keys[k] and arguments at args[a].
local function check_event(keys, k)
  check(stream, 'stream')
  check(keys[k], 'hash')
  check(keys[k + 1], 'string')
  check(keys[k + 2], 'hash')
  if keys[k + 3] then check(keys[k + 3], 'hash') end
end

local function record(keys, k, args, a)
  if redis.call('HSETNX', keys[k], args[a], '1') == 0 then return 0 end
  redis.call('EXPIRE', keys[k], dedupe)
  redis.call('XADD', stream, '*', 'e', args[a + 2])
  if tonumber(args[a + 1]) > 0 then redis.call('INCRBY', keys[k + 1], args[a + 1]) end
  local day = args[a + 3]
  if day ~= '' then
    redis.call('HINCRBY', keys[k + 2], 'impressions', 1)
    redis.call('HINCRBY', keys[k + 2], 'impressions:' .. day, 1)
    redis.call('HINCRBY', keys[k + 2], 'spend:' .. day, args[a + 1])
  end
  if keys[k + 3] then add_to_history(keys[k + 3], args, a + 4) end
  return 1
end

local function write(kind, keys, args)
  if kind == 'e' then
    check_event(keys, 1)
    return record(keys, 1, args, 1)
  end
  check(keys[1], 'string')
  check_event(keys, 2)
  if not redis.call('SET', keys[1], args[1], 'NX', 'EX', args[2]) then return {redis.call('GET', keys[1])} end
  record(keys, 2, args, 3)
  return 1
end

local results, k, a = {}, 2, 2
while a <= #ARGV do
  local kind, key_count, arg_count = ARGV[a], tonumber(ARGV[a + 1]), tonumber(ARGV[a + 2])
  local keys, args = {}, {}
  for i = 1, key_count do keys[i] = KEYS[k + i - 1] end
  for i = 1, arg_count do args[i] = ARGV[a + 2 + i] end
  k, a = k + key_count, a + 3 + arg_count
  local ok, result = pcall(write, kind, keys, args)
  if ok then
    results[#results + 1] = result
  else
    results[#results + 1] = redis.error_reply(type(result) == 'table' and result['err'] or tostring(result))
  end
end
return results
"""
)


@dataclass(frozen=True, slots=True)
class Write:
    """One write of a batch: its kind (`e` or `a`), keys and arguments as the layout above says."""

    kind: str
    keys: tuple[str, ...]
    args: tuple


class RecordScript:
    """Sends batches of writes: one EVALSHA, followed by `WAIT` in the same round trip when the store
    waits for replicas (`REDIS_WAIT_REPLICAS`)."""

    def __init__(self, client: redis.Redis, stream: str, dedupe_seconds: int, wait_replicas: int = 0):
        self.client = client
        self.stream = stream
        self.dedupe_seconds = dedupe_seconds
        self.wait_replicas = wait_replicas
        self.script = client.register_script(RECORD_SCRIPT)

    def send(self, writes: list[Write]) -> list[int | list | redis.ResponseError]:
        """One result per write (see the layout), a ResponseError for a write that failed alone. Raises
        redis.RedisError when the call failed as a whole, and WaitShort when replicas were waited for and
        fewer than `wait_replicas` took the batch: then nothing of it may be acknowledged."""
        keys = [self.stream]
        args: list = [self.dedupe_seconds]
        for write in writes:
            keys += write.keys
            args += (write.kind, len(write.keys), len(write.args), *write.args)
        try:
            return self._call(keys, args)
        except redis.exceptions.NoScriptError:  # Redis restarted or flushed its scripts: nothing ran
            self.script.sha = self.client.script_load(RECORD_SCRIPT)
            return self._call(keys, args)

    def _call(self, keys: list, args: list) -> list:
        if not self.wait_replicas:
            return self.client.evalsha(self.script.sha, len(keys), *keys, *args)
        pipe = self.client.pipeline(transaction=False)
        pipe.evalsha(self.script.sha, len(keys), *keys, *args)
        pipe.wait(self.wait_replicas, 1000)
        results, acked = pipe.execute()
        if acked < self.wait_replicas and any(result == COUNTED for result in results):
            raise WaitShort(f"only {acked} of {self.wait_replicas} Redis replicas took the batch")
        return results


class WaitShort(redis.RedisError):
    """Fewer replicas than REDIS_WAIT_REPLICAS acknowledged a batch: a failover could lose it."""
