-- POST /customer with a new e-mail address every time: RUN_ID (new for each run), the
-- wrk thread and a counter (used by .ci/bench and .ci/ab). API_TOKEN: the bearer token.
local token = os.getenv("API_TOKEN")
local run = os.getenv("RUN_ID")
local counter = 0
local next_id = 0
function setup(thread) thread:set("tid", next_id); next_id = next_id + 1 end
function request()
  counter = counter + 1
  local body = string.format(
    '{"customer_name":"Bench User","customer_email":"bench-%s-%d-%d@example.com",' ..
    '"customer_phone":"+1 (415) 555-2671","customer_country":"US","send_kyc_mail":false}',
    run, tid, counter)
  return wrk.format("POST", "/customer",
    {["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. token}, body)
end
