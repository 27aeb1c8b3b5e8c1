-- TOTP factors and pending enrollments. Secrets are AES-256-GCM sealed by
-- the service (key_id names the key); times are ms since the epoch; last_step
-- is the last TOTP step accepted, the replay guard.
CREATE TABLE totp_factors (
    member_id TEXT PRIMARY KEY,
    key_id TEXT NOT NULL,
    ciphertext BYTEA NOT NULL,
    nonce BYTEA NOT NULL,
    last_step BIGINT NOT NULL,
    enabled_at BIGINT NOT NULL
);

CREATE TABLE totp_enrollments (
    member_id TEXT PRIMARY KEY,
    key_id TEXT NOT NULL,
    ciphertext BYTEA NOT NULL,
    nonce BYTEA NOT NULL,
    last_step BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);

CREATE INDEX totp_enrollments_expires_at ON totp_enrollments (expires_at);
