-- POST /api/v1/ad-request with a request_id never used before (`<run prefix>-<thread>-<n>`).
local report = require("report")
setup, done = report.setup, report.done

local prefix
local sent = 0

function init(args)
  prefix = args[1] .. "-" .. id .. "-"
  wrapped = 0
  late = 0
end

function request()
  sent = sent + 1
  local body = '{"request_id": "' .. prefix .. sent .. '", "duration": 30}'
  return wrk.format("POST", nil, {["Content-Type"] = "application/json"}, body)
end
