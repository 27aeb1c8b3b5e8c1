//! What the auth service asks on an admin's behalf: resetting a member's
//! second factors for a lost phone, lockout and emailed codes included,
//! and the factors of many members at once for the adoption report.
//! Neither needs a code: auth has checked the admin, and it mails the
//! member and writes the audit event of a reset itself.

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
    /// codes in one transaction and lifts their second-factor lock with its
    /// failure count: a lock left from the lost phone would refuse their
    /// next logins. Codes emailed before stop working when the member
    /// enrolls anew (see [`Mfa::confirm_enrollment`]); the send cooldown
    /// and quota stay, so a reset buys no sends. Returns whether there was
    /// an authenticator, so a repeated reset answers false. Sends no email.
    ///
    /// The lock is lifted before the authenticator is voided, so a lock
    /// store that is down fails the reset with nothing voided, and again
    /// after, for an attempt failed meanwhile; should that second lift
    /// fail, the reset stands and the failure is logged.
    #[tracing::instrument(skip_all, fields(member_id = member.as_str()))]
    pub async fn reset_factors(&self, member: &MemberId) -> Result<bool, ResetError> {
        self.deps.lockouts.clear(member).await?;
        let had_factor = self.deps.factors.reset(member).await?;
        if let Err(error) = self.deps.lockouts.clear(member).await {
            tracing::warn!(member_id = member.as_str(), %error, "lockout not cleared after reset");
        }
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
        let listed = members.iter().map(|member| MemberFactors {
            member: member.clone(),
            methods: factor_methods(enabled.get(member).copied()),
        });
        Ok(listed.collect())
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use secrecy::ExposeSecret;

    use super::super::{
        SendCodeError, VerifyError,
        fakes::{TOKEN, harness, member, token},
    };
    use super::*;
    use crate::{ports::Template, recovery::RecoveryCode};

    fn id(text: &str) -> MemberId {
        MemberId::parse(text).unwrap()
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
        let used = h.use_code(&recovery).await;
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
    async fn reset_factors_lets_locked_member_enroll_anew_and_verify_at_once() {
        let h = harness().await;
        let lost = h.enable().await;
        h.next_step();
        for _ in 0..5 {
            let _ = h.verify_totp(&h.code(&lost, 5)).await;
        }
        let locked = h.verify_totp(&h.code(&lost, 0)).await;
        assert!(matches!(locked, Err(VerifyError::Locked(_))), "{locked:?}");

        h.mfa.reset_factors(&member()).await.unwrap();
        let enrollment = h.mfa.begin_enrollment(&token(TOKEN)).await.unwrap();
        let code = h.code(&enrollment, 0);
        let confirmed = h.mfa.confirm_enrollment(&token(TOKEN), &code).await;
        h.next_step();
        let verified = h.verify_totp(&h.code(&enrollment, 0)).await;

        assert!(confirmed.is_ok(), "{confirmed:?}");
        assert!(verified.is_ok(), "{verified:?}");
    }

    #[tokio::test]
    async fn reset_factors_voids_emailed_code_sent_before_for_new_enrollment() {
        let h = harness().await;
        h.enable().await;
        h.next_step();
        let emailed = h.mail_code().await;

        h.mfa.reset_factors(&member()).await.unwrap();
        h.enable().await;
        let used = h.verify_emailed(&emailed).await;

        assert!(matches!(used, Err(VerifyError::CodeMissing)), "{used:?}");
    }

    #[tokio::test]
    async fn reset_factors_keeps_send_cooldown_of_codes_it_voids() {
        let h = harness().await;
        h.enable().await;
        h.next_step();
        h.mail_code().await;

        h.mfa.reset_factors(&member()).await.unwrap();
        h.enable().await;
        let again = h.send_code().await;

        let Err(SendCodeError::TooSoon { retry_after }) = again else {
            panic!("{again:?}")
        };
        assert_eq!(retry_after, Duration::from_secs(60));
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
