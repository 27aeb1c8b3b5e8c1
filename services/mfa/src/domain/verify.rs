//! What the auth service asks during a login: which factors a member has
//! and whether a code is right. Emailing a code lives in
//! [`super::email_code`].
//!
//! Each accepted TOTP step is recorded by a conditional write, so a code
//! works once; an emailed code is consumed by the store's atomic check.
//! Both need an active TOTP factor: the emailed code is its fallback, so
//! once MFA is off no outstanding emailed code works either. Every check
//! runs under the lockout of [`super::lockout`].

use super::{FactorsError, Mfa, SECURITY_TARGET, VerifyError};
use crate::{
    code::Code,
    model::{EmailAddress, MemberId, Method},
    store::StoredFactor,
};

impl Mfa {
    /// The methods the member may answer a challenge with.
    #[tracing::instrument(skip_all, fields(member_id = member.as_str()))]
    pub async fn factors(&self, member: &MemberId) -> Result<Vec<Method>, FactorsError> {
        Ok(self.methods(member).await?.0)
    }

    /// Accepts a right, fresh code or names why not. Failed attempts of
    /// every factor together lock the member for a while, and a locked
    /// member is refused with the time left, whatever the code; `email`
    /// receives the notice when a lock starts, and `address` (the end
    /// user's, as auth forwards it) goes into its audit event.
    #[tracing::instrument(skip_all, fields(member_id = member.as_str(), method = method.name()))]
    pub async fn verify(
        &self,
        member: &MemberId,
        method: Method,
        code: &Code,
        email: &EmailAddress,
        address: Option<&str>,
    ) -> Result<(), VerifyError> {
        let verdict = async {
            let factor = self.deps.factors.factor(member).await?;
            let factor = factor.ok_or(VerifyError::NoFactor)?;
            let check = self.check_code(member, method, &factor, code);
            self.guarded(member, email, address, check).await
        };
        logged(member, method, verdict.await)
    }

    /// Checks `code` by `method`, outside the lockout.
    async fn check_code(
        &self,
        member: &MemberId,
        method: Method,
        factor: &StoredFactor,
        code: &Code,
    ) -> Result<(), VerifyError> {
        match method {
            Method::Totp => self.verify_totp(member, factor, code).await,
            Method::EmailCode => self.verify_email_code(member, code).await,
            // Six digits are never a recovery code; those go through
            // `verify_recovery_code`.
            Method::RecoveryCode => Err(VerifyError::WrongCode),
        }
    }

    async fn verify_totp(
        &self,
        member: &MemberId,
        factor: &StoredFactor,
        code: &Code,
    ) -> Result<(), VerifyError> {
        // The account name only labels URIs; verification does not use it.
        let totp = self.authenticator(member, member.as_str(), &factor.sealed)?;
        let step = self
            .matching_step(&totp, code)
            .ok_or(VerifyError::WrongCode)?;
        if self.deps.factors.use_step(member, step).await? {
            Ok(())
        } else {
            Err(VerifyError::CodeReused)
        }
    }
}

/// Logs the verdict on a code the member answered a challenge with, under
/// the security target, and hands it back.
pub(super) fn logged(
    member: &MemberId,
    method: Method,
    verdict: Result<(), VerifyError>,
) -> Result<(), VerifyError> {
    let method = method.name();
    match &verdict {
        Ok(()) => tracing::info!(target: SECURITY_TARGET, member_id = member.as_str(),
            method, "second factor accepted"),
        Err(error) => tracing::info!(target: SECURITY_TARGET, member_id = member.as_str(),
            method, %error, "second factor refused"),
    }
    verdict
}

#[cfg(test)]
mod tests {
    use super::super::fakes::{Harness, harness, harness_with, member};
    use super::*;
    use crate::domain::Enrollment;

    async fn enabled(h: Harness) -> (Harness, Enrollment) {
        let enrollment = h.enable().await;
        h.next_step();
        (h, enrollment)
    }

    #[tokio::test]
    async fn factors_lists_totp_and_email_code_when_enabled() {
        let (h, _) = enabled(harness().await).await;

        let factors = h.mfa.factors(&member()).await.unwrap();

        assert!(
            factors.starts_with(&[Method::Totp, Method::EmailCode]),
            "{factors:?}"
        );
    }

    #[tokio::test]
    async fn verify_totp_accepts_fresh_code_once() {
        let (h, enrollment) = enabled(harness().await).await;
        let code = h.code(&enrollment, 0);

        let first = h.verify_totp(&code).await;
        let second = h.verify_totp(&code).await;

        assert!(first.is_ok());
        assert!(matches!(second, Err(VerifyError::CodeReused)));
    }

    #[tokio::test]
    async fn verify_totp_refuses_code_that_confirmed_enrollment() {
        let h = harness().await;
        let enrollment = h.enable().await;

        let result = h.verify_totp(&h.code(&enrollment, 0)).await;

        assert!(matches!(result, Err(VerifyError::CodeReused)));
    }

    #[tokio::test]
    async fn verify_totp_accepts_one_of_concurrent_uses() {
        let (h, enrollment) = enabled(harness().await).await;
        let code = h.code(&enrollment, 0);

        let (a, b) = tokio::join!(h.verify_totp(&code), h.verify_totp(&code));

        assert_eq!(usize::from(a.is_ok()) + usize::from(b.is_ok()), 1);
    }

    #[tokio::test]
    async fn verify_totp_refuses_when_member_has_no_factor() {
        let h = harness().await;

        let result = h.verify_totp(&Code::random()).await;

        assert!(matches!(result, Err(VerifyError::NoFactor)));
    }

    #[tokio::test]
    async fn verify_totp_accepts_one_step_either_side_and_refuses_two() {
        let (h, enrollment) = enabled(harness().await).await;
        h.next_step();
        h.next_step();

        let two_ago = h.verify_totp(&h.code(&enrollment, -2)).await;
        let one_ago = h.verify_totp(&h.code(&enrollment, -1)).await;
        let one_ahead = h.verify_totp(&h.code(&enrollment, 1)).await;
        let two_ahead = h.verify_totp(&h.code(&enrollment, 2)).await;

        assert!(matches!(two_ago, Err(VerifyError::WrongCode)));
        assert!(one_ago.is_ok() && one_ahead.is_ok());
        assert!(matches!(two_ahead, Err(VerifyError::WrongCode)));
    }

    #[tokio::test]
    async fn verify_totp_window_follows_its_setting() {
        let (exact, exact_enrollment) = enabled(harness_with(|s| s.window_steps = 0).await).await;
        let (wide, wide_enrollment) = enabled(harness_with(|s| s.window_steps = 2).await).await;

        let one_ago = exact.verify_totp(&exact.code(&exact_enrollment, -1)).await;
        let now = exact.verify_totp(&exact.code(&exact_enrollment, 0)).await;
        let two_ahead = wide.verify_totp(&wide.code(&wide_enrollment, 2)).await;
        let three_ahead = wide.verify_totp(&wide.code(&wide_enrollment, 3)).await;

        assert!(matches!(one_ago, Err(VerifyError::WrongCode)));
        assert!(now.is_ok() && two_ahead.is_ok());
        assert!(matches!(three_ahead, Err(VerifyError::WrongCode)));
    }
}
