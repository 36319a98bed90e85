-- The issuer's state on PostgreSQL: the same tables as on SQLite, in PostgreSQL's types. Times
-- are Unix seconds (BIGINT); lists and claims are JSON text, read by the same code as SQLite's.

CREATE TABLE users (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    roles TEXT NOT NULL DEFAULT '[]',
    claims TEXT NOT NULL DEFAULT '{}',
    disabled BOOLEAN NOT NULL DEFAULT FALSE,
    created_at BIGINT NOT NULL
);

CREATE TABLE clients (
    id TEXT PRIMARY KEY,
    secret_hash BYTEA,
    grants TEXT NOT NULL,
    scopes TEXT NOT NULL,
    audiences TEXT NOT NULL,
    introspect BOOLEAN NOT NULL DEFAULT FALSE,
    created_at BIGINT NOT NULL
);

CREATE TABLE signing_keys (
    kid TEXT PRIMARY KEY,
    alg TEXT NOT NULL,
    sealed BYTEA NOT NULL,
    public_jwk TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    active_from BIGINT NOT NULL
);

CREATE TABLE refresh_families (
    id TEXT PRIMARY KEY,
    user_id TEXT,
    client_id TEXT NOT NULL,
    scope TEXT NOT NULL,
    audience TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    revoked_at BIGINT
);
CREATE INDEX refresh_families_user ON refresh_families(user_id);
CREATE INDEX refresh_families_client ON refresh_families(client_id);

CREATE TABLE refresh_tokens (
    hash BYTEA PRIMARY KEY,
    family_id TEXT NOT NULL REFERENCES refresh_families(id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT,
    access_jti TEXT NOT NULL,
    access_exp BIGINT NOT NULL,
    access_kid TEXT,
    -- Set by the rotation that used this token: its successor.
    next_hash BYTEA,
    next_expires_at BIGINT,
    next_jti TEXT,
    next_access_exp BIGINT,
    next_access_kid TEXT
);
CREATE INDEX refresh_tokens_family ON refresh_tokens(family_id);
CREATE INDEX refresh_tokens_kid ON refresh_tokens(access_kid);

-- The revocation feed; seq is the cursor. Every insert takes one transaction-scoped advisory
-- lock first, so entries commit in seq order and a follower never skips one.
CREATE TABLE revoked_jti (
    seq BIGSERIAL PRIMARY KEY,
    jti TEXT NOT NULL UNIQUE,
    exp BIGINT NOT NULL,
    revoked_at BIGINT NOT NULL,
    kind TEXT NOT NULL DEFAULT 'jti'
);
CREATE INDEX revoked_jti_exp ON revoked_jti(exp);
