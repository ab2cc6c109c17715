-- wrk script of bench/http_load.py for GET scenarios: each thread rotates through its share of
-- the requests listed in a data file that bench/http_load.py writes (many guardians, children,
-- schools and classes, so no one hot row), each with its own session cookie.
--
--   wrk -t2 -c50 -d20s --latency -s bench/wrk/pages.lua URL -- DATA.lua THREADS
--
-- DATA.lua returns a list of {method=, path=, headers={...}, body=} tables. done() prints
-- one line `BENCH {json}` with the figures bench/http_load.py reads (latency in microseconds).

local counter = 0

function setup(thread)
   thread:set("tid", counter)
   counter = counter + 1
end

local requests = {}
local count = 0
local at = 0

function init(args)
   local entries = dofile(args[1])
   local nthreads = tonumber(args[2]) or 1
   for k, e in ipairs(entries) do
      -- Thread n takes entries n+1, n+1+nthreads, ...: the threads never share one.
      if (k - 1) % nthreads == tid then
         count = count + 1
         requests[count] = wrk.format(e.method, e.path, e.headers, e.body)
      end
   end
   if count == 0 then
      error("no requests for thread " .. tid .. " in " .. args[1])
   end
   at = 0
end

function request()
   at = at % count + 1
   return requests[at]
end

function done(summary, latency, _requests)
   local e = summary.errors
   io.write(string.format(
      'BENCH {"requests": %d, "duration_us": %d, "bytes": %d, "connect": %d, "read": %d, '
         .. '"write": %d, "status": %d, "timeout": %d, "p50": %d, "p75": %d, "p90": %d, '
         .. '"p95": %d, "p99": %d, "mean": %.1f, "stdev": %.1f, "max": %d}\n',
      summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write,
      e.status, e.timeout, latency:percentile(50), latency:percentile(75),
      latency:percentile(90), latency:percentile(95), latency:percentile(99),
      latency.mean, latency.stdev, latency.max))
end
