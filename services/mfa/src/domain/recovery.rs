//! Recovery codes in use: answering a challenge with one. Trading the
//! whole set for a new one lives in [`super::regenerate`].
//!
//! A code is consumed by one conditional delete, so of two simultaneous
//! uses one succeeds; each use mails the member a notice with the number of
//! codes left and a "this wasn't me" link when auth makes one. Each check
//! counts toward the lockout of [`super::lockout`]. Codes work only while
//! the member has a TOTP factor: they are their fallback, and turning MFA
//! off removes them.

use secrecy::SecretString;

use super::{Mfa, SECURITY_TARGET, VerifyError, verify::logged};
use crate::{
    model::{EmailAddress, MemberId, Method},
    ports::{OutgoingEmail, Template},
    recovery::RecoveryCode,
};

impl Mfa {
    /// Accepts one of the member's unused recovery codes, once, under the
    /// lockout shared by every factor, then mails `email` a notice naming
    /// how many codes are left, with a "this wasn't me" link when auth
    /// makes one. The use stands whatever happens to the email.
    #[tracing::instrument(skip_all, fields(member_id = member.as_str()))]
    pub async fn verify_recovery_code(
        &self,
        member: &MemberId,
        code: &RecoveryCode,
        email: &EmailAddress,
        address: Option<&str>,
    ) -> Result<(), VerifyError> {
        let verdict = self.use_recovery_code(member, code, email, address).await;
        logged(member, Method::RecoveryCode, verdict)
    }

    async fn use_recovery_code(
        &self,
        member: &MemberId,
        code: &RecoveryCode,
        email: &EmailAddress,
        address: Option<&str>,
    ) -> Result<(), VerifyError> {
        if self.deps.factors.factor(member).await?.is_none() {
            return Err(VerifyError::NoFactor);
        }
        let digest = code.digest(&self.deps.code_key, member.as_str());
        let used = async {
            let left = self.deps.factors.use_recovery_code(member, &digest).await?;
            left.ok_or(VerifyError::WrongCode)
        };
        let left = self.guarded(member, email, address, used).await?;
        tracing::info!(target: SECURITY_TARGET, member_id = member.as_str(),
            recovery_codes_left = left, "recovery code used");
        let now = self.now_ms();
        let notice = OutgoingEmail::new(
            Template::RecoveryCodeUsed,
            email.clone(),
            member,
            now,
            &digest.to_hex(),
        )
        .param("remaining", SecretString::from(left.to_string()));
        self.notify_reportable(member, notice).await;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::{collections::HashSet, sync::atomic::Ordering};

    use secrecy::ExposeSecret;

    use super::super::fakes::{
        Harness, REPORT_URL, TOKEN, harness, member, recovery_enabled as enabled, token,
    };
    use super::*;
    use crate::recovery::RECOVERY_CODES;

    #[tokio::test]
    async fn confirm_enrollment_returns_ten_distinct_codes_that_status_counts() {
        let h = harness().await;

        let (_, recovery) = h.enable_with_recovery().await;

        let shown: HashSet<String> = recovery
            .reveal()
            .iter()
            .map(|c| c.expose_secret().to_string())
            .collect();
        assert_eq!(shown.len(), RECOVERY_CODES);
        assert_eq!(h.codes_left().await, 10);
    }

    #[tokio::test]
    async fn verify_recovery_code_accepts_each_code_once_and_mails_count_left() {
        let (h, _, codes) = enabled().await;

        let first = h.use_code(&codes[3]).await;
        let again = h.use_code(&codes[3]).await;

        assert!(first.is_ok());
        assert!(matches!(again, Err(VerifyError::WrongCode)));
        let sent = h.mailer.sent.lock().unwrap().clone();
        let (template, to, params) = sent.last().unwrap();
        let expected = (Template::RecoveryCodeUsed, "ada@example.com");
        assert_eq!((*template, to.as_str()), expected);
        assert_eq!(params["remaining"], "9");
        assert_eq!(h.codes_left().await, 9);
    }

    #[tokio::test]
    async fn verify_recovery_code_accepts_one_of_concurrent_uses() {
        let (h, _, codes) = enabled().await;

        let (a, b) = tokio::join!(h.use_code(&codes[0]), h.use_code(&codes[0]));

        assert_eq!(usize::from(a.is_ok()) + usize::from(b.is_ok()), 1);
        assert_eq!(h.codes_left().await, 9);
    }

    #[tokio::test]
    async fn verify_recovery_code_refuses_code_never_issued() {
        let (h, _, codes) = enabled().await;
        let stranger = RecoveryCode::random();
        assert!(!codes.contains(&stranger));

        let result = h.use_code(&stranger).await;

        assert!(matches!(result, Err(VerifyError::WrongCode)));
        let templates = h.mailer.templates();
        assert!(!templates.contains(&Template::RecoveryCodeUsed));
    }

    #[tokio::test]
    async fn verify_recovery_code_stands_when_notice_cannot_be_enqueued() {
        let (h, _, codes) = enabled().await;
        h.mailer.down.store(true, Ordering::SeqCst);

        let used = h.use_code(&codes[0]).await;

        assert!(used.is_ok());
        assert_eq!(h.codes_left().await, 9);
    }

    #[tokio::test]
    async fn verify_recovery_code_refuses_every_code_once_mfa_is_off() {
        let (h, enrollment, codes) = enabled().await;
        let fresh = h.code(&enrollment, 0);
        h.mfa.disable(&token(TOKEN), &fresh).await.unwrap();

        let result = h.use_code(&codes[0]).await;

        assert!(matches!(result, Err(VerifyError::NoFactor)));
        assert_eq!(h.codes_left().await, 0);
    }

    #[tokio::test]
    async fn verify_recovery_code_locks_member_after_five_wrong_codes() {
        let (h, _, codes) = enabled().await;
        for _ in 0..5 {
            let wrong = h.use_code(&RecoveryCode::random()).await;
            assert!(matches!(
                wrong,
                Err(VerifyError::WrongCode | VerifyError::Locked(_))
            ));
        }

        let right = h.use_code(&codes[0]).await;

        assert!(matches!(right, Err(VerifyError::Locked(_))), "{right:?}");
        assert_eq!(h.codes_left().await, 10);
    }

    #[tokio::test]
    async fn factors_drop_recovery_code_when_last_code_is_used() {
        let (h, _, codes) = enabled().await;
        let all = [Method::Totp, Method::EmailCode, Method::RecoveryCode];
        assert_eq!(h.mfa.factors(&member()).await.unwrap(), all);

        for code in &codes {
            h.use_code(code).await.unwrap();
        }

        let factors = h.mfa.factors(&member()).await.unwrap();
        assert_eq!(factors, [Method::Totp, Method::EmailCode]);
        let status = h.mfa.status(&token(TOKEN)).await.unwrap();
        assert_eq!(
            (status.recovery_codes_remaining, status.factors),
            (0, factors)
        );
    }

    fn last_params(h: &Harness) -> std::collections::HashMap<String, String> {
        h.mailer.sent.lock().unwrap().last().unwrap().2.clone()
    }

    #[tokio::test]
    async fn verify_recovery_code_mails_report_link_auth_makes() {
        let (h, _, codes) = enabled().await;

        h.use_code(&codes[0]).await.unwrap();

        assert_eq!(
            h.mailer.templates().last(),
            Some(&Template::RecoveryCodeUsed)
        );
        assert_eq!(last_params(&h)["report_url"], REPORT_URL);
    }

    #[tokio::test]
    async fn verify_recovery_code_mails_notice_without_link_when_auth_is_down() {
        let (h, _, codes) = enabled().await;
        h.sessions.internal_down.store(true, Ordering::SeqCst);

        let used = h.use_code(&codes[0]).await;

        assert!(used.is_ok());
        assert_eq!(
            h.mailer.templates().last(),
            Some(&Template::RecoveryCodeUsed)
        );
        let params = last_params(&h);
        assert_eq!(params["remaining"], "9");
        assert!(!params.contains_key("report_url"));
    }
}
