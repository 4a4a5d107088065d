-- wrk script for bench/runs.sh: every request creates a thread and a streamed run of the
-- assistant in $ASSISTANT and reads the stream to its end; a response without `data: [DONE]`
-- or with another status counts as a failure.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"assistant_id":"' .. os.getenv("ASSISTANT") .. '","stream":true,'
    .. '"thread":{"messages":[{"role":"user","content":"benchmark run with a few words"}]}}'

local threads = {}

function setup(thread)
    table.insert(threads, thread)
end

function init(args)
    failures = 0
    completed = 0
end

function response(status, headers, body)
    if status == 200 and body:find("data: [DONE]", 1, true) then
        completed = completed + 1
    else
        failures = failures + 1
    end
end

function done(summary, latency, requests)
    local ok, bad = 0, 0
    for _, thread in ipairs(threads) do
        ok = ok + thread:get("completed")
        bad = bad + thread:get("failures")
    end
    io.write(string.format("streams completed %d failed %d\n", ok, bad))
end
