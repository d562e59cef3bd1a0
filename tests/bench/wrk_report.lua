-- wrk script for bench_gateway.py: one request shape per run, given as script arguments
--   wrk -s wrk_report.lua URL -- METHOD AUTH BODY PATH [PATH ...]
-- (BODY "-" for none). Paths are cycled so a run can spread over many resources; every
-- request is pre-formatted once. done() prints one JSON line the harness parses.

local requests = {}
local counter = 1

function init(args)
  local method, auth, body = args[1], args[2], args[3]
  local headers = { ["Authorization"] = auth }
  -- bench_ledger.py: a legacy client's User-Agent on every request
  local agent = os.getenv("WRK_USER_AGENT")
  if agent and agent ~= "" then headers["User-Agent"] = agent end
  if body == "-" then
    body = nil
  else
    headers["Content-Type"] = "application/x-www-form-urlencoded"
  end
  for i = 4, #args do
    requests[#requests + 1] = wrk.format(method, args[i], headers, body)
  end
end

function request()
  local r = requests[counter]
  counter = counter + 1
  if counter > #requests then counter = 1 end
  return r
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{"requests": %d, "duration_us": %d, "non2xx": %d, "socket_errors": %d, ' ..
    '"p50_us": %d, "p90_us": %d, "p99_us": %d}\n',
    summary.requests, summary.duration, e.status, e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99)))
end
