//! Checks of invitations, joining through them, and report tokens.

use secrecy::{ExposeSecret, SecretString};

use super::{NOW, member, seeded};
use crate::{
    domain::{Member, Role},
    store::{AuthStore, InvitationRecord, Joining, StoreError},
};

/// An invitation of invitee `n` of `tag` into the organization of `tag`.
fn invitation(tag: &str, n: u32, digest: &str) -> InvitationRecord {
    InvitationRecord {
        token_digest: digest.to_string(),
        organization_id: format!("org-{tag}"),
        email: format!("invitee{n}.{tag}@example.com"),
        role: Role::Member,
        invited_by: format!("member-{tag}-1"),
        created_at: NOW,
        expires_at: NOW + 60_000,
    }
}

fn joining(member_id: &str, now: i64) -> Joining {
    Joining {
        member_id: member_id.to_string(),
        password_hash: SecretString::from("$argon2id$joined"),
        now,
    }
}

/// A second invitation of the same address into the same organization
/// replaces the first, whose link stops working; the same address may be
/// invited into another organization meanwhile.
pub async fn invitation_replaced_voids_old_token(store: &dyn AuthStore, tag: &str) {
    seeded(store, tag).await;
    let other_tag = format!("{tag}o");
    seeded(store, &other_tag).await;
    let first = invitation(tag, 1, &format!("{tag}-first"));
    let second = InvitationRecord {
        role: Role::Admin,
        expires_at: NOW + 120_000,
        ..invitation(tag, 1, &format!("{tag}-second"))
    };
    let elsewhere = InvitationRecord {
        organization_id: format!("org-{other_tag}"),
        ..invitation(tag, 1, &format!("{tag}-elsewhere"))
    };

    store.put_invitation(&first).await.unwrap();
    let before = store
        .live_invitation(&first.token_digest, NOW)
        .await
        .unwrap();
    store.put_invitation(&second).await.unwrap();
    store.put_invitation(&elsewhere).await.unwrap();

    let live = |invitation: &InvitationRecord, now| {
        let digest = invitation.token_digest.clone();
        async move { store.live_invitation(&digest, now).await.unwrap() }
    };
    assert_eq!(before, Some(first.clone()));
    assert_eq!(live(&first, NOW).await, None);
    assert_eq!(live(&second, NOW).await, Some(second.clone()));
    assert!(live(&elsewhere, NOW).await.is_some());
    let accepted = store
        .accept_invitation(
            &first.token_digest,
            &joining(&format!("member-{tag}-7"), NOW),
        )
        .await
        .unwrap();
    assert_eq!(accepted, None);
    let last_moment = second.expires_at - 1;
    assert!(live(&second, last_moment).await.is_some());
    assert!(live(&second, second.expires_at).await.is_none());
}

/// Accepting adds the invitee with the invitation's role and the given
/// hash, and spends it: a second accept, an expired invitation and an
/// unknown digest all give `None`, the expired one left as it was.
pub async fn invitation_accepted_once(store: &dyn AuthStore, tag: &str) {
    seeded(store, tag).await;
    let invited = InvitationRecord {
        role: Role::Admin,
        ..invitation(tag, 1, &format!("{tag}-invited"))
    };
    let lapsing = invitation(tag, 2, &format!("{tag}-lapsing"));
    store.put_invitation(&invited).await.unwrap();
    store.put_invitation(&lapsing).await.unwrap();
    let newcomer = joining(&format!("member-{tag}-new"), NOW + 10);
    let late = joining(&format!("member-{tag}-late"), lapsing.expires_at);

    let first = store
        .accept_invitation(&invited.token_digest, &newcomer)
        .await;
    let again = store
        .accept_invitation(&invited.token_digest, &newcomer)
        .await;
    let expired = store.accept_invitation(&lapsing.token_digest, &late).await;
    let unknown = store
        .accept_invitation(&format!("{tag}-unknown"), &newcomer)
        .await;

    let expected = Member {
        id: newcomer.member_id.clone(),
        organization_id: invited.organization_id.clone(),
        email: invited.email.clone(),
        role: Role::Admin,
        locked: false,
    };
    assert_eq!(first.unwrap(), Some(expected.clone()));
    assert_eq!(again.unwrap(), None);
    assert_eq!(expired.unwrap(), None);
    assert_eq!(unknown.unwrap(), None);
    let stored = store
        .member_by_email(&invited.email)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.member, expected);
    assert_eq!(stored.password_hash.expose_secret(), "$argon2id$joined");
    assert_eq!(
        store.member_by_id(&expected.id).await.unwrap(),
        Some(expected)
    );
    assert!(
        store
            .live_invitation(&invited.token_digest, NOW)
            .await
            .unwrap()
            .is_none()
    );
    let still = store
        .live_invitation(&lapsing.token_digest, NOW)
        .await
        .unwrap();
    assert_eq!(still, Some(lapsing.clone()));
    assert!(
        store
            .member_by_email(&lapsing.email)
            .await
            .unwrap()
            .is_none()
    );
}

/// When the invited address became a member meanwhile, accepting is a
/// conflict that adds no one and leaves the invitation live.
pub async fn invitation_accept_conflicts_when_email_taken(store: &dyn AuthStore, tag: &str) {
    seeded(store, tag).await;
    let invited = invitation(tag, 1, &format!("{tag}-taken"));
    store.put_invitation(&invited).await.unwrap();
    let mut meanwhile = member(tag, 3, Role::Member);
    meanwhile.member.email = invited.email.clone();
    store.insert_member(&meanwhile, NOW).await.unwrap();
    let newcomer = joining(&format!("member-{tag}-new"), NOW);

    let accepted = store
        .accept_invitation(&invited.token_digest, &newcomer)
        .await;

    assert!(
        matches!(accepted, Err(StoreError::Conflict)),
        "{accepted:?}"
    );
    let live = store
        .live_invitation(&invited.token_digest, NOW)
        .await
        .unwrap();
    assert_eq!(live, Some(invited.clone()));
    assert!(
        store
            .member_by_id(&newcomer.member_id)
            .await
            .unwrap()
            .is_none()
    );
    let holder = store
        .member_by_email(&invited.email)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(holder.member, meanwhile.member);
}

/// Of concurrent accepts of one invitation exactly one adds a member.
pub async fn invitation_accepted_once_under_concurrency(store: &dyn AuthStore, tag: &str) {
    let owner = seeded(store, tag).await;
    let invited = invitation(tag, 1, &format!("{tag}-raced"));
    store.put_invitation(&invited).await.unwrap();
    let joiners: Vec<Joining> = (0..3)
        .map(|n| joining(&format!("member-{tag}-racer{n}"), NOW))
        .collect();
    let accept = |joining| store.accept_invitation(&invited.token_digest, joining);

    let (a, b, c) = tokio::join!(
        accept(&joiners[0]),
        accept(&joiners[1]),
        accept(&joiners[2])
    );

    let results = [a.unwrap(), b.unwrap(), c.unwrap()];
    let winners: Vec<&Member> = results.iter().flatten().collect();
    assert_eq!(winners.len(), 1, "{results:?}");
    let members = store
        .list_members(&owner.organization_id, None, 100)
        .await
        .unwrap();
    let joined: Vec<&Member> = members
        .iter()
        .filter(|m| m.email == invited.email)
        .collect();
    assert_eq!(joined, winners);
}

/// A report token yields its member once, while live, and to only one of
/// concurrent takers.
pub async fn report_token_taken_once_while_live(store: &dyn AuthStore, tag: &str) {
    let owner = seeded(store, tag).await;
    let digest = |name: &str| format!("{tag}-report-{name}");
    let expires_at = NOW + 60_000;
    for name in ["once", "lapsed", "raced"] {
        store
            .insert_report_token(&digest(name), &owner.id, NOW, expires_at)
            .await
            .unwrap();
    }
    let take = |name: &str, now| {
        let digest = digest(name);
        async move { store.take_report_token(&digest, now).await.unwrap() }
    };

    let first = take("once", NOW).await;
    let second = take("once", NOW).await;
    let lapsed = take("lapsed", expires_at).await;
    let unknown = take("unknown", NOW).await;
    let raced = tokio::join!(take("raced", NOW), take("raced", NOW), take("raced", NOW));

    assert_eq!(first, Some(owner.id.clone()));
    assert_eq!(second, None);
    assert_eq!(lapsed, None);
    assert_eq!(unknown, None);
    let raced = [raced.0, raced.1, raced.2];
    let winners: Vec<&String> = raced.iter().flatten().collect();
    assert_eq!(winners, [&owner.id], "{raced:?}");
}
