//! What admins read: the members of their organization, how far MFA has
//! been adopted among them, and the audit log. Events the mfa service
//! reports are written here too.

use std::collections::BTreeMap;

use secrecy::SecretString;

use super::{
    AdminError, AuditEntry, AuditFilter, AuditKind, Auth, Member, MfaPolicy, Outcome, Role,
    policy::Enforcement,
};
use crate::{factors::MAX_LISTED_MEMBERS, store::AuditRow};

/// Most members or events one page holds.
pub const MAX_PAGE_SIZE: u32 = 500;
/// Members or events in a page when the caller names no size.
pub const DEFAULT_PAGE_SIZE: u32 = 50;

/// One page of a listing and where the next begins, if there is one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T, C> {
    pub items: Vec<T>,
    pub next: Option<C>,
}

impl<T, C> Page<T, C> {
    /// The first `size` of `items`, read one beyond the page so as to tell
    /// whether another follows; its cursor is `cursor` of the last item.
    fn of(mut items: Vec<T>, size: u32, cursor: impl Fn(&T) -> C) -> Self {
        let size = usize::try_from(size).unwrap_or(usize::MAX);
        let more = items.len() > size;
        items.truncate(size);
        let next = if more { items.last().map(cursor) } else { None };
        Self { items, next }
    }
}

/// MFA adoption in an organization.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdoptionReport {
    pub member_count: u32,
    pub with_mfa: u32,
    pub without_mfa: u32,
    /// Members with each method, by method name.
    pub factor_counts: BTreeMap<&'static str, u32>,
    pub admins_without_mfa: Vec<Member>,
    /// Members without MFA whose grace period runs, and its end.
    pub members_in_grace: Vec<(Member, i64)>,
    pub policy: MfaPolicy,
    /// Whether the policy binds: it requires MFA and the plan enforces it.
    pub policy_enforced: bool,
}

/// A page size as asked: 0 means the default; more than the most is
/// refused by the caller's conversion, and clamped here.
fn page_size(asked: u32) -> u32 {
    match asked {
        0 => DEFAULT_PAGE_SIZE,
        n => n.min(MAX_PAGE_SIZE),
    }
}

impl Auth {
    /// A page of the caller's organization's members, oldest first, after
    /// the member id `after` (the last of the page before), which must be
    /// one of the organization's.
    pub async fn list_members(
        &self,
        session_token: &SecretString,
        size: u32,
        after: Option<&str>,
    ) -> Result<Page<Member, String>, AdminError> {
        let caller = self.admin_caller(session_token).await?;
        if let Some(after) = after {
            self.member_of(&caller.organization.id, after)
                .await
                .map_err(|_| AdminError::InvalidCursor)?;
        }
        let size = page_size(size);
        let items = self
            .store
            .list_members(&caller.organization.id, after, size + 1)
            .await?;
        Ok(Page::of(items, size, |m| m.id.clone()))
    }

    /// MFA adoption in the caller's organization.
    pub async fn adoption_report(
        &self,
        session_token: &SecretString,
    ) -> Result<AdoptionReport, AdminError> {
        let caller = self.admin_caller(session_token).await?;
        let organization = &caller.organization;
        let now = self.clock.now_ms();
        let enforcement = self.enforcement_of(organization, now);
        let mut report = AdoptionReport {
            member_count: 0,
            with_mfa: 0,
            without_mfa: 0,
            factor_counts: BTreeMap::new(),
            admins_without_mfa: Vec::new(),
            members_in_grace: Vec::new(),
            policy: organization.policy,
            policy_enforced: self.policy_enforced(organization),
        };
        let page = u32::try_from(MAX_LISTED_MEMBERS).unwrap_or(MAX_PAGE_SIZE);
        let mut after: Option<String> = None;
        loop {
            let members = self
                .store
                .list_members(&organization.id, after.as_deref(), page)
                .await?;
            let ids: Vec<String> = members.iter().map(|m| m.id.clone()).collect();
            if ids.is_empty() {
                break;
            }
            let methods = self.factors.list(&ids).await?;
            for (member, methods) in members.iter().zip(methods) {
                report.count(member, &methods, enforcement);
            }
            if members.len() < page as usize {
                break;
            }
            after = ids.last().cloned();
        }
        Ok(report)
    }

    /// A page of the caller's organization's audit events matching
    /// `filter`, newest first, from before the event with id `after` (the
    /// last of the page before). The cursor is an event id rather than
    /// the log position, which would tell how busy the whole installation
    /// is.
    pub async fn list_audit_events(
        &self,
        session_token: &SecretString,
        filter: &AuditFilter,
        size: u32,
        after: Option<&str>,
    ) -> Result<Page<AuditRow, String>, AdminError> {
        let caller = self.admin_caller(session_token).await?;
        let organization_id = &caller.organization.id;
        let before = match after {
            None => None,
            Some(id) => Some(
                self.store
                    .audit_position(organization_id, id)
                    .await?
                    .ok_or(AdminError::InvalidCursor)?,
            ),
        };
        let size = page_size(size);
        let items = self
            .store
            .list_audit_events(organization_id, filter, before, size + 1)
            .await?;
        Ok(Page::of(items, size, |row| row.event.id.clone()))
    }

    /// Writes an event the mfa service reports about one of its members.
    pub async fn record_mfa_event(
        &self,
        member_id: &str,
        kind: AuditKind,
        outcome: Outcome,
        client_address: Option<&str>,
        detail: BTreeMap<String, String>,
    ) -> Result<(), AdminError> {
        if !kind.reported_by_mfa() {
            return Err(AdminError::Forbidden(
                "the mfa service does not report this kind",
            ));
        }
        let member = self
            .store
            .member_by_id(member_id)
            .await?
            .ok_or(AdminError::NotAllowed)?;
        self.audit(AuditEntry {
            detail,
            ..AuditEntry::by(kind, &member)
                .outcome(outcome)
                .from_address(client_address)
        })
        .await?;
        Ok(())
    }
}

impl AdoptionReport {
    fn count(&mut self, member: &Member, methods: &[super::Method], enforcement: Enforcement) {
        self.member_count += 1;
        if methods.is_empty() {
            self.without_mfa += 1;
            if member.role != Role::Member {
                self.admins_without_mfa.push(member.clone());
            }
            if let Enforcement::From(deadline) = enforcement {
                self.members_in_grace.push((member.clone(), deadline));
            }
            return;
        }
        self.with_mfa += 1;
        for method in methods {
            *self.factor_counts.entry(method.as_str()).or_default() += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_size_defaults_and_clamps() {
        assert_eq!(page_size(0), DEFAULT_PAGE_SIZE);
        assert_eq!(page_size(7), 7);
        assert_eq!(page_size(10_000), MAX_PAGE_SIZE);
    }
}
