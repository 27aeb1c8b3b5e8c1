//! Checks of the audit log: listing newest first, each filter, pages by
//! cursor, organizations kept apart, and (on SQL) rows that cannot change.

use std::collections::BTreeMap;

use super::NOW;
use crate::{
    domain::{AuditEvent, AuditFilter, AuditKind, Outcome},
    store::{AuditRow, AuthStore, SqlStore, StoreError},
};

/// The events of the audit checks, by name, in the order they happen.
struct Log {
    tag: String,
    org: String,
}

impl Log {
    fn new(tag: &str) -> Self {
        Self {
            tag: tag.to_string(),
            org: format!("org-{tag}"),
        }
    }

    fn id(&self, who: &str) -> Option<String> {
        Some(format!("member-{}-{who}", self.tag))
    }

    fn event(
        &self,
        n: i64,
        kind: AuditKind,
        actor: Option<&str>,
        subject: Option<&str>,
    ) -> AuditEvent {
        AuditEvent {
            id: format!("event-{}-{n}", self.tag),
            organization_id: self.org.clone(),
            occurred_at: NOW + 10 * n,
            kind,
            actor_id: actor.and_then(|a| self.id(a)),
            subject_id: subject.and_then(|s| self.id(s)),
            client_address: None,
            outcome: Outcome::Success,
            detail: BTreeMap::new(),
        }
    }

    /// Five events of one organization, at `NOW`, `NOW + 10` ... `NOW + 40`.
    fn events(&self) -> [AuditEvent; 5] {
        let failed = AuditEvent {
            client_address: Some("2001:db8::7".to_string()),
            outcome: Outcome::Failure,
            detail: BTreeMap::from([("reason".to_string(), "password".to_string())]),
            ..self.event(2, AuditKind::LoginFailed, None, Some("two"))
        };
        let plan = AuditEvent {
            detail: BTreeMap::from([
                ("from".to_string(), "essential".to_string()),
                ("to".to_string(), "growth \"plus\", \\ ✓".to_string()),
            ]),
            ..self.event(4, AuditKind::PlanChanged, Some("one"), None)
        };
        [
            self.event(0, AuditKind::OrganizationCreated, Some("one"), Some("one")),
            self.event(1, AuditKind::MemberAdded, Some("one"), Some("two")),
            failed,
            self.event(3, AuditKind::LoginSucceeded, Some("three"), Some("three")),
            plan,
        ]
    }
}

/// The events of rows, and whether their seqs go down.
fn events_of(rows: &[AuditRow]) -> Vec<AuditEvent> {
    assert!(
        rows.windows(2).all(|w| w[0].seq > w[1].seq),
        "rows not newest first"
    );
    rows.iter().map(|r| r.event.clone()).collect()
}

/// Events are listed newest first, exactly as appended; by member as actor
/// or subject, by kinds, by a half-open time range, and in pages before a
/// cursor; never those of another organization.
pub async fn audit_events_listed_newest_first_and_filtered(store: &dyn AuthStore, tag: &str) {
    let log = Log::new(tag);
    let other = Log::new(&format!("{tag}x"));
    let [created, added, failed, succeeded, plan] = log.events();
    let foreign = AuditEvent {
        subject_id: log.id("two"),
        ..other.event(2, AuditKind::LoginFailed, Some("two"), None)
    };
    for event in [&created, &added, &failed, &foreign, &succeeded, &plan] {
        store.append_audit_event(event).await.unwrap();
    }
    let list = |filter: AuditFilter, before: Option<i64>, limit: u32| {
        let org = log.org.clone();
        async move {
            let rows = store.list_audit_events(&org, &filter, before, limit);
            rows.await.unwrap()
        }
    };
    let every = AuditFilter::default();
    let by = |who: &str| AuditFilter {
        member_id: log.id(who),
        ..AuditFilter::default()
    };

    let all = list(every.clone(), None, 100).await;
    let of_one = list(by("one"), None, 100).await;
    let of_two = list(by("two"), None, 100).await;
    let logins = AuditFilter {
        kinds: vec![AuditKind::LoginSucceeded, AuditKind::LoginFailed],
        ..AuditFilter::default()
    };
    let of_logins = list(logins.clone(), None, 100).await;
    let ranged = AuditFilter {
        start: Some(NOW + 10),
        end: Some(NOW + 30),
        ..AuditFilter::default()
    };
    let in_range = list(ranged, None, 100).await;

    assert_eq!(
        events_of(&all),
        [
            plan.clone(),
            succeeded.clone(),
            failed.clone(),
            added.clone(),
            created.clone(),
        ]
    );
    assert_eq!(
        events_of(&of_one),
        [plan.clone(), added.clone(), created.clone()]
    );
    assert_eq!(events_of(&of_two), [failed.clone(), added.clone()]);
    assert_eq!(events_of(&of_logins), [succeeded.clone(), failed.clone()]);
    assert_eq!(events_of(&in_range), [failed.clone(), added.clone()]);
    let failed_of_two = AuditFilter {
        kinds: vec![AuditKind::LoginFailed],
        ..by("two")
    };
    let failed_only = list(failed_of_two, None, 100).await;
    assert_eq!(events_of(&failed_only), std::slice::from_ref(&failed));
    let foreign_rows = store
        .list_audit_events(&other.org, &AuditFilter::default(), None, 100)
        .await
        .unwrap();
    assert_eq!(events_of(&foreign_rows), [foreign]);
    let nowhere = format!("org-{tag}-unknown");
    let none = store.list_audit_events(&nowhere, &every, None, 100).await;
    assert!(none.unwrap().is_empty());

    let first = list(every.clone(), None, 2).await;
    let second = list(every.clone(), Some(first[1].seq), 2).await;
    let third = list(every.clone(), Some(second[1].seq), 2).await;
    let past_end = list(every.clone(), Some(third[0].seq), 2).await;
    assert_eq!(events_of(&first), [plan, succeeded]);
    assert_eq!(events_of(&second), [failed.clone(), added]);
    assert_eq!(events_of(&third), [created]);
    assert!(past_end.is_empty());
    let after_failed = list(logins, Some(second[0].seq), 100).await;
    assert!(after_failed.is_empty());
}

/// Events are listed in the order they were appended, which the cursor
/// follows, even when one reported late happened earlier.
pub async fn audit_events_listed_in_append_order(store: &dyn AuthStore, tag: &str) {
    let log = Log::new(tag);
    let prompt = log.event(3, AuditKind::LoginSucceeded, Some("one"), Some("one"));
    let late = log.event(1, AuditKind::MfaEnabled, Some("one"), Some("one"));
    store.append_audit_event(&prompt).await.unwrap();
    store.append_audit_event(&late).await.unwrap();
    let every = AuditFilter::default();

    let first = store.list_audit_events(&log.org, &every, None, 1).await;
    let first = first.unwrap();
    let second = store
        .list_audit_events(&log.org, &every, Some(first[0].seq), 1)
        .await
        .unwrap();

    let late_id = late.id.clone();
    assert_eq!(events_of(&first), [late]);
    assert_eq!(events_of(&second), [prompt]);

    // An event's place is found by its id, in its own organization only.
    let place = store.audit_position(&log.org, &late_id).await.unwrap();
    let elsewhere = store.audit_position("org-other", &late_id).await.unwrap();
    let unknown = store
        .audit_position(&log.org, "no-such-event")
        .await
        .unwrap();
    assert_eq!(place, Some(first[0].seq));
    assert_eq!((elsewhere, unknown), (None, None));
}

/// Appended audit rows can be neither changed nor removed, even by SQL
/// that goes around [`AuthStore`].
pub async fn audit_events_are_append_only(store: &SqlStore, tag: &str) {
    let log = Log::new(tag);
    let events = log.events();
    for event in &events {
        store.append_audit_event(event).await.unwrap();
    }

    let (updated, deleted) = store.tamper_with_audit_events(&log.org).await;

    assert!(matches!(updated, Err(StoreError::Other(_))), "{updated:?}");
    assert!(matches!(deleted, Err(StoreError::Other(_))), "{deleted:?}");
    let rows = store
        .list_audit_events(&log.org, &AuditFilter::default(), None, 100)
        .await
        .unwrap();
    let mut expected = events.to_vec();
    expected.reverse();
    assert_eq!(events_of(&rows), expected);
}
