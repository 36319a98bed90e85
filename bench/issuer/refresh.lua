-- wrk script: each request spends one refresh token; each answer's new refresh token goes
-- back into the pool, so the chains of rotation continue for the whole run.
-- Environment: TOKENS (file, one token per line), TOKEN_PATH, AUTH (optional header), EXTRA.
local pool = {}
local auth = os.getenv("AUTH") or ""
local extra = os.getenv("EXTRA") or ""
local path = os.getenv("TOKEN_PATH")

function init(args)
  for line in io.lines(os.getenv("TOKENS")) do
    if #line > 0 then table.insert(pool, line) end
  end
end

function request()
  local token = table.remove(pool) or "pool-exhausted"
  local headers = { ["Content-Type"] = "application/x-www-form-urlencoded" }
  if #auth > 0 then headers["Authorization"] = auth end
  return wrk.format("POST", path, headers, "grant_type=refresh_token&refresh_token=" .. token .. extra)
end

function response(status, headers, body)
  local token = body:match('"refresh_token":"([^"]+)"')
  if token then table.insert(pool, token) end
end
