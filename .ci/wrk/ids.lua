-- GET PATH_FORMAT with its %s replaced, for every request, by an id drawn at random from
-- the file IDS_FILE (one per line): "/customer/%s" reads random customers,
-- "/customers?limit=20&starting_after=%s" lists random pages (used by .ci/bench and .ci/ab).
-- API_TOKEN: the bearer token.
local token = os.getenv("API_TOKEN")
local format = os.getenv("PATH_FORMAT")
local ids = {}
for line in io.lines(os.getenv("IDS_FILE")) do ids[#ids + 1] = line end
local next_id = 0
function setup(thread) thread:set("tid", next_id); next_id = next_id + 1 end
function init() math.randomseed(os.time() * 1000 + tid) end
function request()
  return wrk.format("GET", string.format(format, ids[math.random(#ids)]),
    {["Authorization"] = "Bearer " .. token})
end
