-- The organization's MFA policy: required (0 or 1), and the time (ms since
-- the epoch) from which members without MFA must enroll; 0 means at once.
ALTER TABLE organizations ADD COLUMN mfa_required INTEGER NOT NULL DEFAULT 0;
ALTER TABLE organizations ADD COLUMN mfa_grace_until BIGINT NOT NULL DEFAULT 0;

-- When a "this wasn't me" report locked the account; 0 when unlocked.
ALTER TABLE members ADD COLUMN locked_at BIGINT NOT NULL DEFAULT 0;

-- "full", or "enrollment" for a session that may only enroll MFA.
ALTER TABLE sessions ADD COLUMN scope TEXT NOT NULL DEFAULT 'full';

CREATE INDEX challenges_member_idx ON challenges (member_id);

-- Pending invitations: one per organization and email, the link token
-- stored only as its digest.
CREATE TABLE invitations (
    token_digest TEXT PRIMARY KEY,
    organization_id TEXT NOT NULL REFERENCES organizations (id),
    email TEXT NOT NULL,
    role TEXT NOT NULL,
    invited_by TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    UNIQUE (organization_id, email)
);

-- One-time "this wasn't me" links of security emails.
CREATE TABLE report_tokens (
    token_digest TEXT PRIMARY KEY,
    member_id TEXT NOT NULL REFERENCES members (id),
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);

CREATE INDEX report_tokens_member_idx ON report_tokens (member_id);

-- The audit log. Rows are only ever added: the trigger below refuses
-- updates and deletes. seq orders events and is the page cursor.
CREATE TABLE audit_events (
    seq BIGSERIAL PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    organization_id TEXT NOT NULL,
    occurred_at BIGINT NOT NULL,
    kind TEXT NOT NULL,
    actor_id TEXT NOT NULL,
    subject_id TEXT NOT NULL,
    client_address TEXT NOT NULL,
    outcome TEXT NOT NULL,
    detail TEXT NOT NULL
);

CREATE INDEX audit_events_organization_idx ON audit_events (organization_id, seq);

CREATE FUNCTION audit_events_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'audit events are append-only';
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER audit_events_append_only
    BEFORE UPDATE OR DELETE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION audit_events_append_only();

CREATE TRIGGER audit_events_no_truncate
    BEFORE TRUNCATE ON audit_events
    FOR EACH STATEMENT EXECUTE FUNCTION audit_events_append_only();
