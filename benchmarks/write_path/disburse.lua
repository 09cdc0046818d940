-- wrk script for benchmarks/write_path/run.py (a): each wrk thread holds one
-- connection and pays its own approved request (client i pays request i mod N),
-- with a unique Idempotency-Key per POST, as user i mod M. Arguments: the tokens
-- (comma-separated: client i authenticates with token i mod M), run nonce, request ids.
local threads = {}
local next_id = 0

function setup(thread)
  thread:set("tid", next_id)
  next_id = next_id + 1
  table.insert(threads, thread)
end

function init(args)
  local tokens = {}
  for t in string.gmatch(args[1], "[^,]+") do tokens[#tokens + 1] = t end
  token, nonce = tokens[(tid % #tokens) + 1], args[2]
  local ids = {}
  for i = 3, #args do ids[#ids + 1] = args[i] end
  request_id = ids[(tid % #ids) + 1]
  counter, bad = 0, 0
  headers = {
    ["Authorization"] = "Bearer " .. token,
    ["Content-Type"] = "application/json",
  }
end

function request()
  counter = counter + 1
  local ref = string.format("%s-%d-%d", nonce, tid, counter)
  headers["Idempotency-Key"] = ref
  local body = string.format(
    '{"spending_request_id": %s, "amount": "1.00", "currency": "USD", "reference": "PAY-%s"}',
    request_id, ref)
  return wrk.format("POST", "/api/v1/disbursements", headers, body)
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
