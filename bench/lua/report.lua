-- Shared by the bench's wrk scripts: numbers each thread, and prints one machine-readable line at the end.
local report = {}
local threads = {}

function report.setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end

local function total(name)
  local sum = 0
  for _, thread in ipairs(threads) do
    sum = sum + (thread:get(name) or 0)
  end
  return sum
end

function report.done(summary, latency, requests)
  local errors = summary.errors
  io.write(string.format(
    'BENCH_RESULT {"requests": %d, "duration_us": %d, "p50_us": %d, "p99_us": %d, "max_us": %d, '
      .. '"errors": {"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}, '
      .. '"wrapped": %d, "late": %d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99), latency.max,
    errors.connect, errors.read, errors.write, errors.status, errors.timeout,
    total("wrapped"), total("late")))
end

return report
