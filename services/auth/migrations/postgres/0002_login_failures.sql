-- Wrong passwords counted per account (the normalized email, known or not)
-- and per client address: failures within the window ending at window_end,
-- and the time until which logins are refused (0 when they are not).
CREATE TABLE login_failures (
    scope TEXT NOT NULL,
    subject TEXT NOT NULL,
    failures INTEGER NOT NULL,
    window_end BIGINT NOT NULL,
    blocked_until BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (scope, subject)
);

CREATE INDEX login_failures_window_end_idx ON login_failures (window_end);
