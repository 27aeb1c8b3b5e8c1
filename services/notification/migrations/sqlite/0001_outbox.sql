-- The outbox: every email asked for, until sent or given up on.
-- Times are milliseconds since the Unix epoch.
CREATE TABLE outbox (
    id TEXT PRIMARY KEY,
    idempotency_key TEXT NOT NULL UNIQUE,
    template TEXT NOT NULL,
    recipient TEXT NOT NULL,
    params TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('pending', 'sent', 'failed')),
    attempt_count INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    enqueued_at INTEGER NOT NULL,
    sent_at INTEGER,
    last_error TEXT
);

-- The worker's question: which pending messages are due?
CREATE INDEX outbox_pending_due ON outbox (next_attempt_at) WHERE state = 'pending';
