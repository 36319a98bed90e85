-- Users who log in with a password.
CREATE TABLE users (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    roles TEXT NOT NULL DEFAULT '[]',
    claims TEXT NOT NULL DEFAULT '{}',
    disabled INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL
);

-- OAuth clients. A public client has no secret.
CREATE TABLE clients (
    id TEXT PRIMARY KEY,
    secret_hash BLOB,
    grants TEXT NOT NULL,
    scopes TEXT NOT NULL,
    audiences TEXT NOT NULL,
    created_at INTEGER NOT NULL
);

-- Signing keys, private parts sealed under the master key (AES-256-GCM, kid as AAD).
CREATE TABLE signing_keys (
    kid TEXT PRIMARY KEY,
    alg TEXT NOT NULL,
    sealed BLOB NOT NULL,
    public_jwk TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    active_from INTEGER NOT NULL
);

-- One login = one family of refresh tokens.
CREATE TABLE refresh_families (
    id TEXT PRIMARY KEY,
    user_id TEXT,
    client_id TEXT NOT NULL,
    scope TEXT NOT NULL,
    audience TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    revoked_at INTEGER
);

-- Refresh tokens, stored only as SHA-256 hashes, each with the access token issued beside it
-- (so that ending the login can deny that access token). Keyed by the hash alone.
CREATE TABLE refresh_tokens (
    hash BLOB PRIMARY KEY,
    family_id TEXT NOT NULL REFERENCES refresh_families(id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at INTEGER,
    access_jti TEXT NOT NULL,
    access_exp INTEGER NOT NULL,
    -- Set by the rotation that uses this token: its successor, inserted by the trigger below.
    next_hash BLOB,
    next_expires_at INTEGER,
    next_jti TEXT,
    next_access_exp INTEGER
) WITHOUT ROWID;
CREATE INDEX refresh_tokens_family ON refresh_tokens(family_id);

-- A rotation is one UPDATE: claiming the token (used_at from NULL) inserts its successor in
-- the same statement, and so in the same transaction, unless the family is revoked or over.
CREATE TRIGGER refresh_tokens_rotate AFTER UPDATE OF used_at ON refresh_tokens
WHEN OLD.used_at IS NULL AND NEW.used_at IS NOT NULL AND NEW.next_hash IS NOT NULL
BEGIN
    INSERT INTO refresh_tokens (hash, family_id, created_at, expires_at, access_jti, access_exp)
    SELECT NEW.next_hash, NEW.family_id, NEW.used_at, MIN(NEW.next_expires_at, f.expires_at),
           NEW.next_jti, NEW.next_access_exp
    FROM refresh_families f
    WHERE f.id = NEW.family_id AND f.revoked_at IS NULL AND f.expires_at > NEW.used_at;
END;

-- Denied access-token ids, until their tokens expire; seq is the feed cursor.
CREATE TABLE revoked_jti (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    jti TEXT NOT NULL UNIQUE,
    exp INTEGER NOT NULL,
    revoked_at INTEGER NOT NULL
);
