-- wrk script: the client-credentials grant with HTTP Basic client authentication.
-- Environment: TOKEN_PATH, AUTH, EXTRA.
wrk.method = "POST"
wrk.path = os.getenv("TOKEN_PATH")
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Authorization"] = os.getenv("AUTH")
wrk.body = "grant_type=client_credentials" .. (os.getenv("EXTRA") or "")
