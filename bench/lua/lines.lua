-- GET each line of this thread's file in turn (`<prefix>.<thread>`): one unique beacon token per request.
-- Starting over at the end of the file is counted as `wrapped` (the tokens were then used twice).
local report = require("report")
setup, done = report.setup, report.done

local file

function init(args)
  file = assert(io.open(args[1] .. "." .. id, "r"))
  wrapped = 0
  late = 0
end

function request()
  local path = file:read("*l")
  if not path then
    wrapped = wrapped + 1
    file:seek("set")
    path = assert(file:read("*l"), "empty lines file")
  end
  return wrk.format("GET", path)
end
