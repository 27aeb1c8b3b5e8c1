//! Checks every [`AuthStore`] implementation must pass, run by the
//! workspace's tests against each backend. Each check panics on failure.
//!
//! Checks share a store: each takes a distinct `tag` that names its
//! organization, members and tokens. Beside the checks here, on members
//! and sessions, live those of [`organizations`] (plans, policies, member
//! listing and locking), [`invitations`] (invitations and report tokens)
//! and [`audit`] (the audit log).

// Test support: failing loudly is the point.
#![allow(clippy::unwrap_used, clippy::panic)]

use std::time::Duration;

use secrecy::SecretString;

use super::{
    AuthStore, ChallengeRecord, FailureCount, FailureKey, FailureScope, MemberRecord,
    SessionRecord, StoreError,
};
use crate::domain::{FailureRule, Member, Method, MfaPolicy, Organization, Proof, Role, Scope};

pub mod audit;
pub mod invitations;
pub mod organizations;

pub use audit::*;
pub use invitations::*;
pub use organizations::*;

const NOW: i64 = 1_800_000_000_000;

fn organization(tag: &str) -> Organization {
    Organization {
        id: format!("org-{tag}"),
        name: "Ledger & Co".to_string(),
        plan: "essential".to_string(),
        policy: MfaPolicy::default(),
    }
}

fn member(tag: &str, n: u32, role: Role) -> MemberRecord {
    MemberRecord {
        member: Member {
            id: format!("member-{tag}-{n}"),
            organization_id: format!("org-{tag}"),
            email: format!("m{n}.{tag}@example.com"),
            role,
            locked: false,
        },
        password_hash: SecretString::from("$argon2id$stored"),
    }
}

/// Creates an organization with its owner and a second member; the owner.
async fn seeded(store: &dyn AuthStore, tag: &str) -> Member {
    let owner = member(tag, 1, Role::Owner);
    store
        .create_organization(&organization(tag), &owner, NOW)
        .await
        .unwrap();
    store
        .insert_member(&member(tag, 2, Role::Member), NOW)
        .await
        .unwrap();
    owner.member
}

/// Members are found by email and id; a taken email is a conflict.
pub async fn members_are_unique_by_email(store: &dyn AuthStore, tag: &str) {
    let owner = seeded(store, tag).await;

    let found = store.member_by_email(&owner.email).await.unwrap().unwrap();
    let by_id = store.member_by_id(&owner.id).await.unwrap().unwrap();
    let mut twin = member(tag, 3, Role::Member);
    twin.member.email = owner.email.clone();
    let duplicate = store.insert_member(&twin, NOW).await;

    assert_eq!(found.member, owner);
    assert_eq!(by_id, owner);
    assert!(matches!(duplicate, Err(StoreError::Conflict)));
    assert!(
        store
            .member_by_email("nobody@example.com")
            .await
            .unwrap()
            .is_none()
    );
    let org = store
        .organization(&owner.organization_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(org, organization(tag));
}

fn session(digest: &str, member_id: &str, expires_at: i64) -> SessionRecord {
    SessionRecord {
        token_digest: digest.to_string(),
        member_id: member_id.to_string(),
        proofs: vec![Proof::Password, Proof::Totp],
        scope: Scope::Full,
        created_at: NOW,
        expires_at,
    }
}

/// Sessions live until they expire or are ended, one or all but one.
pub async fn sessions_expire_and_end(store: &dyn AuthStore, tag: &str) {
    let owner = seeded(store, tag).await;
    for digest in ["a", "b", "c"] {
        let digest = format!("{tag}-{digest}");
        store
            .insert_session(&session(&digest, &owner.id, NOW + 1_000))
            .await
            .unwrap();
    }

    let live = store
        .live_session(&format!("{tag}-a"), NOW)
        .await
        .unwrap()
        .unwrap();
    let expired = store
        .live_session(&format!("{tag}-a"), NOW + 1_000)
        .await
        .unwrap();
    let ended = store
        .delete_member_sessions(&owner.id, Some(&format!("{tag}-a")))
        .await
        .unwrap();

    assert_eq!(live.member, owner);
    assert_eq!(live.organization.plan, "essential");
    assert_eq!(live.proofs, vec![Proof::Password, Proof::Totp]);
    assert!(expired.is_none());
    assert_eq!(ended, 2);
    assert!(
        store
            .live_session(&format!("{tag}-b"), NOW)
            .await
            .unwrap()
            .is_none()
    );
    assert!(store.delete_session(&format!("{tag}-a")).await.unwrap());
    assert!(!store.delete_session(&format!("{tag}-a")).await.unwrap());
}

/// Ending a member's other sessions keeps the named one only if it has
/// full scope: an enrollment session always ends.
pub async fn enrollment_session_ends_even_when_kept(store: &dyn AuthStore, tag: &str) {
    let owner = seeded(store, tag).await;
    let digest = |name: &str| format!("{tag}-{name}");
    let insert = |name: &str, scope| {
        let record = SessionRecord {
            scope,
            ..session(&digest(name), &owner.id, NOW + 1_000)
        };
        async move { store.insert_session(&record).await.unwrap() }
    };
    insert("full-1", Scope::Full).await;
    insert("full-2", Scope::Full).await;
    insert("enroll-1", Scope::Enrollment).await;

    let enrolling = store.live_session(&digest("enroll-1"), NOW).await.unwrap();
    let ended_all = store
        .delete_member_sessions(&owner.id, Some(&digest("enroll-1")))
        .await
        .unwrap();
    insert("full-3", Scope::Full).await;
    insert("enroll-2", Scope::Enrollment).await;
    let ended_enrollment = store
        .delete_member_sessions(&owner.id, Some(&digest("full-3")))
        .await
        .unwrap();

    assert_eq!(enrolling.unwrap().scope, Scope::Enrollment);
    assert_eq!(ended_all, 3);
    assert_eq!(ended_enrollment, 1);
    let live = |name: &str| {
        let digest = digest(name);
        async move { store.live_session(&digest, NOW).await.unwrap() }
    };
    assert!(live("enroll-1").await.is_none());
    assert!(live("enroll-2").await.is_none());
    assert_eq!(live("full-3").await.unwrap().scope, Scope::Full);
    assert_eq!(
        store.delete_member_sessions(&owner.id, None).await.unwrap(),
        1
    );
}

/// A challenge takes a bounded number of answers and is consumed once.
pub async fn challenges_count_attempts_and_consume_once(store: &dyn AuthStore, tag: &str) {
    let owner = seeded(store, tag).await;
    let digest = format!("{tag}-challenge");
    let challenge = ChallengeRecord {
        token_digest: digest.clone(),
        member_id: owner.id.clone(),
        methods: vec![Method::Totp, Method::EmailCode],
        attempts: 0,
        created_at: NOW,
        expires_at: NOW + 60_000,
    };
    store.insert_challenge(&challenge).await.unwrap();

    let first = store
        .record_challenge_attempt(&digest, NOW, 2)
        .await
        .unwrap()
        .unwrap();
    let second = store
        .record_challenge_attempt(&digest, NOW, 2)
        .await
        .unwrap()
        .unwrap();
    let third = store
        .record_challenge_attempt(&digest, NOW, 2)
        .await
        .unwrap();

    assert_eq!(first.attempts, 1);
    assert_eq!(second.attempts, 2);
    assert_eq!(second.methods, challenge.methods);
    assert!(third.is_none());
    assert!(
        store
            .live_challenge(&digest, NOW, 2)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        store
            .live_challenge(&digest, NOW, 3)
            .await
            .unwrap()
            .is_some()
    );
    assert!(
        store
            .live_challenge(&digest, NOW + 60_000, 3)
            .await
            .unwrap()
            .is_none()
    );
    assert!(store.consume_challenge(&digest).await.unwrap());
    assert!(!store.consume_challenge(&digest).await.unwrap());
}

/// Three failures in a minute lock for two minutes.
const RULE: FailureRule = FailureRule {
    limit: 3,
    window: Duration::from_secs(60),
    lockout: Duration::from_secs(120),
};

fn key(scope: FailureScope, subject: &str) -> FailureKey<'_> {
    FailureKey { scope, subject }
}

fn count(failures: u32, blocked_until: Option<i64>) -> FailureCount {
    FailureCount {
        failures,
        blocked_until,
    }
}

/// Wrong passwords add up per key within a window, lock at the limit
/// until the lockout ends, then count afresh; clearing and pruning forget
/// them. Expects a store with no failure counted yet.
pub async fn login_failures_lock_and_clear(store: &dyn AuthStore, tag: &str) {
    let email = format!("m1.{tag}@example.com");
    let account = key(FailureScope::Account, &email);
    let address = key(FailureScope::Address, &email);
    let lock_end = NOW + 1_000 + 120_000;

    let first = store
        .record_login_failure(&account, &RULE, NOW)
        .await
        .unwrap();
    let second = store
        .record_login_failure(&account, &RULE, NOW)
        .await
        .unwrap();
    let open = store.login_blocked_until(&account, NOW).await.unwrap();
    let third = store
        .record_login_failure(&account, &RULE, NOW + 1_000)
        .await
        .unwrap();

    assert_eq!(first, count(1, None));
    assert_eq!(second, count(2, None));
    assert_eq!(open, None);
    assert_eq!(third, count(3, Some(lock_end)));
    let blocked = |now| store.login_blocked_until(&account, now);
    assert_eq!(blocked(NOW + 1_000).await.unwrap(), Some(lock_end));
    assert_eq!(blocked(lock_end - 1).await.unwrap(), Some(lock_end));
    assert_eq!(blocked(lock_end).await.unwrap(), None);
    assert_eq!(
        store.login_blocked_until(&address, NOW).await.unwrap(),
        None
    );
    let after_lockout = store
        .record_login_failure(&account, &RULE, lock_end)
        .await
        .unwrap();
    assert_eq!(after_lockout, count(1, None));

    store.clear_login_failures(&account).await.unwrap();
    let cleared = store
        .record_login_failure(&account, &RULE, lock_end)
        .await
        .unwrap();
    assert_eq!(cleared, count(1, None));

    store
        .record_login_failure(&address, &RULE, NOW)
        .await
        .unwrap();
    let next_window = store
        .record_login_failure(&address, &RULE, NOW + 60_000)
        .await
        .unwrap();
    assert_eq!(next_window, count(1, None));

    let far = lock_end + 3_600_000;
    assert_eq!(store.prune_login_failures(NOW).await.unwrap(), 0);
    assert_eq!(store.prune_login_failures(far).await.unwrap(), 2);
    assert_eq!(store.prune_login_failures(far).await.unwrap(), 0);
}

/// A limit of one locks on the first failure; concurrent failures are
/// each counted once.
pub async fn login_failures_count_atomically(store: &dyn AuthStore, tag: &str) {
    let strict = FailureRule { limit: 1, ..RULE };
    let roomy = FailureRule { limit: 100, ..RULE };
    let (once, many) = (format!("{tag}-once"), format!("{tag}-many"));
    let once = key(FailureScope::Address, &once);
    let many = key(FailureScope::Address, &many);

    let locked = store
        .record_login_failure(&once, &strict, NOW)
        .await
        .unwrap();
    let record = || store.record_login_failure(&many, &roomy, NOW);
    let (a, b, c, d) = tokio::join!(record(), record(), record(), record());

    assert_eq!(locked, count(1, Some(NOW + 120_000)));
    let mut seen: Vec<u32> = [a, b, c, d]
        .into_iter()
        .map(|r| r.unwrap().failures)
        .collect();
    seen.sort_unstable();
    assert_eq!(seen, [1, 2, 3, 4]);
}
