-- Storing an authorization code records the client in its SSO session (for back-channel
-- logout) in the same statement.
CREATE TRIGGER auth_codes_session_client AFTER INSERT ON auth_codes
BEGIN
    INSERT OR IGNORE INTO sso_session_clients (session_id, client_id)
    VALUES (NEW.session_id, NEW.client_id);
END;
