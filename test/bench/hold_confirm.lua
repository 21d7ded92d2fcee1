-- hold_confirm.lua — wrk script for the hold-then-confirm row of `make
-- bench` (scripts/bench.sh).
--
-- A checkout in two steps on one hot item: POST /api/items/$BENCH_ITEM/holds
-- (strategy $BENCH_STRATEGY, buyer "bench"), then POST
-- /api/holds/{id}/confirm of the hold it made. Each thread keeps the ids
-- of the holds its connections made and not yet confirmed; its next
-- request confirms one of them when there is one, else makes a hold. So
-- every hold is confirmed soon after it was made, by whichever connection
-- of the thread is free first. Every answer should be a 201; done() prints
-- the line bench.sh parses, its rps being confirmed holds per second:
--
--   BENCH requests=N duration_us=N rps=R holds_rps=R p50_us=N p99_us=N
--         unexpected=N errors=N statuses=201:N

local item = os.getenv("BENCH_ITEM") or "launch-hoodie"
local strategy = os.getenv("BENCH_STRATEGY") or "pessimistic"
local hold_body = '{"strategy":"' .. strategy .. '","buyer":"bench","ttl_seconds":900}'
local confirm_body = '{"buyer":"bench"}'
local headers = { ["Content-Type"] = "application/json" }

local threads = {}

function setup(thread)
    table.insert(threads, thread)
end

-- Per thread (each has its own Lua state).
statuses = {}
holds = 0
confirms = 0
local pending = {}

function request()
    local id = table.remove(pending)
    if id ~= nil then
        return wrk.format("POST", "/api/holds/" .. id .. "/confirm", headers,
            confirm_body)
    end
    return wrk.format("POST", "/api/items/" .. item .. "/holds", headers,
        hold_body)
end

function response(status, hdrs, body)
    statuses[status] = (statuses[status] or 0) + 1
    if status ~= 201 then
        return
    end
    local id = string.match(body, '^{"hold":{"id":(%d+)')
    if id ~= nil then
        holds = holds + 1
        table.insert(pending, id)
    elseif string.match(body, '^{"order":') then
        confirms = confirms + 1
    end
end

function done(summary, latency, requests)
    local all, h, c, unexpected = {}, 0, 0, 0
    for _, t in ipairs(threads) do
        for status, n in pairs(t:get("statuses")) do
            all[status] = (all[status] or 0) + n
            if status ~= 201 then
                unexpected = unexpected + n
            end
        end
        h = h + t:get("holds")
        c = c + t:get("confirms")
    end
    local keys, parts = {}, {}
    for status in pairs(all) do
        table.insert(keys, status)
    end
    table.sort(keys)
    for _, status in ipairs(keys) do
        table.insert(parts, status .. ":" .. all[status])
    end
    local e = summary.errors
    local seconds = summary.duration / 1e6
    io.write(string.format(
        "BENCH requests=%d duration_us=%d rps=%.1f holds_rps=%.1f " ..
        "p50_us=%d p99_us=%d unexpected=%d errors=%d statuses=%s\n",
        summary.requests, summary.duration, c / seconds, h / seconds,
        latency:percentile(50), latency:percentile(99), unexpected,
        e.connect + e.read + e.write + e.timeout, table.concat(parts, ",")))
end
