-- wrk script for `make bench`: a fresh key per request, so every request to a render route renders.
--   wrk ... -s keys.lua URL -- PREFIX SUFFIX COUNT THREADS [ACCEPT]
-- Request i of thread t asks for PREFIX .. ((i * THREADS + t) mod COUNT) .. SUFFIX; the COUNT originals behind
-- those keys are hard links to one benchmark image (bench.py makes them). ACCEPT, when given, is sent as every
-- request's Accept header (a browser's, for format negotiation). done() prints one line of JSON.

local threads = {}

function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end

function init(args)
  prefix = args[1]
  suffix = args[2]
  count = tonumber(args[3])
  nthreads = tonumber(args[4])
  headers = {}
  if args[5] and args[5] ~= "" then
    headers["Accept"] = args[5]
  end
  counter = 0
end

function request()
  local n = (counter * nthreads + id) % count
  counter = counter + 1
  return wrk.format("GET", prefix .. n .. suffix, headers)
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests": %d, "duration_us": %d, "connect": %d, "read": %d, "write": %d, "status": %d, ' ..
    '"timeout": %d, "p50_us": %d, "p99_us": %d, "max_us": %d}\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(99), latency.max))
end
