//! What the auth service asks on an admin's behalf: resetting a member's
//! second factors for a lost phone, and the factors of many members at
//! once for the adoption report. Neither needs a code: auth has checked
//! the admin, and it mails the member and writes the audit event of a
//! reset itself.

use super::{ListFactorsError, Mfa, ResetError, SECURITY_TARGET, manage::factor_methods};
use crate::model::{MemberId, Method};

/// Most members one listing may ask about.
pub const MAX_LISTED_MEMBERS: usize = 500;

/// The methods one member may answer a challenge with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberFactors {
    /// The member asked about.
    pub member: MemberId,
    /// As [`Mfa::factors`] gives them: empty without MFA.
    pub methods: Vec<Method>,
}

impl Mfa {
    /// Voids the member's authenticator, pending enrollment and recovery
    /// codes in one step; returns whether there was an authenticator, so a
    /// repeated reset answers false. Sends no email.
    ///
    /// Limitation: a lock left by earlier failed attempts runs its course,
    /// so a member who enrolls again at once may be refused at the next
    /// login until it lapses.
    #[tracing::instrument(skip_all, fields(member_id = member.as_str()))]
    pub async fn reset_factors(&self, member: &MemberId) -> Result<bool, ResetError> {
        let had_factor = self.deps.factors.reset(member).await?;
        tracing::info!(target: SECURITY_TARGET, member_id = member.as_str(), had_factor,
            "mfa reset by an admin");
        Ok(had_factor)
    }

    /// The methods of each of `members`, in the order asked, a member
    /// asked twice listed twice. The gRPC edge refuses more than
    /// [`MAX_LISTED_MEMBERS`]; the store reads longer lists in batches.
    #[tracing::instrument(skip_all, fields(count = members.len()))]
    pub async fn list_factors(
        &self,
        members: &[MemberId],
    ) -> Result<Vec<MemberFactors>, ListFactorsError> {
        let enabled = self.deps.factors.enabled_among(members).await?;
        let listed = members.iter().map(|member| {
            let left = enabled.get(member).copied();
            MemberFactors {
                member: member.clone(),
                methods: factor_methods(left.is_some(), left.unwrap_or(0)),
            }
        });
        Ok(listed.collect())
    }
}

#[cfg(test)]
mod tests {
    use secrecy::ExposeSecret;

    use super::super::{
        VerifyError,
        fakes::{Harness, TOKEN, email, harness, member, token},
    };
    use super::*;
    use crate::{ports::Template, recovery::RecoveryCode};

    fn id(text: &str) -> MemberId {
        MemberId::parse(text).unwrap()
    }

    impl Harness {
        async fn verify_totp(&self, code: &crate::code::Code) -> Result<(), VerifyError> {
            let (member, email) = (member(), email());
            self.mfa.verify(&member, Method::Totp, code, &email).await
        }
    }

    #[tokio::test]
    async fn reset_factors_voids_factor_and_recovery_codes_and_answers_false_after() {
        let h = harness().await;
        let (enrollment, codes) = h.enable_with_recovery().await;
        h.next_step();
        let fresh = h.code(&enrollment, 0);
        let recovery = RecoveryCode::parse(codes.reveal()[0].expose_secret()).unwrap();
        let sent_before = h.mailer.templates();

        let first = h.mfa.reset_factors(&member()).await.unwrap();
        let again = h.mfa.reset_factors(&member()).await.unwrap();

        assert!(first && !again);
        let status = h.mfa.status(&token(TOKEN)).await.unwrap();
        assert!(!status.enabled && status.factors.is_empty());
        assert_eq!(status.recovery_codes_remaining, 0);
        let totp = h.verify_totp(&fresh).await;
        assert!(matches!(totp, Err(VerifyError::NoFactor)), "{totp:?}");
        let (member, email) = (member(), email());
        let used = h.mfa.verify_recovery_code(&member, &recovery, &email).await;
        assert!(matches!(used, Err(VerifyError::NoFactor)));
        assert_eq!(h.mailer.templates(), sent_before);
        assert!(!h.mailer.templates().contains(&Template::MfaDisabled));
    }

    #[tokio::test]
    async fn reset_factors_voids_pending_enrollment_of_member_without_factor() {
        let h = harness().await;
        let enrollment = h.mfa.begin_enrollment(&token(TOKEN)).await.unwrap();

        let had_factor = h.mfa.reset_factors(&member()).await.unwrap();

        assert!(!had_factor);
        let status = h.mfa.status(&token(TOKEN)).await.unwrap();
        assert!(!status.enrollment_pending);
        let code = h.code(&enrollment, 0);
        let confirmed = h.mfa.confirm_enrollment(&token(TOKEN), &code).await;
        assert!(confirmed.is_err());
    }

    #[tokio::test]
    async fn reset_factors_lets_member_enroll_anew_and_records_no_audit_event() {
        let h = harness().await;
        h.enable().await;
        let audits_before = h.sessions.audits().len();

        h.mfa.reset_factors(&member()).await.unwrap();
        h.next_step();
        h.enable().await;

        assert!(h.mfa.status(&token(TOKEN)).await.unwrap().enabled);
        let kinds = h.sessions.audits()[audits_before..].to_vec();
        assert_eq!(kinds.len(), 1, "only the new enrollment: {kinds:?}");
    }

    #[tokio::test]
    async fn list_factors_answers_in_order_asked_with_empty_for_members_without_mfa() {
        let h = harness().await;
        h.enable().await;
        let asked = [id("stranger"), member(), id("other"), member()];

        let listed = h.mfa.list_factors(&asked).await.unwrap();

        let members: Vec<&MemberId> = listed.iter().map(|m| &m.member).collect();
        assert_eq!(members, asked.iter().collect::<Vec<_>>());
        let all = [Method::Totp, Method::EmailCode, Method::RecoveryCode];
        assert!(listed[0].methods.is_empty() && listed[2].methods.is_empty());
        assert_eq!(
            (&listed[1].methods[..], &listed[3].methods[..]),
            (&all[..], &all[..])
        );
        assert_eq!(listed[1].methods, h.mfa.factors(&member()).await.unwrap());
    }

    #[tokio::test]
    async fn list_factors_answers_empty_list_with_empty_list() {
        let h = harness().await;

        let listed = h.mfa.list_factors(&[]).await.unwrap();

        assert!(listed.is_empty());
    }

    #[tokio::test]
    async fn list_factors_reads_lists_longer_than_one_request_allows() {
        let h = harness().await;
        h.enable().await;
        let mut asked: Vec<MemberId> = (0..MAX_LISTED_MEMBERS * 2)
            .map(|i| id(&format!("m{i}")))
            .collect();
        asked.push(member());

        let listed = h.mfa.list_factors(&asked).await.unwrap();

        assert_eq!(listed.len(), asked.len());
        assert!(
            listed[..asked.len() - 1]
                .iter()
                .all(|m| m.methods.is_empty())
        );
        assert!(!listed.last().unwrap().methods.is_empty());
    }
}
