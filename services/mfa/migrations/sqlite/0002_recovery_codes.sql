-- Recovery codes, stored only as HMAC-SHA256 digests under the code key,
-- bound to the member. Using a code deletes its row; created_at is ms since
-- the epoch. Rows live only while the member has a TOTP factor.
CREATE TABLE recovery_codes (
    member_id TEXT NOT NULL,
    digest BLOB NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (member_id, digest)
);
