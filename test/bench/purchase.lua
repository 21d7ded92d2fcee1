-- purchase.lua — wrk script for `make bench` (scripts/bench.sh).
--
-- Every request is POST /api/items/$BENCH_ITEM/purchase with a JSON body
-- naming $BENCH_STRATEGY and the buyer "bench". Each thread counts the
-- answers whose status is not $BENCH_EXPECT (201 by default, 409 for the
-- sold-out run), and done() prints one line that bench.sh parses:
--
--   BENCH requests=N duration_us=N rps=R p50_us=N p99_us=N unexpected=N
--         errors=N statuses=201:N,409:N
--
-- errors adds up wrk's socket errors (connect, read, write, timeout): a
-- request that got no answer at all is no more a success than a 503.
--
-- Without $BENCH_ITEM the script does a GET of $BENCH_PATH instead (the
-- static baseline through the same Lua machinery, if wanted).

local item = os.getenv("BENCH_ITEM")
local strategy = os.getenv("BENCH_STRATEGY") or "pessimistic"
local expect = tonumber(os.getenv("BENCH_EXPECT") or "201")

if item ~= nil and item ~= "" then
    wrk.method = "POST"
    wrk.path = "/api/items/" .. item .. "/purchase"
    wrk.headers["Content-Type"] = "application/json"
    wrk.body = '{"strategy":"' .. strategy .. '","buyer":"bench"}'
else
    wrk.method = "GET"
    wrk.path = os.getenv("BENCH_PATH") or "/bench/static"
end

-- One table per thread; done() collects them.
local threads = {}

function setup(thread)
    table.insert(threads, thread)
end

-- Runs inside each thread: its own Lua state, its own counters.
statuses = {}

function response(status, headers, body)
    statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
    local all = {}
    local unexpected = 0
    for _, t in ipairs(threads) do
        local s = t:get("statuses")
        for status, n in pairs(s) do
            all[status] = (all[status] or 0) + n
            if status ~= expect then
                unexpected = unexpected + n
            end
        end
    end
    local keys = {}
    for status in pairs(all) do
        table.insert(keys, status)
    end
    table.sort(keys)
    local parts = {}
    for _, status in ipairs(keys) do
        table.insert(parts, status .. ":" .. all[status])
    end
    local e = summary.errors
    local errors = e.connect + e.read + e.write + e.timeout
    io.write(string.format(
        "BENCH requests=%d duration_us=%d rps=%.1f p50_us=%d p99_us=%d " ..
        "unexpected=%d errors=%d statuses=%s\n",
        summary.requests, summary.duration,
        summary.requests / (summary.duration / 1e6),
        latency:percentile(50), latency:percentile(99),
        unexpected, errors, table.concat(parts, ",")))
end
