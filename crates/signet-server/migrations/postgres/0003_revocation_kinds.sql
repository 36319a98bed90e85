-- Revocation entries of every kind share the feed: a denied 'jti', a withdrawn 'key', and the
-- cutoffs of a 'client', a 'subject' (every token of a user issued at or before revoked_at)
-- and a 'session' (every token carrying that sid). An id is unique within its kind only.
-- revoked_ms is the database's wall-clock time of the entry in milliseconds, for verifiers'
-- lag measurements.
ALTER TABLE revoked_jti DROP CONSTRAINT revoked_jti_jti_key;
ALTER TABLE revoked_jti ADD CONSTRAINT revoked_jti_kind_jti_key UNIQUE (kind, jti);
ALTER TABLE revoked_jti ADD COLUMN revoked_ms BIGINT;
UPDATE revoked_jti SET revoked_ms = revoked_at * 1000;
ALTER TABLE revoked_jti
    ALTER COLUMN revoked_ms SET DEFAULT (floor(extract(epoch FROM clock_timestamp()) * 1000))::BIGINT,
    ALTER COLUMN revoked_ms SET NOT NULL;

-- Roles of a client; 'admin' may call the administration API.
ALTER TABLE clients ADD COLUMN roles TEXT NOT NULL DEFAULT '[]';
