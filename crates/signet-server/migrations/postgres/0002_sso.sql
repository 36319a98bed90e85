-- Single sign-on (OpenID Connect): what clients registered for browser logins, users' profile
-- claims, SSO sessions, the clients each session logged into, and authorization codes.
ALTER TABLE clients ADD COLUMN oidc TEXT NOT NULL DEFAULT '{}';
ALTER TABLE users ADD COLUMN profile TEXT NOT NULL DEFAULT '{}';
-- The SSO session a login (refresh family) belongs to, if it began at the login page.
ALTER TABLE refresh_families ADD COLUMN session_id TEXT;
CREATE INDEX refresh_families_session ON refresh_families(session_id);

-- One browser's login at the issuer: the cookie holds a random value, stored here hashed; `id`
-- is the public `sid` of the ID tokens issued under it.
CREATE TABLE sso_sessions (
    id TEXT PRIMARY KEY,
    cookie_hash BYTEA NOT NULL UNIQUE,
    user_id TEXT NOT NULL,
    auth_time BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    ended_at BIGINT
);
CREATE INDEX sso_sessions_user ON sso_sessions(user_id);

CREATE TABLE sso_session_clients (
    session_id TEXT NOT NULL REFERENCES sso_sessions(id) ON DELETE CASCADE,
    client_id TEXT NOT NULL,
    PRIMARY KEY (session_id, client_id)
);

-- Authorization codes, stored hashed; single use. The first use records what it issues (the
-- family and the access token's jti), so that a replay can revoke them.
CREATE TABLE auth_codes (
    hash BYTEA PRIMARY KEY,
    client_id TEXT NOT NULL,
    redirect_uri TEXT NOT NULL,
    code_challenge TEXT NOT NULL,
    nonce TEXT,
    scope TEXT NOT NULL,
    session_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    auth_time BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT,
    family_id TEXT,
    access_jti TEXT,
    access_exp BIGINT
);
CREATE INDEX auth_codes_expiry ON auth_codes(expires_at);

-- What each user agreed to let each (not first-party) client have.
CREATE TABLE consents (
    user_id TEXT NOT NULL,
    client_id TEXT NOT NULL,
    scope TEXT NOT NULL,
    granted_at BIGINT NOT NULL,
    PRIMARY KEY (user_id, client_id)
);
