-- Webhook storm: one connection per thread; thread n of $WRK_THREADS posts lines n,
-- n + threads, ... of $WRK_REQUESTS ("path<TAB>stripe-signature<TAB>payload" per line),
-- each until it gets a 2xx (Stripe retries a delivery that did not; so do we, with a
-- back-off, at most 20 times). Each final answer goes to $WRK_OUT/<thread>.tsv
-- ("status<TAB>body"); the file appears when the thread is done, and the thread stops.
local requests_path = os.getenv("WRK_REQUESTS")
local out_dir = os.getenv("WRK_OUT")
local thread_count = tonumber(os.getenv("WRK_THREADS"))
local started = 0

function setup(thread)
  thread:set("thread_index", started)
  started = started + 1
end

local mine = {}
local position = 1
local attempts = 0
local backoff = 0
local finished = false
local lines = {}

function init(args)
  local number = 0
  for line in io.lines(requests_path) do
    if number % thread_count == thread_index then
      local path, signature, payload = line:match("^([^\t]*)\t([^\t]*)\t(.*)$")
      mine[#mine + 1] = { path, signature, payload }
    end
    number = number + 1
  end
end

local function finish()
  finished = true
  local part = out_dir .. "/" .. thread_index .. ".part"
  local out = assert(io.open(part, "w"))
  out:write(table.concat(lines))
  out:close()
  os.rename(part, out_dir .. "/" .. thread_index .. ".tsv")
  wrk.thread:stop()
end

function delay()
  return backoff
end

function request()
  local delivery = mine[position]
  if delivery == nil then
    return wrk.format("GET", "/healthz")   -- nothing (left) to deliver; stopping
  end
  return wrk.format("POST", delivery[1], {
    ["Content-Type"] = "application/json; charset=utf-8",
    ["Stripe-Signature"] = delivery[2],
  }, delivery[3])
end

function response(status, headers, body)
  if finished then
    return
  end
  if mine[position] == nil then
    finish()
    return
  end
  if (status < 200 or status >= 300) and attempts < 19 then
    attempts = attempts + 1
    backoff = math.min(1000, 50 * 2 ^ attempts)
    return
  end
  attempts, backoff = 0, 0
  lines[#lines + 1] = status .. "\t" .. body .. "\n"
  position = position + 1
  if mine[position] == nil then
    finish()
  end
end
