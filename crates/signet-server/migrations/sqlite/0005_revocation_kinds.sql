-- Revocation entries of every kind share the feed: a denied 'jti', a withdrawn 'key', and the
-- cutoffs of a 'client', a 'subject' (every token of a user issued at or before revoked_at)
-- and a 'session' (every token carrying that sid). An id is unique within its kind only, so a
-- client and a user of the same id cannot overwrite each other's entry. revoked_ms is the
-- database's wall-clock time of the entry in milliseconds, for verifiers' lag measurements.
CREATE TABLE revoked_entries (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    jti TEXT NOT NULL,
    exp INTEGER NOT NULL,
    revoked_at INTEGER NOT NULL,
    kind TEXT NOT NULL DEFAULT 'jti',
    revoked_ms INTEGER NOT NULL DEFAULT (CAST(unixepoch('subsec') * 1000 AS INTEGER)),
    UNIQUE (kind, jti)
);
INSERT INTO revoked_entries (seq, jti, exp, revoked_at, kind, revoked_ms)
    SELECT seq, jti, exp, revoked_at, kind, revoked_at * 1000 FROM revoked_jti;
DROP TABLE revoked_jti;
ALTER TABLE revoked_entries RENAME TO revoked_jti;
CREATE INDEX revoked_jti_exp ON revoked_jti(exp);

-- Roles of a client; 'admin' may call the administration API.
ALTER TABLE clients ADD COLUMN roles TEXT NOT NULL DEFAULT '[]';
