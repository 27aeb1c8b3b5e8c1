//! The organization's MFA policy and plan: an admin requires MFA, with a
//! grace time or at once; an operator changes the plan. The policy binds
//! only while the plan includes enforcement, so a downgrade stops it and an
//! upgrade restores it; factors already enabled are asked for either way.

use secrecy::SecretString;

use countersign_plans::Feature;

use super::{AdminError, AuditEntry, AuditKind, Auth, MfaPolicy, Organization, SECURITY_TARGET};
use crate::store::StoreError;

/// What the policy asks of a member without MFA at some time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Enforcement {
    /// Nothing: MFA is not required, or the plan does not enforce it.
    None,
    /// Enrolling is required from this time on, ms since the epoch.
    From(i64),
    /// Enrolling is required now.
    Now,
}

impl Auth {
    /// Whether `organization` enforces its policy: it requires MFA and its
    /// plan includes enforcement.
    pub(crate) fn policy_enforced(&self, organization: &Organization) -> bool {
        organization.policy.required
            && self
                .plans
                .check(&organization.plan, Feature::Enforcement)
                .is_ok()
    }

    /// What the policy of `organization_id` asks at `now` of a member
    /// without MFA.
    pub(crate) async fn enforcement(
        &self,
        organization_id: &str,
        now: i64,
    ) -> Result<Enforcement, StoreError> {
        let organization = self.store.organization(organization_id).await?;
        Ok(organization.map_or(Enforcement::None, |o| self.enforcement_of(&o, now)))
    }

    /// What the policy of `organization` asks at `now` of a member without
    /// MFA.
    pub(crate) fn enforcement_of(&self, organization: &Organization, now: i64) -> Enforcement {
        if !self.policy_enforced(organization) {
            return Enforcement::None;
        }
        match organization.policy.grace_until {
            Some(deadline) if deadline > now => Enforcement::From(deadline),
            _ => Enforcement::Now,
        }
    }

    /// Sets the policy of the caller's organization; the caller must be an
    /// owner or admin and the plan must include enforcement.
    pub async fn set_mfa_policy(
        &self,
        session_token: &SecretString,
        policy: MfaPolicy,
        client_address: Option<&str>,
    ) -> Result<MfaPolicy, AdminError> {
        let caller = self.admin_caller(session_token).await?;
        self.plans
            .check(&caller.organization.plan, Feature::Enforcement)
            .map_err(|denied| AdminError::PlanTooLow(denied.to_string()))?;
        if !self
            .store
            .set_policy(&caller.organization.id, &policy)
            .await?
        {
            return Err(AdminError::NotAllowed);
        }
        let mut entry = AuditEntry::by(AuditKind::PolicyChanged, &caller.member)
            .from_address(client_address)
            .with("required", policy.required.to_string());
        if let Some(grace) = policy.grace_until {
            entry = entry.with("grace_until_ms", grace.to_string());
        }
        self.audit(entry).await?;
        Ok(policy)
    }

    /// Changes an organization's plan, for a caller holding the operator
    /// token.
    pub async fn set_organization_plan(
        &self,
        operator_token: &SecretString,
        organization_id: &str,
        plan: &str,
    ) -> Result<Organization, AdminError> {
        self.check_operator(operator_token)?;
        if !self.plans.is_known(plan) {
            return Err(AdminError::UnknownPlan(plan.to_string()));
        }
        let before = self
            .store
            .organization(organization_id)
            .await?
            .ok_or(AdminError::UnknownOrganization)?;
        self.store.set_plan(organization_id, plan).await?;
        tracing::info!(target: SECURITY_TARGET, organization_id, plan, "plan changed");
        self.audit(AuditEntry {
            detail: [
                ("from".to_string(), before.plan.clone()),
                ("to".to_string(), plan.to_string()),
            ]
            .into(),
            ..AuditEntry::operator(AuditKind::PlanChanged, organization_id)
        })
        .await?;
        Ok(Organization {
            plan: plan.to_string(),
            ..before
        })
    }
}

#[cfg(test)]
mod tests {
    use countersign_kit::clock::Clock;

    use super::*;
    use crate::domain::{
        LoginOutcome, SessionError,
        testing::{FakeFactors, Harness, OWNER, PASSWORD, ROOMY, email, harness, password},
    };

    const DAY_MS: i64 = 24 * 3600 * 1000;

    async fn owner_session(h: &Harness) -> SecretString {
        match h.auth.login(&email(OWNER), &password(PASSWORD), None).await {
            Ok(LoginOutcome::Session { session, .. }) => session.token,
            _ => panic!("expected a session"),
        }
    }

    async fn organization_id(h: &Harness) -> String {
        let token = owner_session(h).await;
        h.auth
            .validate_session(&token)
            .await
            .unwrap()
            .organization
            .id
    }

    #[tokio::test]
    async fn enforcement_starts_exactly_at_grace_deadline() {
        let h = harness(ROOMY, FakeFactors::none()).await;
        let token = owner_session(&h).await;
        let organization = organization_id(&h).await;
        let deadline = h.clock.now_ms() + DAY_MS;
        let policy = MfaPolicy {
            required: true,
            grace_until: Some(deadline),
        };
        h.auth.set_mfa_policy(&token, policy, None).await.unwrap();

        h.clock.set(deadline - 1);
        let before = h.auth.enforcement(&organization, h.clock.now_ms()).await;
        h.clock.set(deadline);
        let at = h.auth.enforcement(&organization, h.clock.now_ms()).await;

        assert_eq!(before.unwrap(), Enforcement::From(deadline));
        assert_eq!(at.unwrap(), Enforcement::Now);
    }

    #[tokio::test]
    async fn enforcement_is_none_when_not_required_or_organization_unknown() {
        let h = harness(ROOMY, FakeFactors::none()).await;
        let organization = organization_id(&h).await;
        let now = h.clock.now_ms();

        let off = h.auth.enforcement(&organization, now).await.unwrap();
        let unknown = h.auth.enforcement("no-such-org", now).await.unwrap();

        assert_eq!(off, Enforcement::None);
        assert_eq!(unknown, Enforcement::None);
    }

    #[tokio::test]
    async fn set_mfa_policy_refused_to_restricted_sessions_old_and_new() {
        let h = harness(ROOMY, FakeFactors::none()).await;
        let token = owner_session(&h).await;
        let now_required = MfaPolicy {
            required: true,
            grace_until: None,
        };
        h.auth
            .set_mfa_policy(&token, now_required, None)
            .await
            .unwrap();

        let Ok(LoginOutcome::EnrollmentRequired(restricted)) =
            h.auth.login(&email(OWNER), &password(PASSWORD), None).await
        else {
            panic!("expected enrollment required");
        };
        let refused = h
            .auth
            .set_mfa_policy(&restricted.token, MfaPolicy::default(), None)
            .await;

        assert!(
            matches!(refused, Err(AdminError::Restricted)),
            "{refused:?}"
        );
        // The session that set the policy was proven by password alone.
        let earlier = h.auth.validate_session(&token).await;
        assert!(
            matches!(earlier, Err(SessionError::Restricted)),
            "{:?}",
            earlier.err()
        );
    }
}
