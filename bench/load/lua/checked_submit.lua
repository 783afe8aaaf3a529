-- Deadline-day load with every answer kept: one connection per thread, so a response
-- always answers this thread's last request. Each thread sends its share ($WRK_QUOTA_<n>)
-- of create+submit requests from $WRK_REQUESTS (one "path<TAB>authorization<TAB>body"
-- per line), each under its own Idempotency-Key, like a phone:
--   * no answer (the connection broke, e.g. the worker was killed): the same request
--     again with the same key on a new connection;
--   * 409 (the first attempt with this key is still in flight) or 5xx: the same again
--     after a back-off;
--   * a share of the acknowledged ones ($WRK_RETRY_PER_MILLE) is sent once more with
--     the same key, as a phone on a bad network does, and must get the same receipt.
-- Every final answer is written to $WRK_OUT/<thread>.tsv ("first|replay<TAB>key<TAB>
-- status<TAB>body"), then a "transport<TAB>n" line; the file appears when the thread
-- is done, and the thread stops.
local requests_path = os.getenv("WRK_REQUESTS")
local out_dir = os.getenv("WRK_OUT")
local run_id = os.getenv("WRK_RUN_ID") or "wrk"
local retry_per_mille = tonumber(os.getenv("WRK_RETRY_PER_MILLE") or "0")
local thread_count = tonumber(os.getenv("WRK_THREADS"))
local started = 0

function setup(thread)
  thread:set("thread_index", started)
  started = started + 1
end

local items = {}
local quota = 0
local sent = 0           -- keys issued so far
local pending = nil      -- the request awaiting its final answer
local awaiting = false   -- a request is on the wire
local attempts = 0
local backoff = 0
local transport = 0
local finished = false
local lines = {}

function init(args)
  for line in io.lines(requests_path) do
    local path, authorization, body = line:match("^([^\t]*)\t([^\t]*)\t(.*)$")
    items[#items + 1] = { path, authorization, body }
  end
  quota = tonumber(os.getenv("WRK_QUOTA_" .. thread_index))
end

local function replayed(index)
  return (index * 2654435761) % 1000 < retry_per_mille
end

local function finish()
  finished = true
  local out = assert(io.open(out_dir .. "/" .. thread_index .. ".part", "w"))
  out:write(table.concat(lines))
  out:write("transport\t" .. transport .. "\n")
  out:close()
  os.rename(out_dir .. "/" .. thread_index .. ".part", out_dir .. "/" .. thread_index .. ".tsv")
  wrk.thread:stop()
end

function delay()
  return backoff
end

function request()
  if awaiting then
    transport = transport + 1   -- the last request got no answer at all
  end
  if pending == nil then
    if sent >= quota then
      awaiting = true
      return wrk.format("GET", "/healthz")   -- nothing left; the thread is stopping
    end
    local index = thread_index + sent * thread_count
    sent = sent + 1
    pending = { item = items[index % #items + 1], key = run_id .. "-" .. index,
                index = index, replay = false }
  end
  awaiting = true
  local headers = { ["Content-Type"] = "application/json", ["Idempotency-Key"] = pending.key }
  if pending.item[2] ~= "" then
    headers["Authorization"] = pending.item[2]
  end
  return wrk.format("POST", pending.item[1], headers, pending.item[3])
end

function response(status, headers, body)
  awaiting = false
  if finished then
    return
  end
  if pending == nil then   -- the probe of a thread with nothing (left) to send
    finish()
    return
  end
  if status == 409 or status >= 500 then
    attempts = attempts + 1
    if attempts < 50 then
      backoff = math.min(2000, 50 * 2 ^ attempts)
      return
    end
  end
  attempts, backoff = 0, 0
  lines[#lines + 1] = (pending.replay and "replay" or "first") .. "\t" .. pending.key .. "\t"
    .. status .. "\t" .. body .. "\n"
  if status >= 200 and status < 300 and not pending.replay and replayed(pending.index) then
    pending = { item = pending.item, key = pending.key, index = pending.index, replay = true }
  else
    pending = nil
    if sent >= quota then
      finish()
    end
  end
end
