-- POST one row per request, each its own durable transaction.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local n = 0

function request()
  n = n + 1
  return wrk.format(nil, "/rest/v1/orders", nil,
    '{"customer": "c' .. n .. '", "status": "new", "total": "12.50"}')
end
