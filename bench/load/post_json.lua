-- wrk script: POST a JSON body (a predict-style request) with an optional
-- bearer token, on keep-alive connections.
--
--   EDDY_TOKEN=... wrk -t1 -c16 -d10s --latency -s bench/load/post_json.lua \
--       http://127.0.0.1:8080/v1/predict
--
-- EDDY_BODY overrides the body. wrk is closed-loop (see README.md): use it
-- for the maximum throughput, and eddy_loadgen for latency at a fixed rate.
wrk.method = "POST"
wrk.body = os.getenv("EDDY_BODY") or
  '{"key":"user-42","amount":125.5,"merchant":"m-1234","device":"d-77","country":"FR"}'
wrk.headers["Content-Type"] = "application/json"
local token = os.getenv("EDDY_TOKEN")
if token and token ~= "" then
  wrk.headers["Authorization"] = "Bearer " .. token
end
