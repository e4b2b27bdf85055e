-- The bench's wrk script (bench/wrk.ts runs it): every request body comes from a file, one per
-- line, each sent once; thread i of n sends lines i, i+n, i+2n… Each thread prints
-- "wrk-finished" once all of its requests are answered (the runner then stops wrk with SIGINT:
-- wrk itself only knows durations), and done() prints the counts and latencies as JSON.
--
-- A request is reserved in delay(), which wrk calls before every request() of a connection:
-- several connections share a thread, and a connection must not find its request taken between
-- the two calls. A connection with nothing left to send waits forever. wrk also calls request()
-- once after init() to check what the script sends; that call reserves nothing and takes nothing.

local threads = {}
local count = 0

function setup(thread)
  thread:set("index", count)
  count = count + 1
  table.insert(threads, thread)
end

function init(args)
  local file, nthreads, contentType = args[1], tonumber(args[2]), args[3]
  local headers = { ["Content-Type"] = contentType }
  requests = {}
  local line = 0
  for body in io.lines(file) do
    if line % nthreads == index then
      requests[#requests + 1] = wrk.format("POST", nil, headers, body)
    end
    line = line + 1
  end
  total = #requests
  probe = wrk.format("GET", "/health")
  reserved, sent, answered, ok = 0, 0, 0, 0
  if total == 0 then finished() end
end

function delay()
  if reserved < total then
    reserved = reserved + 1
    return 0
  end
  -- nothing left for this connection: the run ends before this timer
  return 1000000000
end

function request()
  if sent >= reserved then return requests[sent + 1] or probe end
  sent = sent + 1
  local r = requests[sent]
  -- sent once: let it go
  requests[sent] = false
  return r
end

function response(status)
  answered = answered + 1
  if status == 200 or status == 202 then ok = ok + 1 end
  if answered == total then finished() end
end

function finished()
  io.stdout:write("wrk-finished\n")
  io.stdout:flush()
end

function done(summary, latency)
  local answered, ok = 0, 0
  for _, thread in ipairs(threads) do
    answered = answered + thread:get("answered")
    ok = ok + thread:get("ok")
  end
  io.stdout:write(string.format(
    'wrk-result {"answered":%d,"ok":%d,"durationUs":%d,"p50":%d,"p99":%d,"max":%d}\n',
    answered, ok, summary.duration, latency:percentile(50), latency:percentile(99), latency.max))
end
