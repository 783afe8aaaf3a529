-- Signed webhook deliveries, open-ended: $WRK_REQUESTS holds one
-- "path<TAB>stripe-signature<TAB>payload" per line; thread n of $WRK_THREADS sends lines
-- n, n + threads, ... in turn, as fast as the server answers, each line once (the
-- thread starts over at its first line when it has sent them all: the benchmark gives
-- enough lines that the app never sees one twice, and counts what was applied).
local requests_path = os.getenv("WRK_REQUESTS")
local thread_count = tonumber(os.getenv("WRK_THREADS"))
local started = 0

function setup(thread)
  thread:set("thread_index", started)
  started = started + 1
end

local mine = {}
local position = 0

function init(args)
  local number = 0
  for line in io.lines(requests_path) do
    if number % thread_count == thread_index then
      local path, signature, payload = line:match("^([^\t]*)\t([^\t]*)\t(.*)$")
      mine[#mine + 1] = wrk.format("POST", path, {
        ["Content-Type"] = "application/json; charset=utf-8",
        ["Stripe-Signature"] = signature,
      }, payload)
    end
    number = number + 1
  end
end

function request()
  position = position % #mine + 1
  return mine[position]
end
