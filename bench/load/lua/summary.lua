-- Appended to every script: done() writes wrk's figures as JSON to $WRK_SUMMARY.
local summary_path = os.getenv("WRK_SUMMARY")

function done(summary, latency, requests)
  local errors = summary.errors
  local out = assert(io.open(summary_path, "w"))
  out:write(string.format(
    '{"requests": %d, "duration_us": %d, "non_2xx": %d, "connect": %d, "read": %d, '
      .. '"write": %d, "timeout": %d, "p50_us": %.0f, "p90_us": %.0f, "p99_us": %.0f, '
      .. '"max_us": %.0f}\n',
    summary.requests, summary.duration, errors.status, errors.connect, errors.read,
    errors.write, errors.timeout, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max))
  out:close()
end
