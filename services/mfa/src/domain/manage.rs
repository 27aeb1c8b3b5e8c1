//! What a signed-in member does with their own second factor: read the
//! status, begin and confirm a TOTP enrollment. Turning MFA off lives in
//! [`super::disable`].
//!
//! A begun enrollment lives beside the active factor and never replaces it;
//! only a confirmation consumes it, atomically, with its code's step
//! recorded so that code cannot be used again, and with a fresh set of
//! recovery codes stored in the same transaction. These are the calls a
//! session of scope "enrollment" may make.

use countersign_kit::clock::millis;
use countersign_plans::Feature;

use super::{
    BeginError, ConfirmError, Enrollment, Fault, Mfa, MfaStatus, SECURITY_TARGET, StatusError,
};
use crate::{
    code::Code,
    model::{MemberId, Method, Requester},
    ports::{AuditKind, AuditRecord, Template},
    recovery::RecoveryCodes,
    store::{Activation, StoreError, StoredEnrollment},
    totp::Authenticator,
};

impl Mfa {
    /// Whether the caller has MFA on, whether an enrollment waits, and how
    /// many recovery codes are left.
    #[tracing::instrument(skip_all)]
    pub async fn status(&self, requester: &Requester) -> Result<MfaStatus, StatusError> {
        let caller = self.caller(requester).await?;
        let member = &caller.member_id;
        let (factors, recovery_codes_remaining) = self.methods(member).await?;
        let pending = self.deps.factors.enrollment(member, self.now_ms()).await?;
        Ok(MfaStatus {
            enabled: factors.contains(&Method::Totp),
            factors,
            enrollment_pending: pending.is_some(),
            recovery_codes_remaining,
        })
    }

    /// The methods the member may answer a challenge with, and how many
    /// recovery codes they have left.
    pub(super) async fn methods(
        &self,
        member: &MemberId,
    ) -> Result<(Vec<Method>, u32), StoreError> {
        if self.deps.factors.factor(member).await?.is_none() {
            return Ok((Vec::new(), 0));
        }
        let left = self.deps.factors.recovery_codes_left(member).await?;
        Ok((factor_methods(Some(left)), left))
    }

    /// Makes a new secret, pending until confirmed; a pending one from an
    /// earlier begin is replaced, an active factor refuses.
    #[tracing::instrument(skip_all)]
    pub async fn begin_enrollment(&self, requester: &Requester) -> Result<Enrollment, BeginError> {
        let caller = self.caller(requester).await?;
        let member = &caller.member_id;
        self.deps.plans.check(&caller.plan, Feature::Mfa)?;
        if self.deps.factors.factor(member).await?.is_some() {
            return Err(BeginError::AlreadyOn);
        }
        let issuer = &self.settings.issuer;
        let totp = Authenticator::generate(issuer, caller.email.as_str()).map_err(Fault::from)?;
        let qr_png = totp.qr_png().map_err(Fault::from)?;
        let sealed = self
            .deps
            .keys
            .seal(member.as_str(), totp.secret())
            .map_err(Fault::from)?;
        let now = self.now_ms();
        let expires_at_ms = now.saturating_add(millis(self.settings.enrollment_ttl));
        let pending = StoredEnrollment {
            sealed,
            expires_at_ms,
        };
        self.deps
            .factors
            .put_enrollment(member, &pending, now)
            .await?;
        tracing::info!(target: SECURITY_TARGET, member_id = member.as_str(), "totp enrollment begun");
        Ok(Enrollment {
            secret: totp.secret_base32(),
            uri: totp.uri(),
            qr_png,
            expires_at_ms,
        })
    }

    /// Activates the pending secret with a code from it, with a fresh set
    /// of recovery codes returned to be shown once, then mails a notice,
    /// records the audit event and ends the caller's other sessions.
    /// Limitation: if the notice cannot be enqueued, the event recorded or
    /// the other sessions ended, MFA stays on and the failure is only
    /// logged, so those sessions live on until they expire.
    #[tracing::instrument(skip_all)]
    pub async fn confirm_enrollment(
        &self,
        requester: &Requester,
        code: &Code,
    ) -> Result<RecoveryCodes, ConfirmError> {
        let caller = self.caller(requester).await?;
        let member = &caller.member_id;
        if self.deps.factors.factor(member).await?.is_some() {
            return Err(ConfirmError::AlreadyOn);
        }
        let now = self.now_ms();
        let pending = self.deps.factors.enrollment(member, now).await?;
        let pending = pending.ok_or(ConfirmError::NotBegun)?;
        let totp = self.authenticator(member, caller.email.as_str(), &pending.sealed)?;
        let Some(step) = self.matching_step(&totp, code) else {
            tracing::info!(target: SECURITY_TARGET, member_id = member.as_str(), "enrollment code refused");
            return Err(ConfirmError::WrongCode);
        };
        // A code emailed under an earlier authenticator, before a disable or
        // a reset, must not work for this one; none is sent meanwhile, as
        // sending needs an active factor.
        self.deps.codes.forget_codes(member).await?;
        let recovery = RecoveryCodes::generate();
        let digests = recovery.digests(&self.deps.code_key, member.as_str());
        let nonce = &pending.sealed.nonce;
        let activation = self
            .deps
            .factors
            .activate(member, nonce, step, now, &digests);
        match activation.await? {
            Activation::Activated => {}
            Activation::NoEnrollment => return Err(ConfirmError::CodeReused),
            Activation::AlreadyOn => return Err(ConfirmError::AlreadyOn),
        }
        tracing::info!(target: SECURITY_TARGET, member_id = member.as_str(), "mfa enabled");
        let notice = self.notice(Template::MfaEnabled, &caller);
        let record = AuditRecord::new(AuditKind::MfaEnabled, member)
            .from_address(requester.address.as_deref())
            .with("factor", Method::Totp.name());
        let sessions = self.deps.sessions.end_others(member, &requester.token);
        let ((), (), ended) = tokio::join!(self.notify(notice), self.audit(record), sessions);
        if let Err(error) = ended {
            tracing::warn!(member_id = member.as_str(), %error, "other sessions not ended");
        }
        Ok(recovery)
    }
}

/// The methods a member may answer a challenge with, given the recovery
/// codes they have left if they have TOTP (`None` without): the emailed
/// code and recovery codes are only fallbacks of a member who has MFA, and
/// recovery codes only while some are left.
pub(super) fn factor_methods(recovery_codes_left: Option<u32>) -> Vec<Method> {
    match recovery_codes_left {
        None => Vec::new(),
        Some(0) => vec![Method::Totp, Method::EmailCode],
        Some(_) => vec![Method::Totp, Method::EmailCode, Method::RecoveryCode],
    }
}

#[cfg(test)]
mod tests {
    use std::{sync::atomic::Ordering, time::Duration};

    use secrecy::ExposeSecret;

    use countersign_kit::clock::Clock;

    use super::super::{
        SessionError,
        fakes::{
            ADDRESS, ENROLLMENT_TOKEN, MEMBER, PRIME_TOKEN, TOKEN, assert_hides, harness, member,
            token,
        },
    };
    use super::*;
    use crate::ports::{AuditOutcome, RemoteError};

    #[tokio::test]
    async fn status_is_off_when_nothing_enrolled() {
        let h = harness().await;

        let status = h.mfa.status(&token(TOKEN)).await.unwrap();

        assert!(!status.enabled && !status.enrollment_pending);
        assert!(status.factors.is_empty());
    }

    #[tokio::test]
    async fn status_refuses_session_auth_rejects() {
        let h = harness().await;

        let result = h.mfa.status(&token("unknown")).await;

        assert!(matches!(
            result,
            Err(StatusError::Session(SessionError::Auth(
                RemoteError::Unauthenticated(_)
            )))
        ));
    }

    #[tokio::test]
    async fn begin_enrollment_names_needed_plan_when_plan_is_prime() {
        let h = harness().await;

        let error = h
            .mfa
            .begin_enrollment(&token(PRIME_TOKEN))
            .await
            .unwrap_err();

        let BeginError::PlanTooLow(denied) = error else {
            panic!("{error:?}")
        };
        assert_eq!(
            denied.to_string(),
            "multi-factor authentication needs the essential plan or higher"
        );
    }

    #[tokio::test]
    async fn begin_enrollment_leaves_status_pending_not_enabled() {
        let h = harness().await;

        let enrollment = h.mfa.begin_enrollment(&token(TOKEN)).await.unwrap();

        let status = h.mfa.status(&token(TOKEN)).await.unwrap();
        assert!(!status.enabled && status.enrollment_pending);
        assert_eq!(enrollment.expires_at_ms, h.clock.now_ms() + 600_000);
        assert!(enrollment.qr_png.expose_secret().starts_with(b"\x89PNG"));
    }

    #[tokio::test]
    async fn begin_enrollment_refuses_when_mfa_already_on() {
        let h = harness().await;
        h.enable().await;

        let result = h.mfa.begin_enrollment(&token(TOKEN)).await;

        assert!(matches!(result, Err(BeginError::AlreadyOn)));
    }

    #[tokio::test]
    async fn confirm_enrollment_enables_notifies_and_ends_other_sessions() {
        let h = harness().await;
        let enrollment = h.mfa.begin_enrollment(&token(TOKEN)).await.unwrap();

        let code = h.code(&enrollment, 0);
        h.mfa
            .confirm_enrollment(&token(TOKEN), &code)
            .await
            .unwrap();

        let status = h.mfa.status(&token(TOKEN)).await.unwrap();
        assert!(status.enabled && !status.enrollment_pending);
        let methods = [Method::Totp, Method::EmailCode, Method::RecoveryCode];
        assert_eq!(status.factors, methods);
        assert_eq!(h.mailer.templates(), vec![Template::MfaEnabled]);
        let ended = h.sessions.ended.lock().unwrap().clone();
        assert_eq!(ended, vec![(MEMBER.to_string(), TOKEN.to_string())]);
    }

    #[tokio::test]
    async fn confirm_enrollment_refuses_code_of_replaced_enrollment() {
        let h = harness().await;
        let abandoned = h.mfa.begin_enrollment(&token(TOKEN)).await.unwrap();
        let current = h.mfa.begin_enrollment(&token(TOKEN)).await.unwrap();

        let stale = h
            .mfa
            .confirm_enrollment(&token(TOKEN), &h.code(&abandoned, 0))
            .await;
        let fresh = h
            .mfa
            .confirm_enrollment(&token(TOKEN), &h.code(&current, 0))
            .await;

        assert!(matches!(stale, Err(ConfirmError::WrongCode)));
        assert!(fresh.is_ok());
    }

    #[tokio::test]
    async fn confirm_enrollment_refuses_when_not_begun_or_lapsed() {
        let h = harness().await;
        let code = Code::parse("123456").unwrap();
        assert!(matches!(
            h.mfa.confirm_enrollment(&token(TOKEN), &code).await,
            Err(ConfirmError::NotBegun)
        ));
        let enrollment = h.mfa.begin_enrollment(&token(TOKEN)).await.unwrap();

        h.clock.advance(Duration::from_secs(600));
        let result = h
            .mfa
            .confirm_enrollment(&token(TOKEN), &h.code(&enrollment, 0))
            .await;

        assert!(matches!(result, Err(ConfirmError::NotBegun)));
    }

    #[tokio::test]
    async fn confirm_enrollment_refuses_code_two_steps_old() {
        let h = harness().await;
        let enrollment = h.mfa.begin_enrollment(&token(TOKEN)).await.unwrap();

        let result = h
            .mfa
            .confirm_enrollment(&token(TOKEN), &h.code(&enrollment, -2))
            .await;

        assert!(matches!(result, Err(ConfirmError::WrongCode)));
        assert!(!h.mfa.status(&token(TOKEN)).await.unwrap().enabled);
    }

    #[tokio::test]
    async fn confirm_enrollment_stands_when_notice_cannot_be_enqueued() {
        let h = harness().await;
        h.mailer.down.store(true, Ordering::SeqCst);

        h.enable().await;

        assert!(h.mfa.status(&token(TOKEN)).await.unwrap().enabled);
        assert!(h.mailer.templates().is_empty());
    }

    #[tokio::test]
    async fn confirm_enrollment_records_mfa_enabled_without_secrets() {
        let h = harness().await;
        let enrollment = h.mfa.begin_enrollment(&token(TOKEN)).await.unwrap();
        let code = h.code(&enrollment, 0);

        let recovery = h.mfa.confirm_enrollment(&token(TOKEN), &code).await;

        let audits = h.sessions.audits();
        assert_eq!(audits.len(), 1);
        let record = &audits[0];
        assert_eq!(
            (record.kind, record.outcome),
            (AuditKind::MfaEnabled, AuditOutcome::Success)
        );
        assert_eq!(record.member, member());
        assert_eq!(record.client_address.as_deref(), Some(ADDRESS));
        assert_eq!(
            record.detail.get("factor").map(String::as_str),
            Some("totp")
        );
        let mut secrets = vec![
            enrollment.secret.expose_secret().to_string(),
            code.reveal().expose_secret().to_string(),
            TOKEN.to_string(),
        ];
        let shown = recovery.unwrap().reveal();
        secrets.extend(shown.iter().map(|c| c.expose_secret().to_string()));
        assert_hides(record, &secrets);
    }

    #[tokio::test]
    async fn confirm_enrollment_stands_when_audit_event_cannot_be_recorded() {
        let h = harness().await;
        h.sessions.internal_down.store(true, Ordering::SeqCst);

        h.enable().await;

        assert!(h.mfa.status(&token(TOKEN)).await.unwrap().enabled);
        assert!(h.sessions.audits().is_empty());
        assert_eq!(h.mailer.templates(), vec![Template::MfaEnabled]);
        assert_eq!(h.sessions.ended.lock().unwrap().len(), 1);
    }

    #[tokio::test]
    async fn enrollment_session_may_read_status_and_enroll() {
        let h = harness().await;
        let requester = token(ENROLLMENT_TOKEN);

        let enrollment = h.mfa.begin_enrollment(&requester).await.unwrap();
        let code = h.code(&enrollment, 0);
        let confirmed = h.mfa.confirm_enrollment(&requester, &code).await;

        assert!(confirmed.is_ok());
        assert!(h.mfa.status(&requester).await.unwrap().enabled);
    }
}
