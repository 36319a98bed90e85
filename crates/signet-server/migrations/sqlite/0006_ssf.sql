-- OpenID Shared Signals: the streams receivers created (owned by the client that made them),
-- the subjects added to or removed from each, and the outbox of Security Event Tokens per
-- stream (their claims; they are signed when delivered).
CREATE TABLE ssf_streams (
    id TEXT PRIMARY KEY,
    client_id TEXT NOT NULL,
    config TEXT NOT NULL,
    -- 1 for push delivery (RFC 8935), 0 for poll (RFC 8936).
    push INTEGER NOT NULL,
    status TEXT NOT NULL DEFAULT 'enabled',
    reason TEXT,
    created_at INTEGER NOT NULL
);
CREATE INDEX ssf_streams_client ON ssf_streams(client_id);
CREATE TABLE ssf_subjects (
    stream_id TEXT NOT NULL REFERENCES ssf_streams(id) ON DELETE CASCADE,
    subject TEXT NOT NULL,
    included INTEGER NOT NULL,
    PRIMARY KEY (stream_id, subject)
);
CREATE TABLE ssf_events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    stream_id TEXT NOT NULL REFERENCES ssf_streams(id) ON DELETE CASCADE,
    jti TEXT NOT NULL UNIQUE,
    claims TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    acked_at INTEGER
);
CREATE INDEX ssf_events_due ON ssf_events(acked_at, next_attempt_at);
