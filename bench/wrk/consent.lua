-- wrk script of bench/http_load.py for the consent POST: each thread rotates through its share
-- of (guardian session, child, purpose) entries from a data file that bench/http_load.py writes,
-- and alternates each entry between its two answers, so that every POST changes the
-- guardian's answer and is a real ledger append (the portal records nothing for a repeated
-- identical answer).
--
--   wrk -t2 -c50 -d20s --latency -s bench/wrk/consent.lua URL -- DATA.lua THREADS
--
-- DATA.lua returns a list of {method=, path=, headers={...}, bodies={first, second}}:
-- `first` is the answer opposite to the guardian's current one. With many more entries per
-- thread than connections, one entry is never in flight twice. done() prints one line
-- `BENCH {json}` (latency in microseconds).

local counter = 0

function setup(thread)
   thread:set("tid", counter)
   counter = counter + 1
end

local variants = {}  -- variants[i] = {request with the first answer, with the second}
local turn = {}      -- turn[i] = which of the two goes next (1 or 2)
local count = 0
local at = 0

function init(args)
   local entries = dofile(args[1])
   local nthreads = tonumber(args[2]) or 1
   for k, e in ipairs(entries) do
      if (k - 1) % nthreads == tid then
         count = count + 1
         variants[count] = {
            wrk.format(e.method, e.path, e.headers, e.bodies[1]),
            wrk.format(e.method, e.path, e.headers, e.bodies[2]),
         }
         turn[count] = 1
      end
   end
   if count == 0 then
      error("no requests for thread " .. tid .. " in " .. args[1])
   end
end

function request()
   at = at % count + 1
   local which = turn[at]
   turn[at] = 3 - which
   return variants[at][which]
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
