-- wrk script for the bare Flask yardstick of run.py (a): each wrk thread holds one
-- connection and moves money on an account of its own (as the ledger's clients
-- each pay a request of their own). Prints the same WRK_RESULT line as disburse.lua.
local threads = {}
local next_id = 0

function setup(thread)
  thread:set("tid", next_id)
  next_id = next_id + 1
  table.insert(threads, thread)
end

function init(args)
  counter, bad = 0, 0
  headers = {["Content-Type"] = "application/json"}
end

function request()
  counter = counter + 1
  local body = string.format(
    '{"account": %d, "amount": 100, "reference": "B-%d-%d"}', tid + 1, tid, counter)
  return wrk.format("POST", "/transfer", headers, body)
end

function response(status, headers, body)
  if status ~= 201 then bad = bad + 1 end
end

function done(summary, latency, requests)
  local bad_total = 0
  for _, thread in ipairs(threads) do bad_total = bad_total + thread:get("bad") end
  local e = summary.errors
  io.write(string.format(
    'WRK_RESULT {"requests": %d, "duration_us": %d, "p50_us": %d, "p99_us": %d, ' ..
    '"not_201": %d, "socket_errors": %d}\n',
    summary.requests, summary.duration, latency:percentile(50.0), latency:percentile(99.0),
    bad_total, e.connect + e.read + e.write + e.timeout))
end
