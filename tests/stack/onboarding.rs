//! Onboarding a company: the owner invites team members by email, each
//! sets a password from the one-time link, and one turns MFA on; the
//! adoption report and the audit log show it.

use std::time::Duration;

use tonic::Code;

use countersign_proto::auth::v1::ListMembersRequest;
use countersign_tests::stack::{Backend, PASSWORD, Stack, bearer};

use crate::{
    gateway::{assert_status, enroll, session},
    org::{accept, adoption, audit_kinds, emailed_token, fresh_email, invite, join, whoami},
};

async fn owner_invites_two_and_one_enables_mfa(backend: Backend) {
    let stack = Stack::start(backend).await;
    let owner_email = stack.organization("essential").await;
    let owner = session(&stack, &owner_email).await;
    let (ada_email, bob_email) = (fresh_email("ada"), fresh_email("bob"));

    invite(&stack, &owner, &ada_email, "member").await.unwrap();
    invite(&stack, &owner, &bob_email, "admin").await.unwrap();
    let invitation = stack.mail.nth_mail_to(&ada_email, 1).await;
    assert!(
        invitation.subject().starts_with("Join Ledger & Co"),
        "{}",
        invitation.subject()
    );
    let ada = accept(&stack, &invitation.link_token().unwrap(), PASSWORD)
        .await
        .unwrap();
    let bob_token = emailed_token(&stack, &bob_email, 1).await;
    let bob = accept(&stack, &bob_token, PASSWORD).await.unwrap();
    assert_eq!((ada.role.as_str(), bob.role.as_str()), ("member", "admin"));
    assert_eq!(
        ada.organization_id,
        whoami(&stack, &owner).await.organization_id
    );

    let ada_session = session(&stack, &ada_email).await;
    enroll(&stack, &ada_session).await;
    let relogin = crate::gateway::challenge(&stack, &ada_email).await;
    assert!(relogin.methods.contains(&"totp".to_string()));

    let report = adoption(&stack, &owner).await;
    assert_eq!(report.member_count, 3);
    assert_eq!((report.with_mfa_count, report.without_mfa_count), (1, 2));
    assert_eq!(report.factor_counts.get("totp"), Some(&1));
    let mut admins: Vec<_> = report
        .admins_without_mfa
        .iter()
        .map(|m| m.email.clone())
        .collect();
    admins.sort();
    let mut expected = vec![owner_email.clone(), bob_email.clone()];
    expected.sort();
    assert_eq!(admins, expected);
    assert!(report.members_in_grace.is_empty());
    assert!(!report.policy.unwrap().required);

    let kinds = audit_kinds(&stack, &owner).await;
    let count = |kind: &str| kinds.iter().filter(|k| *k == kind).count();
    assert_eq!(count("invitation_sent"), 2);
    assert_eq!(count("invitation_accepted"), 2);
    assert_eq!(count("mfa_enabled"), 1);
    assert_eq!(count("organization_created"), 1);
    assert!(count("login_succeeded") >= 2);
    assert_eq!(
        kinds.last().map(String::as_str),
        Some("organization_created")
    );
}

#[tokio::test]
async fn owner_invites_two_and_one_enables_mfa_on_embedded() {
    owner_invites_two_and_one_enables_mfa(Backend::Embedded).await;
}

#[tokio::test]
async fn owner_invites_two_and_one_enables_mfa_on_postgres_and_redis() {
    owner_invites_two_and_one_enables_mfa(Backend::Real).await;
}

#[tokio::test]
async fn invitation_link_works_once_and_reinvite_voids_earlier_link() {
    let stack = Stack::start(Backend::Embedded).await;
    let owner = session(&stack, &stack.organization("essential").await).await;
    let email = fresh_email("cy");

    invite(&stack, &owner, &email, "member").await.unwrap();
    invite(&stack, &owner, &email, "member").await.unwrap();
    let first = emailed_token(&stack, &email, 1).await;
    let second = emailed_token(&stack, &email, 2).await;

    assert_ne!(first, second);
    assert_status(
        accept(&stack, &first, PASSWORD).await,
        Code::Unauthenticated,
        None,
    );
    accept(&stack, &second, PASSWORD).await.unwrap();
    assert_status(
        accept(&stack, &second, PASSWORD).await,
        Code::Unauthenticated,
        None,
    );
    assert_status(
        invite(&stack, &owner, &email, "member").await,
        Code::AlreadyExists,
        None,
    );
    session(&stack, &email).await;
}

#[tokio::test]
async fn invitation_link_refused_once_expired_and_weak_password_keeps_it() {
    let stack = Stack::start(Backend::Embedded).await;
    let owner = session(&stack, &stack.organization("essential").await).await;
    let (late, weak) = (fresh_email("late"), fresh_email("weak"));
    invite(&stack, &owner, &late, "member").await.unwrap();
    invite(&stack, &owner, &weak, "member").await.unwrap();
    let late_token = emailed_token(&stack, &late, 1).await;
    let weak_token = emailed_token(&stack, &weak, 1).await;

    let refused = accept(&stack, &weak_token, "short").await;
    assert_eq!(refused.unwrap_err().code(), Code::InvalidArgument);
    accept(&stack, &weak_token, PASSWORD).await.unwrap();

    stack.clock.advance(Duration::from_secs(7 * 24 * 3600));
    assert_status(
        accept(&stack, &late_token, PASSWORD).await,
        Code::Unauthenticated,
        Some("invalid or expired link"),
    );
    let login = crate::gateway::login(&stack, &late, PASSWORD).await;
    assert_status(login, Code::Unauthenticated, None);
}

#[tokio::test]
async fn roles_limit_who_may_invite_whom() {
    let stack = Stack::start(Backend::Embedded).await;
    let owner = session(&stack, &stack.organization("essential").await).await;
    let (_, admin) = join(&stack, &owner, &fresh_email("admin"), "admin").await;
    let (_, member) = join(&stack, &owner, &fresh_email("member"), "member").await;

    invite(&stack, &admin, &fresh_email("x"), "member")
        .await
        .unwrap();
    for (who, role) in [(&admin, "admin"), (&member, "member")] {
        let refused = invite(&stack, who, &fresh_email("y"), role).await;
        assert_status(refused, Code::PermissionDenied, None);
    }
    let owner_role = invite(&stack, &owner, &fresh_email("z"), "owner").await;
    assert_eq!(crate::gateway::violated_field(owner_role), "role");
    let listing = stack
        .admin_client()
        .list_members(bearer(ListMembersRequest::default(), &member))
        .await;
    assert_status(listing, Code::PermissionDenied, None);
}

#[tokio::test]
async fn members_listed_oldest_first_in_pages() {
    let stack = Stack::start(Backend::Embedded).await;
    let owner_email = stack.organization("essential").await;
    let owner = session(&stack, &owner_email).await;
    let mut joined = vec![owner_email];
    for n in 0..4 {
        let email = fresh_email(&format!("m{n}"));
        join(&stack, &owner, &email, "member").await;
        joined.push(email);
    }

    let mut seen = Vec::new();
    let mut page_token = String::new();
    loop {
        let request = ListMembersRequest {
            page_size: 2,
            page_token: page_token.clone(),
        };
        let page = stack
            .admin_client()
            .list_members(bearer(request, &owner))
            .await
            .unwrap()
            .into_inner();
        assert!(page.members.len() <= 2);
        seen.extend(page.members.into_iter().map(|m| m.email));
        if page.next_page_token.is_empty() {
            break;
        }
        page_token = page.next_page_token;
    }
    assert_eq!(seen, joined);
}
