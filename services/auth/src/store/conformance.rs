//! Checks every [`AuthStore`] implementation must pass, run by the
//! workspace's tests against each backend. Each check panics on failure.

// Test support: failing loudly is the point.
#![allow(clippy::unwrap_used, clippy::panic)]

use secrecy::SecretString;

use super::{AuthStore, ChallengeRecord, MemberRecord, SessionRecord, StoreError};
use crate::domain::{Member, Method, Organization, Proof, Role};

const NOW: i64 = 1_800_000_000_000;

fn organization(tag: &str) -> Organization {
    Organization {
        id: format!("org-{tag}"),
        name: "Ledger & Co".to_string(),
        plan: "essential".to_string(),
    }
}

fn member(tag: &str, n: u32, role: Role) -> MemberRecord {
    MemberRecord {
        member: Member {
            id: format!("member-{tag}-{n}"),
            organization_id: format!("org-{tag}"),
            email: format!("m{n}.{tag}@example.com"),
            role,
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
