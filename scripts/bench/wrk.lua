-- wrk script for scripts/bench: the method from BENCH_METHOD; with BENCH_RANGE_SIZE and
-- BENCH_FILE_SIZE, every request asks for BENCH_RANGE_SIZE bytes at a random offset (the same
-- sequence for every contender); `done` prints one JSON line for the bench to parse.
-- Without a range no `request` function is defined, so wrk keeps its fast static request.

local method = os.getenv("BENCH_METHOD")
if method and method ~= "" then
  wrk.method = method
end

local range_size = tonumber(os.getenv("BENCH_RANGE_SIZE") or "")
local file_size = tonumber(os.getenv("BENCH_FILE_SIZE") or "")

if range_size and file_size then
  local headers = {}

  function init(args)
    math.randomseed(424242)
    for name, value in pairs(wrk.headers) do
      headers[name] = value
    end
  end

  function request()
    local first = math.random(0, file_size - range_size)
    headers["Range"] = string.format("bytes=%.0f-%.0f", first, first + range_size - 1)
    return wrk.format(nil, nil, headers)
  end
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests":%.0f,"bytes":%.0f,"duration_us":%.0f,"connect":%.0f,"read":%.0f,"write":%.0f,"status":%.0f,"timeout":%.0f,"p50_us":%.0f,"p99_us":%.0f}\n',
    summary.requests, summary.bytes, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(99)))
end
