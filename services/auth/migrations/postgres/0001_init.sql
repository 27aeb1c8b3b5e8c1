CREATE TABLE organizations (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    plan TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE members (
    id TEXT PRIMARY KEY,
    organization_id TEXT NOT NULL REFERENCES organizations (id),
    email TEXT NOT NULL UNIQUE,
    role TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE INDEX members_organization_idx ON members (organization_id);

CREATE TABLE sessions (
    token_digest TEXT PRIMARY KEY,
    member_id TEXT NOT NULL REFERENCES members (id),
    factors TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);

CREATE INDEX sessions_member_idx ON sessions (member_id);

CREATE TABLE challenges (
    token_digest TEXT PRIMARY KEY,
    member_id TEXT NOT NULL REFERENCES members (id),
    methods TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
