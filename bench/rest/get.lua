-- GET REST_PATH with "{key}" replaced by keys from 1 to REST_KEYS, in a
-- pseudo-random walk (each thread starts elsewhere), e.g.
-- REST_PATH='/rest/v1/orders?id=eq.{key}'.
local path = os.getenv("REST_PATH")
local keys = tonumber(os.getenv("REST_KEYS") or "10000")
local key = 0

function setup(thread)
  thread:set("seed", math.random(1, keys))
end

function init(args)
  key = seed
end

function request()
  key = (key * 1103515245 + 12345) % keys + 1
  return wrk.format("GET", (path:gsub("{key}", tostring(key))))
end
