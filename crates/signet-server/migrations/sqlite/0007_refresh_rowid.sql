-- Refresh tokens move from a table keyed by their hash (WITHOUT ROWID) to one keyed by an
-- increasing rowid, with the hash in a unique index. A rotation updates the token it claims and
-- inserts the successor; both rows now sit at the table's end, on pages the other rotations of
-- the same commit share, where before each landed on a random page of the whole table. Only the
-- index on the hash still takes a random page per rotation, and its entries are small: a
-- rotation writes well under half the bytes it did.
CREATE TABLE refresh_tokens_by_row (
    id INTEGER PRIMARY KEY,
    hash BLOB NOT NULL UNIQUE,
    family_id TEXT NOT NULL REFERENCES refresh_families(id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at INTEGER,
    access_jti TEXT NOT NULL,
    access_exp INTEGER NOT NULL,
    next_hash BLOB,
    next_expires_at INTEGER,
    next_jti TEXT,
    next_access_exp INTEGER,
    access_kid TEXT,
    next_access_kid TEXT
);
INSERT INTO refresh_tokens_by_row (hash, family_id, created_at, expires_at, used_at, access_jti,
    access_exp, next_hash, next_expires_at, next_jti, next_access_exp, access_kid, next_access_kid)
SELECT hash, family_id, created_at, expires_at, used_at, access_jti, access_exp, next_hash,
    next_expires_at, next_jti, next_access_exp, access_kid, next_access_kid
FROM refresh_tokens ORDER BY created_at;
DROP TABLE refresh_tokens;
ALTER TABLE refresh_tokens_by_row RENAME TO refresh_tokens;
CREATE INDEX refresh_tokens_family ON refresh_tokens(family_id);
CREATE INDEX refresh_tokens_kid ON refresh_tokens(access_kid);

CREATE TRIGGER refresh_tokens_rotate AFTER UPDATE OF used_at ON refresh_tokens
WHEN OLD.used_at IS NULL AND NEW.used_at IS NOT NULL AND NEW.next_hash IS NOT NULL
BEGIN
    INSERT INTO refresh_tokens (hash, family_id, created_at, expires_at, access_jti, access_exp, access_kid)
    SELECT NEW.next_hash, NEW.family_id, NEW.used_at, MIN(NEW.next_expires_at, f.expires_at),
           NEW.next_jti, NEW.next_access_exp, NEW.next_access_kid
    FROM refresh_families f
    WHERE f.id = NEW.family_id AND f.revoked_at IS NULL AND f.expires_at > NEW.used_at;
END;
