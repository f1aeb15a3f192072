"""The Redis record script: many writes of the event store in one call (one round trip, one fsync).

Each write is one counted event, or an SDK answer with its ad request (`POST /api/v1/ad-request`): the
answer stored unless one exists, and the request recorded only when ours was stored. An event is
deduplicated once per ad serving id and `Event.key` (a seen-hash per ad), added to the stream, and an
impression adds its cost to its campaign's live spend, itself to its campaign's live delivery (in total, and
the spend and impressions of its UTC day: app.serving.pacing) and to its device's frequency-cap history
(app.tracking.frequency).

Every write is its own: the script checks a write's keys before it writes anything for it, and a write that
fails (a key holding another type) gets an error of its own in the script's answer while the others of its
call are made. Every key is passed in KEYS, and all keys of one call share a hash slot (Redis Cluster
refuses a script whose keys do not): a batch is one call per event shard it holds writes of
(app.tracking.shards), all sent in one pipeline: one round trip on a single Redis, one per primary
concerned, in parallel, on a cluster. With `REDIS_WAIT_REPLICAS` each primary's calls are followed by
`WAIT` on the same connection (WAIT covers the writes of its own connection only: Redis docs, WAIT).

Layout. KEYS[1] the shard's stream, then each write's keys in turn; ARGV[1] the dedupe TTL, then for each
write its kind, its number of keys, its number of arguments, and those arguments:
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
from redis.cluster import RedisCluster
from redis.exceptions import NoScriptError

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
    """One write of a batch: its kind (`e` or `a`), keys and arguments as the layout above says, and the
    event shard its keys are in (app.tracking.shards)."""

    kind: str
    keys: tuple[str, ...]
    args: tuple
    shard: int = 0


Result = int | list | redis.RedisError


class RecordScript:
    """Sends batches of writes: one EVALSHA per shard, followed by `WAIT` in the same round trip when the
    store waits for replicas (`REDIS_WAIT_REPLICAS`). `streams[n]` is shard n's stream."""

    def __init__(self, client: redis.Redis, streams: list[str], dedupe_seconds: int, wait_replicas: int = 0):
        self.client = client
        self.streams = streams
        self.dedupe_seconds = dedupe_seconds
        self.wait_replicas = wait_replicas
        self.cluster = isinstance(client, RedisCluster)
        self.script = client.register_script(RECORD_SCRIPT)

    def send(self, writes: list[Write]) -> list[Result]:
        """One result per write (see the layout), a RedisError for a write that failed alone or with its
        shard's call (WaitShort when replicas were waited for and fewer than `wait_replicas` took a call
        that counted something: then nothing of it may be acknowledged). Raises redis.RedisError when the
        round trip failed as a whole."""
        if len(self.streams) == 1 and not self.cluster:  # one call, as cheap as a store without shards
            return self._single(writes)
        by_shard: dict[int, list[int]] = {}
        for index, write in enumerate(writes):
            by_shard.setdefault(write.shard, []).append(index)
        results: list[Result] = [None] * len(writes)  # type: ignore[list-item]
        calls = {
            shard: self._arguments(shard, [writes[i] for i in indexes]) for shard, indexes in by_shard.items()
        }
        answers = self._pipelined(calls)
        missing = [shard for shard, answer in answers.items() if isinstance(answer, NoScriptError)]
        if missing:  # a failover or restart lost the script cache: none of those calls ran
            self._load()
            answers.update(self._pipelined({shard: calls[shard] for shard in missing}))
        for shard, indexes in by_shard.items():
            answer = answers[shard]
            for position, index in enumerate(indexes):
                results[index] = answer if isinstance(answer, Exception) else answer[position]
        return results

    def _arguments(self, shard: int, writes: list[Write]) -> tuple[list, list]:
        keys = [self.streams[shard]]
        args: list = [self.dedupe_seconds]
        for write in writes:
            keys += write.keys
            args += (write.kind, len(write.keys), len(write.args), *write.args)
        return keys, args

    def _single(self, writes: list[Write]) -> list[Result]:
        keys, args = self._arguments(0, writes)
        try:
            return self._call(keys, args)
        except NoScriptError:  # Redis restarted or flushed its scripts: nothing ran
            self._load()
            return self._call(keys, args)

    def _load(self) -> None:
        self.script.sha = self.client.script_load(RECORD_SCRIPT)

    def _call(self, keys: list, args: list) -> list:
        if not self.wait_replicas:
            return self.client.evalsha(self.script.sha, len(keys), *keys, *args)
        pipe = self.client.pipeline(transaction=False)
        pipe.evalsha(self.script.sha, len(keys), *keys, *args)
        pipe.wait(self.wait_replicas, WAIT_MS)
        results, acked = pipe.execute()
        self._check_wait(acked, results)
        return results

    def _check_wait(self, acked, results: list) -> None:
        if acked < self.wait_replicas and any(result == COUNTED for result in results):
            raise WaitShort(f"only {acked} of {self.wait_replicas} Redis replicas took the batch")

    def _pipelined(self, calls: dict[int, tuple[list, list]]) -> dict[int, list | Exception]:
        """{shard: its call's answer, or the exception that failed it}, in one pipeline. On a cluster each
        primary gets its calls then its WAIT, and nothing is redirected or retried command by command (a
        call sent again alone would not be covered by its WAIT): a moved slot fails its calls, and the
        slot map is read again for the next batch."""
        pipe = self.client.pipeline(transaction=False)
        nodes: dict[str, list[int]] = {}
        for shard, (keys, args) in calls.items():
            pipe.execute_command("EVALSHA", self.script.sha, len(keys), *keys, *args)  # evalsha(): blocked
            node = self.client.get_node_from_key(keys[0]).name if self.cluster else ""
            nodes.setdefault(node, []).append(shard)
        if self.wait_replicas:
            for node in nodes:
                if self.cluster:
                    pipe.execute_command(
                        "WAIT", self.wait_replicas, WAIT_MS, target_nodes=self.client.get_node(node_name=node)
                    )
                else:
                    pipe.wait(self.wait_replicas, WAIT_MS)
        if self.cluster:
            stack = pipe._execution_strategy.command_queue  # redis-py's only way to turn redirections off
            try:
                replies = pipe.send_cluster_commands(stack, raise_on_error=False, allow_redirections=False)
            finally:
                pipe.reset()
            if any(isinstance(reply, _STALE_MAP) for reply in replies):
                self.client.nodes_manager.initialize()
        else:
            replies = pipe.execute(raise_on_error=False)
        answers = dict(zip(calls, replies, strict=False))
        for position, shards in enumerate(nodes.values()):
            acked = replies[len(calls) + position] if self.wait_replicas else None
            for shard in shards:
                answer = answers[shard]
                if acked is None or isinstance(answer, Exception):
                    continue
                if isinstance(acked, Exception):
                    answers[shard] = acked
                    continue
                try:
                    self._check_wait(acked, answer)
                except WaitShort as exc:
                    answers[shard] = exc
        return answers


WAIT_MS = 1000
_STALE_MAP = (
    redis.exceptions.MovedError,
    redis.exceptions.AskError,
    redis.ConnectionError,
    redis.TimeoutError,
)


class WaitShort(redis.RedisError):
    """Fewer replicas than REDIS_WAIT_REPLICAS acknowledged a batch: a failover could lose it."""
