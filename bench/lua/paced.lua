-- lines.lua at a fixed offered rate (requests per second per thread, the second argument): each request
-- takes the next slot of a schedule shared by the thread's connections, whatever the previous answers did.
-- A slot taken after its time is counted as `late` (the rate was not held).
require("lines")
local ffi = require("ffi")
ffi.cdef [[
  typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
  int clock_gettime(int clock, bench_timespec *now);
]]
local CLOCK_MONOTONIC = 1
local clock = ffi.new("bench_timespec")
local lines_init = init
local interval_ms, next_ms

local function now_ms()
  ffi.C.clock_gettime(CLOCK_MONOTONIC, clock)
  return tonumber(clock.tv_sec) * 1000 + tonumber(clock.tv_nsec) / 1e6
end

function init(args)
  lines_init(args)
  interval_ms = 1000 / tonumber(args[2])
  next_ms = now_ms()
end

function delay()
  local wait = next_ms - now_ms()
  next_ms = next_ms + interval_ms
  if wait < -1 then
    late = late + 1
  end
  return math.max(0, math.floor(wait))
end
