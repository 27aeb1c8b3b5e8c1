//! Checks of an organization's settings and members: plan and policy,
//! listing in pages, locking and unlocking.

use super::{NOW, member, organization, seeded, session};
use crate::{
    domain::{Method, MfaPolicy, Organization, Role},
    store::{AuthStore, ChallengeRecord},
};

/// The plan and the MFA policy are stored as given, at creation and on
/// change, a grace period of none included; an unknown organization
/// changes nothing.
pub async fn organization_plan_and_policy_change(store: &dyn AuthStore, tag: &str) {
    let owner = seeded(store, tag).await;
    let org_id = owner.organization_id.clone();
    let strict_tag = format!("{tag}s");
    let strict = Organization {
        policy: MfaPolicy {
            required: true,
            grace_until: Some(NOW + 86_400_000),
        },
        ..organization(&strict_tag)
    };
    let strict_owner = member(&strict_tag, 1, Role::Owner);
    store
        .create_organization(&strict, &strict_owner, NOW)
        .await
        .unwrap();
    let graced = MfaPolicy {
        required: true,
        grace_until: Some(NOW + 3_600_000),
    };
    let at_once = MfaPolicy {
        required: true,
        grace_until: None,
    };
    let found = |id: String| async move { store.organization(&id).await.unwrap().unwrap() };

    let created = found(strict.id.clone()).await;
    let initial = found(org_id.clone()).await;
    let set_graced = store.set_policy(&org_id, &graced).await.unwrap();
    let after_graced = found(org_id.clone()).await;
    let set_at_once = store.set_policy(&org_id, &at_once).await.unwrap();
    let after_at_once = found(org_id.clone()).await;
    let set_plan = store.set_plan(&org_id, "growth").await.unwrap();
    let after_plan = found(org_id.clone()).await;

    assert_eq!(created, strict);
    assert_eq!(initial.policy, MfaPolicy::default());
    assert!(set_graced && set_at_once && set_plan);
    assert_eq!(after_graced.policy, graced);
    assert_eq!(after_at_once.policy, at_once);
    assert_eq!(after_plan.plan, "growth");
    assert_eq!(after_plan.policy, at_once);
    assert_eq!(found(strict.id.clone()).await, strict);
    let relaxed = MfaPolicy::default();
    assert!(store.set_policy(&org_id, &relaxed).await.unwrap());
    assert_eq!(found(org_id.clone()).await.policy, relaxed);
    let unknown = format!("org-{tag}-unknown");
    assert!(!store.set_plan(&unknown, "growth").await.unwrap());
    assert!(!store.set_policy(&unknown, &graced).await.unwrap());
    assert!(store.organization(&unknown).await.unwrap().is_none());

    let digest = format!("{tag}-session");
    let strict_session = session(&digest, &strict_owner.member.id, NOW + 1_000);
    store.insert_session(&strict_session).await.unwrap();
    let live = store.live_session(&digest, NOW).await.unwrap().unwrap();
    assert_eq!(live.organization, strict);
}

/// Members are listed by id, a page at a time after a cursor, and only
/// those of the organization asked for.
pub async fn members_list_in_pages_within_organization(store: &dyn AuthStore, tag: &str) {
    let owner = seeded(store, tag).await;
    seeded(store, &format!("{tag}x")).await;
    for n in 3..=5 {
        store
            .insert_member(&member(tag, n, Role::Admin), NOW)
            .await
            .unwrap();
    }
    let org_id = owner.organization_id.clone();
    let page = |after: Option<String>| {
        let org_id = org_id.clone();
        async move {
            let page = store
                .list_members(&org_id, after.as_deref(), 2)
                .await
                .unwrap();
            let ids: Vec<String> = page.iter().map(|m| m.id.clone()).collect();
            (page, ids)
        }
    };
    let id = |n: u32| format!("member-{tag}-{n}");

    let (first, first_ids) = page(None).await;
    let (_, second_ids) = page(Some(id(2))).await;
    let (_, third_ids) = page(Some(id(4))).await;
    let (_, past_end) = page(Some(id(5))).await;

    assert_eq!(first, [owner, member(tag, 2, Role::Member).member]);
    assert_eq!(first_ids, [id(1), id(2)]);
    assert_eq!(second_ids, [id(3), id(4)]);
    assert_eq!(third_ids, [id(5)]);
    assert!(past_end.is_empty());
    let all = store.list_members(&org_id, None, 100).await.unwrap();
    assert_eq!(all.len(), 5);
    assert!(all.iter().all(|m| m.organization_id == org_id));
    let elsewhere = store
        .list_members(&format!("org-{tag}-unknown"), None, 100)
        .await
        .unwrap();
    assert!(elsewhere.is_empty());
}

/// Locking ends the member's sessions and challenges, and no one else's;
/// it takes once until an unlock, and the flag shows wherever the member
/// is read.
pub async fn member_lock_ends_sessions_and_challenges(store: &dyn AuthStore, tag: &str) {
    let owner = seeded(store, tag).await;
    let locked = member(tag, 2, Role::Member).member;
    let digest = |name: &str| format!("{tag}-{name}");
    let live = |name: &str| {
        let digest = digest(name);
        async move { store.live_session(&digest, NOW).await.unwrap() }
    };
    let pending = |name: &str| {
        let digest = digest(name);
        async move { store.live_challenge(&digest, NOW, 5).await.unwrap() }
    };
    for (name, member_id) in [("a", &locked.id), ("b", &locked.id), ("owner", &owner.id)] {
        let session = session(&digest(name), member_id, NOW + 1_000);
        store.insert_session(&session).await.unwrap();
        let challenge = challenge(&digest(name), member_id);
        store.insert_challenge(&challenge).await.unwrap();
    }

    let first = store.lock_member(&locked.id, NOW).await.unwrap();
    let second = store.lock_member(&locked.id, NOW + 1).await.unwrap();
    let unknown = store.lock_member(&format!("member-{tag}-9"), NOW).await;

    assert!(first);
    assert!(!second);
    assert!(!unknown.unwrap());
    for name in ["a", "b"] {
        assert!(live(name).await.is_none());
        assert!(pending(name).await.is_none());
    }
    assert!(live("owner").await.is_some());
    assert!(pending("owner").await.is_some());
    assert_locked(store, tag, true).await;
    assert!(!store.member_by_id(&owner.id).await.unwrap().unwrap().locked);

    for (name, member_id) in [("report", &locked.id), ("owner-report", &owner.id)] {
        let token = digest(name);
        let expires = NOW + 1_000;
        store
            .insert_report_token(&token, member_id, NOW, expires)
            .await
            .unwrap();
    }
    // A login racing the lock stored a session and a challenge after it.
    let raced = session(&digest("raced"), &locked.id, NOW + 1_000);
    store.insert_session(&raced).await.unwrap();
    let raced_challenge = challenge(&digest("raced"), &locked.id);
    store.insert_challenge(&raced_challenge).await.unwrap();
    assert!(store.unlock_member(&locked.id).await.unwrap());
    assert!(!store.unlock_member(&locked.id).await.unwrap());
    assert!(!store.unlock_member(&owner.id).await.unwrap());
    assert_locked(store, tag, false).await;
    assert!(
        live("raced").await.is_none(),
        "a session made while locked outlived the unlock"
    );
    assert!(pending("raced").await.is_none());
    assert!(live("owner").await.is_some());
    // Unlocking voided the unlocked member's report tokens only.
    let voided = store
        .take_report_token(&digest("report"), NOW)
        .await
        .unwrap();
    let kept = store.take_report_token(&digest("owner-report"), NOW).await;
    assert_eq!(voided, None);
    assert_eq!(kept.unwrap().as_deref(), Some(owner.id.as_str()));

    // A lock at the epoch still counts as a lock.
    assert!(store.lock_member(&locked.id, 0).await.unwrap());
    assert_locked(store, tag, true).await;
    assert!(store.unlock_member(&locked.id).await.unwrap());
}

fn challenge(digest: &str, member_id: &str) -> ChallengeRecord {
    ChallengeRecord {
        token_digest: digest.to_string(),
        member_id: member_id.to_string(),
        methods: vec![Method::Totp],
        attempts: 0,
        created_at: NOW,
        expires_at: NOW + 60_000,
    }
}

/// Whether member 2 of `tag` reads as `locked` by id, by email and in a
/// session started now.
async fn assert_locked(store: &dyn AuthStore, tag: &str, locked: bool) {
    let expected = member(tag, 2, Role::Member).member;
    let digest = format!("{tag}-check-{locked}");
    store
        .insert_session(&session(&digest, &expected.id, NOW + 1_000))
        .await
        .unwrap();

    let by_id = store.member_by_id(&expected.id).await.unwrap().unwrap();
    let by_email = store
        .member_by_email(&expected.email)
        .await
        .unwrap()
        .unwrap();
    let in_session = store.live_session(&digest, NOW).await.unwrap().unwrap();

    assert_eq!(by_id.locked, locked, "locked by id");
    assert_eq!(by_email.member.locked, locked, "locked by email");
    assert_eq!(in_session.member.locked, locked, "locked in a session");
    assert!(store.delete_session(&digest).await.unwrap());
}
