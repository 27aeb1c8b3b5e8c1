//! Recovery codes in use: answering a challenge with one, and trading the
//! whole set for a new one with a current authenticator code.
//!
//! A code is consumed by one conditional delete, so of two simultaneous
//! uses one succeeds; each use mails the member a notice with the number of
//! codes left. Both checks count toward the lockout of [`super::lockout`].
//! Codes work only while the member has a TOTP factor: they are its
//! fallback, and turning MFA off removes them.

use secrecy::SecretString;

use super::{Mfa, RegenerateError, SECURITY_TARGET, VerifyError, verify::logged};
use crate::{
    code::Code,
    model::{Caller, EmailAddress, MemberId, Method, SessionToken},
    ports::{OutgoingEmail, Template},
    recovery::{RecoveryCode, RecoveryCodes},
    store::StoredFactor,
};

impl Mfa {
    /// Accepts one of the member's unused recovery codes, once, under the
    /// lockout shared by every factor, then mails `email` a notice naming
    /// how many codes are left. The use stands whatever happens to the
    /// email.
    #[tracing::instrument(skip_all, fields(member_id = member.as_str()))]
    pub async fn verify_recovery_code(
        &self,
        member: &MemberId,
        code: &RecoveryCode,
        email: &EmailAddress,
    ) -> Result<(), VerifyError> {
        let verdict = self.use_recovery_code(member, code, email).await;
        logged(member, Method::RecoveryCode, verdict)
    }

    async fn use_recovery_code(
        &self,
        member: &MemberId,
        code: &RecoveryCode,
        email: &EmailAddress,
    ) -> Result<(), VerifyError> {
        if self.deps.factors.factor(member).await?.is_none() {
            return Err(VerifyError::NoFactor);
        }
        let digest = code.digest(&self.deps.code_key, member.as_str());
        let used = async {
            let left = self.deps.factors.use_recovery_code(member, &digest).await?;
            left.ok_or(VerifyError::WrongCode)
        };
        let left = self.guarded(member, email, used).await?;
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
        self.notify(notice).await;
        Ok(())
    }

    /// Voids the caller's recovery codes and returns a new set, to be shown
    /// once. Needs a current code from the authenticator, checked under the
    /// lockout; its step is recorded in the transaction that swaps the
    /// sets, so it works once.
    #[tracing::instrument(skip_all)]
    pub async fn regenerate_recovery_codes(
        &self,
        token: &SessionToken,
        code: &Code,
    ) -> Result<RecoveryCodes, RegenerateError> {
        let caller = self.caller(token).await?;
        let member = &caller.member_id;
        let factor = self.deps.factors.factor(member).await?;
        let factor = factor.ok_or(RegenerateError::NotOn)?;
        let swap = self.swap_recovery_codes(&caller, &factor, code);
        let recovery = self.guarded(member, &caller.email, swap).await?;
        tracing::info!(target: SECURITY_TARGET, member_id = member.as_str(), "recovery codes regenerated");
        Ok(recovery)
    }

    /// Replaces the recovery codes if `code` is a fresh code of `factor`.
    async fn swap_recovery_codes(
        &self,
        caller: &Caller,
        factor: &StoredFactor,
        code: &Code,
    ) -> Result<RecoveryCodes, RegenerateError> {
        let member = &caller.member_id;
        let totp = self.authenticator(member, caller.email.as_str(), &factor.sealed)?;
        let Some(step) = self.matching_step(&totp, code) else {
            tracing::info!(target: SECURITY_TARGET, member_id = member.as_str(), "regenerate code refused");
            return Err(RegenerateError::WrongCode);
        };
        let recovery = RecoveryCodes::generate();
        let digests = recovery.digests(&self.deps.code_key, member.as_str());
        let now = self.now_ms();
        let factors = &self.deps.factors;
        let swapped = factors.replace_recovery_codes(member, step, &digests, now);
        if !swapped.await? {
            tracing::info!(target: SECURITY_TARGET, member_id = member.as_str(), "regenerate code reused");
            return Err(RegenerateError::CodeReused);
        }
        Ok(recovery)
    }
}

#[cfg(test)]
mod tests {
    use std::{collections::HashSet, sync::atomic::Ordering};

    use secrecy::ExposeSecret;

    use super::super::{
        Enrollment,
        fakes::{Harness, TOKEN, email, harness, member, token},
    };
    use super::*;
    use crate::recovery::RECOVERY_CODES;

    /// The codes as their member would type them back.
    fn typed(codes: &RecoveryCodes) -> Vec<RecoveryCode> {
        let shown = codes.reveal();
        let parsed = shown.iter().map(|c| RecoveryCode::parse(c.expose_secret()));
        parsed.map(Result::unwrap).collect()
    }

    async fn enabled() -> (Harness, Enrollment, Vec<RecoveryCode>) {
        let h = harness().await;
        let (enrollment, codes) = h.enable_with_recovery().await;
        h.next_step();
        (h, enrollment, typed(&codes))
    }

    impl Harness {
        async fn use_code(&self, code: &RecoveryCode) -> Result<(), VerifyError> {
            let (member, email) = (member(), email());
            self.mfa.verify_recovery_code(&member, code, &email).await
        }

        async fn codes_left(&self) -> u32 {
            let status = self.mfa.status(&token(TOKEN)).await.unwrap();
            status.recovery_codes_remaining
        }
    }

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

    #[tokio::test]
    async fn regenerate_recovery_codes_voids_old_set_with_fresh_code() {
        let (h, enrollment, old) = enabled().await;
        h.use_code(&old[0]).await.unwrap();

        let fresh = h.code(&enrollment, 0);
        let new = h.mfa.regenerate_recovery_codes(&token(TOKEN), &fresh).await;

        let new = typed(&new.unwrap());
        assert_eq!(new.len(), RECOVERY_CODES);
        // Two old codes only: more failures would start the lockout.
        for code in &old[1..3] {
            let refused = h.use_code(code).await;
            assert!(matches!(refused, Err(VerifyError::WrongCode)));
        }
        assert_eq!(h.codes_left().await, 10);
        assert!(h.use_code(&new[9]).await.is_ok());
    }

    #[tokio::test]
    async fn regenerate_recovery_codes_refuses_wrong_code_and_keeps_old_set() {
        let (h, enrollment, old) = enabled().await;

        let wrong = h.code(&enrollment, 3);
        let result = h.mfa.regenerate_recovery_codes(&token(TOKEN), &wrong).await;

        assert!(matches!(result, Err(RegenerateError::WrongCode)));
        assert!(h.use_code(&old[0]).await.is_ok());
    }

    #[tokio::test]
    async fn regenerate_recovery_codes_refuses_code_already_used() {
        let (h, enrollment, old) = enabled().await;
        let code = h.code(&enrollment, 0);
        let (member, email) = (member(), email());
        h.mfa
            .verify(&member, Method::Totp, &code, &email)
            .await
            .unwrap();

        let result = h.mfa.regenerate_recovery_codes(&token(TOKEN), &code).await;

        assert!(matches!(result, Err(RegenerateError::CodeReused)));
        assert!(h.use_code(&old[0]).await.is_ok());
    }

    #[tokio::test]
    async fn regenerate_recovery_codes_is_refused_while_member_is_locked() {
        let (h, enrollment, _) = enabled().await;
        for _ in 0..5 {
            let _ = h.use_code(&RecoveryCode::random()).await;
        }

        let fresh = h.code(&enrollment, 0);
        let result = h.mfa.regenerate_recovery_codes(&token(TOKEN), &fresh).await;

        assert!(
            matches!(result, Err(RegenerateError::Locked(_))),
            "{result:?}"
        );
    }

    #[tokio::test]
    async fn regenerate_recovery_codes_refuses_when_mfa_is_off() {
        let h = harness().await;

        let code = Code::parse("123456").unwrap();
        let result = h.mfa.regenerate_recovery_codes(&token(TOKEN), &code).await;

        assert!(matches!(result, Err(RegenerateError::NotOn)));
    }
}
