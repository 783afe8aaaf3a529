-- Open-ended load: POSTs the requests listed in $WRK_REQUESTS (one "path<TAB>body" per
-- line) round robin, each with a fresh Idempotency-Key, as fast as the server answers.
local requests_path = os.getenv("WRK_REQUESTS")
local run_id = os.getenv("WRK_RUN_ID") or "wrk"
local started = 0

function setup(thread)
  thread:set("thread_index", started)
  started = started + 1
end

local items = {}
local sent = 0

function init(args)
  for line in io.lines(requests_path) do
    local tab = line:find("\t", 1, true)
    items[#items + 1] = { line:sub(1, tab - 1), line:sub(tab + 1) }
  end
end

function request()
  sent = sent + 1
  local item = items[(thread_index * 7 + sent) % #items + 1]
  return wrk.format("POST", item[1], {
    ["Content-Type"] = "application/json",
    ["Idempotency-Key"] = run_id .. "-" .. thread_index .. "-" .. sent,
  }, item[2])
end
