//! Trading a member's recovery codes for a new set with a current code
//! from the authenticator. The code's step is recorded in the transaction
//! that swaps the sets, so it works once; the check counts toward the
//! lockout of [`super::lockout`]; the new set is recorded in the audit log.

use super::{Mfa, RegenerateError, SECURITY_TARGET};
use crate::{
    code::Code,
    model::{Caller, Requester},
    ports::{AuditKind, AuditRecord},
    recovery::{RECOVERY_CODES, RecoveryCodes},
    store::StoredFactor,
};

impl Mfa {
    /// Voids the caller's recovery codes and returns a new set, to be shown
    /// once. Needs a current code from the authenticator, checked under the
    /// lockout; its step is recorded in the transaction that swaps the
    /// sets, so it works once. A session that may only enroll is refused.
    /// The audit event is best effort: the new set stands if it fails.
    #[tracing::instrument(skip_all)]
    pub async fn regenerate_recovery_codes(
        &self,
        requester: &Requester,
        code: &Code,
    ) -> Result<RecoveryCodes, RegenerateError> {
        let caller = self.full_caller(requester).await?;
        let member = &caller.member_id;
        let address = requester.address.as_deref();
        let factor = self.deps.factors.factor(member).await?;
        let factor = factor.ok_or(RegenerateError::NotOn)?;
        let swap = self.swap_recovery_codes(&caller, &factor, code);
        let recovery = self.guarded(member, &caller.email, address, swap).await?;
        tracing::info!(target: SECURITY_TARGET, member_id = member.as_str(), "recovery codes regenerated");
        let record = AuditRecord::new(AuditKind::RecoveryCodesRegenerated, member)
            .from_address(address)
            .with("recovery_codes", RECOVERY_CODES.to_string());
        self.audit(record).await;
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
    use secrecy::ExposeSecret;

    use super::super::{
        SessionError, VerifyError,
        fakes::{
            ADDRESS, ENROLLMENT_TOKEN, TOKEN, assert_hides, harness, recovery_enabled as enabled,
            token, typed,
        },
    };
    use super::*;
    use crate::{ports::AuditOutcome, recovery::RecoveryCode};

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
        h.verify_totp(&code).await.unwrap();

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

    #[tokio::test]
    async fn regenerate_recovery_codes_records_event_without_secrets() {
        let (h, enrollment, old) = enabled().await;
        let fresh = h.code(&enrollment, 0);

        let new = h.mfa.regenerate_recovery_codes(&token(TOKEN), &fresh).await;

        let audits = h.sessions.audits();
        let record = audits.last().unwrap();
        assert_eq!(
            (record.kind, record.outcome),
            (AuditKind::RecoveryCodesRegenerated, AuditOutcome::Success)
        );
        assert_eq!(record.client_address.as_deref(), Some(ADDRESS));
        assert_eq!(record.detail["recovery_codes"], "10");
        let mut secrets = vec![fresh.reveal().expose_secret().to_string(), TOKEN.into()];
        let shown = new
            .unwrap()
            .reveal()
            .into_iter()
            .chain(old.iter().map(|c| c.reveal()));
        secrets.extend(shown.map(|c| c.expose_secret().to_string()));
        assert_hides(record, &secrets);
    }

    #[tokio::test]
    async fn regenerate_recovery_codes_refuses_session_that_may_only_enroll() {
        let (h, enrollment, old) = enabled().await;

        let fresh = h.code(&enrollment, 0);
        let requester = token(ENROLLMENT_TOKEN);
        let result = h.mfa.regenerate_recovery_codes(&requester, &fresh).await;

        assert!(matches!(
            result,
            Err(RegenerateError::Session(SessionError::EnrollmentOnly))
        ));
        assert!(h.use_code(&old[0]).await.is_ok());
    }
}
