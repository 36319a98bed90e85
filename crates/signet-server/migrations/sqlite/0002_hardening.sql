-- Clients registered as resource servers may introspect tokens meant for their audiences.
ALTER TABLE clients ADD COLUMN introspect INTEGER NOT NULL DEFAULT 0;

-- Which key signed the access token issued beside each refresh token, so that revoking a key
-- can end every login it signed for.
ALTER TABLE refresh_tokens ADD COLUMN access_kid TEXT;
ALTER TABLE refresh_tokens ADD COLUMN next_access_kid TEXT;

DROP TRIGGER refresh_tokens_rotate;
CREATE TRIGGER refresh_tokens_rotate AFTER UPDATE OF used_at ON refresh_tokens
WHEN OLD.used_at IS NULL AND NEW.used_at IS NOT NULL AND NEW.next_hash IS NOT NULL
BEGIN
    INSERT INTO refresh_tokens (hash, family_id, created_at, expires_at, access_jti, access_exp, access_kid)
    SELECT NEW.next_hash, NEW.family_id, NEW.used_at, MIN(NEW.next_expires_at, f.expires_at),
           NEW.next_jti, NEW.next_access_exp, NEW.next_access_kid
    FROM refresh_families f
    WHERE f.id = NEW.family_id AND f.revoked_at IS NULL AND f.expires_at > NEW.used_at;
END;

-- Feed entries: a denied access-token jti ('jti'); a signing key withdrawn ('key', jti holding
-- the kid), on which verifiers fetch the keys again; or a client deleted ('client', jti holding
-- the client id), which denies every token issued to it at or before revoked_at.
ALTER TABLE revoked_jti ADD COLUMN kind TEXT NOT NULL DEFAULT 'jti';
CREATE INDEX refresh_tokens_kid ON refresh_tokens(access_kid);
