//! Protobuf to domain and back for the organization calls: policies, pages,
//! audit events and the adoption report. Malformed input fails here, as
//! INVALID_ARGUMENT naming the field.

use std::collections::{BTreeMap, HashMap};

use prost_types::Timestamp;
use tonic::Status;

use countersign_kit::{clock::timestamp, status::invalid_argument};
use countersign_proto::auth::v1 as pb;

use super::convert::{id_field, member};
use crate::{
    domain::{AdoptionReport, AuditFilter, AuditKind, MAX_PAGE_SIZE, MfaPolicy, Outcome, Page},
    store::AuditRow,
};

/// Most kinds one audit listing filters by.
const MAX_KINDS: usize = 32;
/// Most particulars of a reported audit event.
const MAX_DETAIL_ENTRIES: usize = 16;
/// Longest particular name and value.
const MAX_DETAIL_NAME: usize = 64;
const MAX_DETAIL_VALUE: usize = 256;
/// Latest time accepted, year 9999, in seconds since the epoch.
const MAX_SECONDS: i64 = 253_402_300_799;

/// A time in milliseconds since the epoch, from 1970 to 9999.
pub fn time_ms(field: &str, time: &Timestamp) -> Result<i64, Status> {
    if !(0..=MAX_SECONDS).contains(&time.seconds) || !(0..1_000_000_000).contains(&time.nanos) {
        return Err(invalid_argument(field, "must be between 1970 and 9999"));
    }
    Ok(time.seconds * 1000 + i64::from(time.nanos / 1_000_000))
}

pub fn policy(policy: Option<&pb::MfaPolicy>) -> Result<MfaPolicy, Status> {
    let policy = policy.ok_or_else(|| invalid_argument("policy", "is required"))?;
    let grace_until = policy
        .grace_time
        .as_ref()
        .map(|t| time_ms("policy.grace_time", t))
        .transpose()?;
    if grace_until == Some(0) {
        return Err(invalid_argument(
            "policy.grace_time",
            "must be after 1970-01-01T00:00:00Z",
        ));
    }
    if grace_until.is_some() && !policy.required {
        return Err(invalid_argument(
            "policy.grace_time",
            "only applies when MFA is required",
        ));
    }
    Ok(MfaPolicy {
        required: policy.required,
        grace_until,
    })
}

pub fn policy_reply(policy: &MfaPolicy) -> pb::MfaPolicy {
    pb::MfaPolicy {
        required: policy.required,
        grace_time: policy.grace_until.map(timestamp),
    }
}

/// A page size: 0 for the default, at most [`MAX_PAGE_SIZE`].
pub fn page_size(size: u32) -> Result<u32, Status> {
    if size > MAX_PAGE_SIZE {
        return Err(invalid_argument("page_size", "must be at most 500"));
    }
    Ok(size)
}

/// The cursor of a listing: the id of the last member or event of the
/// page before; empty for the first page.
pub fn page_token(token: &str) -> Result<Option<String>, Status> {
    match token {
        "" => Ok(None),
        token => id_field("page_token", token).map(Some),
    }
}

pub fn audit_filter(request: &pb::ListAuditEventsRequest) -> Result<AuditFilter, Status> {
    let member_id = match request.member_id.as_str() {
        "" => None,
        id => Some(id_field("member_id", id)?),
    };
    if request.kinds.len() > MAX_KINDS {
        return Err(invalid_argument("kinds", "names too many kinds"));
    }
    let kinds = request
        .kinds
        .iter()
        .map(|k| {
            AuditKind::parse(k).ok_or_else(|| invalid_argument("kinds", "names an unknown kind"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let start = request
        .start_time
        .as_ref()
        .map(|t| time_ms("start_time", t))
        .transpose()?;
    let end = request
        .end_time
        .as_ref()
        .map(|t| time_ms("end_time", t))
        .transpose()?;
    if let (Some(start), Some(end)) = (start, end)
        && end <= start
    {
        return Err(invalid_argument("end_time", "must be after start_time"));
    }
    Ok(AuditFilter {
        member_id,
        kinds,
        start,
        end,
    })
}

pub fn audit_page(page: Page<AuditRow, String>) -> pb::ListAuditEventsResponse {
    pb::ListAuditEventsResponse {
        events: page.items.iter().map(audit_event).collect(),
        next_page_token: page.next.unwrap_or_default(),
    }
}

fn audit_event(row: &AuditRow) -> pb::AuditEvent {
    let event = &row.event;
    pb::AuditEvent {
        id: event.id.clone(),
        time: Some(timestamp(event.occurred_at)),
        kind: event.kind.as_str().to_string(),
        organization_id: event.organization_id.clone(),
        actor_id: event.actor_id.clone().unwrap_or_default(),
        subject_id: event.subject_id.clone().unwrap_or_default(),
        client_address: event.client_address.clone().unwrap_or_default(),
        outcome: event.outcome.as_str().to_string(),
        detail: event.detail.clone().into_iter().collect(),
    }
}

/// The kind of an event the mfa service reports.
pub fn reported_kind(text: &str) -> Result<AuditKind, Status> {
    AuditKind::parse(text)
        .filter(|k| k.reported_by_mfa())
        .ok_or_else(|| invalid_argument("kind", "is not a kind the mfa service reports"))
}

pub fn outcome(text: &str) -> Result<Outcome, Status> {
    Outcome::parse(text)
        .ok_or_else(|| invalid_argument("outcome", "must be \"success\" or \"failure\""))
}

/// The particulars of a reported event: a few short printable entries.
pub fn detail(detail: &HashMap<String, String>) -> Result<BTreeMap<String, String>, Status> {
    if detail.len() > MAX_DETAIL_ENTRIES {
        return Err(invalid_argument("detail", "has too many entries"));
    }
    let plain_name = |k: &str| {
        !k.is_empty()
            && k.len() <= MAX_DETAIL_NAME
            && k.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
    };
    let printable =
        |v: &str| v.chars().count() <= MAX_DETAIL_VALUE && !v.chars().any(char::is_control);
    for (name, value) in detail {
        if !plain_name(name) || !printable(value) {
            return Err(invalid_argument("detail", "has a malformed entry"));
        }
    }
    Ok(detail.clone().into_iter().collect())
}

pub fn adoption_report(report: &AdoptionReport) -> pb::GetAdoptionReportResponse {
    pb::GetAdoptionReportResponse {
        member_count: report.member_count,
        with_mfa_count: report.with_mfa,
        without_mfa_count: report.without_mfa,
        factor_counts: report
            .factor_counts
            .iter()
            .map(|(k, v)| ((*k).to_string(), *v))
            .collect(),
        admins_without_mfa: report.admins_without_mfa.iter().map(member).collect(),
        members_in_grace: report
            .members_in_grace
            .iter()
            .map(|(m, deadline)| pb::MemberInGrace {
                member: Some(member(m)),
                deadline: Some(timestamp(*deadline)),
            })
            .collect(),
        policy: Some(policy_reply(&report.policy)),
        policy_enforced: report.policy_enforced,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field_of(status: &Status) -> String {
        countersign_kit::status::field_violation(status).unwrap().0
    }

    #[test]
    fn time_ms_refuses_out_of_range() {
        let at = |seconds, nanos| Timestamp { seconds, nanos };

        assert_eq!(time_ms("t", &at(1, 500_000_000)).unwrap(), 1_500);
        assert!(time_ms("t", &at(-1, 0)).is_err());
        assert!(time_ms("t", &at(MAX_SECONDS + 1, 0)).is_err());
        assert!(time_ms("t", &at(0, -1)).is_err());
        assert!(time_ms("t", &at(i64::MAX, 0)).is_err());
    }

    #[test]
    fn page_token_refuses_what_no_page_gave() {
        assert_eq!(page_token("").unwrap(), None);
        let id = "0190b5d0-0000-7000-8000-000000000000";
        assert_eq!(page_token(id).unwrap().as_deref(), Some(id));
        for bad in ["1 OR 1=1", "../x", " 4", &"a".repeat(65)] {
            assert_eq!(
                field_of(&page_token(bad).unwrap_err()),
                "page_token",
                "{bad}"
            );
        }
    }

    #[test]
    fn policy_refuses_grace_without_requirement() {
        let off_with_grace = pb::MfaPolicy {
            required: false,
            grace_time: Some(Timestamp {
                seconds: 10,
                nanos: 0,
            }),
        };

        assert_eq!(field_of(&policy(None).unwrap_err()), "policy");
        assert_eq!(
            field_of(&policy(Some(&off_with_grace)).unwrap_err()),
            "policy.grace_time"
        );
    }

    #[test]
    fn detail_refuses_hostile_entries() {
        let one = |k: &str, v: &str| HashMap::from([(k.to_string(), v.to_string())]);

        assert!(detail(&one("locked_minutes", "15")).is_ok());
        assert!(detail(&one("Bad Key", "x")).is_err());
        assert!(detail(&one("k", "line\nbreak")).is_err());
        assert!(detail(&one("k", &"v".repeat(257))).is_err());
        let many: HashMap<_, _> = (0..17)
            .map(|i| (format!("k{i}"), "v".to_string()))
            .collect();
        assert!(detail(&many).is_err());
    }

    #[test]
    fn audit_filter_refuses_unknown_kind_and_reversed_range() {
        let request = |kinds: Vec<&str>, start, end| pb::ListAuditEventsRequest {
            kinds: kinds.into_iter().map(String::from).collect(),
            start_time: Some(Timestamp {
                seconds: start,
                nanos: 0,
            }),
            end_time: Some(Timestamp {
                seconds: end,
                nanos: 0,
            }),
            ..Default::default()
        };

        assert!(audit_filter(&request(vec!["login_failed"], 1, 2)).is_ok());
        assert_eq!(
            field_of(&audit_filter(&request(vec!["sudo"], 1, 2)).unwrap_err()),
            "kinds"
        );
        assert_eq!(
            field_of(&audit_filter(&request(vec![], 2, 2)).unwrap_err()),
            "end_time"
        );
    }
}
