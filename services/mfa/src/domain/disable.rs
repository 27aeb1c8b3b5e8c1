//! Turning MFA off: a signed-in member proves the authenticator with a
//! fresh code, and the factor goes with its recovery codes in one step.
//! The member is mailed a notice with a "this wasn't me" link when auth
//! makes one, and auth records the audit event.

use super::{DisableError, Mfa, SECURITY_TARGET};
use crate::{
    code::Code,
    model::{Caller, Method, Requester},
    ports::{AuditKind, AuditRecord, Template},
    store::StoredFactor,
};

impl Mfa {
    /// Turns MFA off with a current code from the authenticator; the
    /// recovery codes go with the factor. The code is checked under the
    /// lockout: a wrong or reused one counts as a failed attempt. A session
    /// that may only enroll is refused. The notice and the audit event are
    /// best effort: MFA stays off if either fails.
    #[tracing::instrument(skip_all)]
    pub async fn disable(&self, requester: &Requester, code: &Code) -> Result<(), DisableError> {
        let caller = self.full_caller(requester).await?;
        let member = &caller.member_id;
        let address = requester.address.as_deref();
        let factor = self.deps.factors.factor(member).await?;
        let factor = factor.ok_or(DisableError::NotOn)?;
        let removal = self.remove_factor(&caller, &factor, code);
        self.guarded(member, &caller.email, address, removal)
            .await?;
        tracing::info!(target: SECURITY_TARGET, member_id = member.as_str(), "mfa disabled");
        let record = AuditRecord::new(AuditKind::MfaDisabled, member)
            .from_address(address)
            .with("factor", Method::Totp.name());
        let notice = self.notice(Template::MfaDisabled, &caller);
        tokio::join!(self.notify_reportable(member, notice), self.audit(record));
        Ok(())
    }

    /// Removes `factor` if `code` is a fresh code of it.
    async fn remove_factor(
        &self,
        caller: &Caller,
        factor: &StoredFactor,
        code: &Code,
    ) -> Result<(), DisableError> {
        let member = &caller.member_id;
        let totp = self.authenticator(member, caller.email.as_str(), &factor.sealed)?;
        let Some(step) = self.matching_step(&totp, code) else {
            tracing::info!(target: SECURITY_TARGET, member_id = member.as_str(), "disable code refused");
            return Err(DisableError::WrongCode);
        };
        if !self.deps.factors.remove_factor(member, step).await? {
            tracing::info!(target: SECURITY_TARGET, member_id = member.as_str(), "disable code reused");
            return Err(DisableError::CodeReused);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::Ordering;

    use secrecy::ExposeSecret;

    use super::super::{
        SessionError, VerifyError,
        fakes::{
            ADDRESS, ENROLLMENT_TOKEN, Harness, REPORT_URL, TOKEN, assert_hides, harness, member,
            token,
        },
    };
    use super::*;
    use crate::ports::AuditOutcome;

    /// A harness whose member has MFA on, one step after enrolling, and
    /// the fresh code that turns it off.
    async fn enabled() -> (Harness, Code, String) {
        let h = harness().await;
        let enrollment = h.enable().await;
        h.next_step();
        let code = h.code(&enrollment, 0);
        (h, code, enrollment.secret.expose_secret().to_string())
    }

    fn disabled_notice_params(h: &Harness) -> std::collections::HashMap<String, String> {
        let notices = h.mailer.params_of(Template::MfaDisabled);
        notices.into_iter().next().unwrap()
    }

    #[tokio::test]
    async fn disable_refuses_when_mfa_is_off() {
        let h = harness().await;

        let result = h
            .mfa
            .disable(&token(TOKEN), &Code::parse("123456").unwrap())
            .await;

        assert!(matches!(result, Err(DisableError::NotOn)));
    }

    #[tokio::test]
    async fn disable_refuses_code_already_used_to_confirm() {
        let h = harness().await;
        let enrollment = h.enable().await;

        let result = h.mfa.disable(&token(TOKEN), &h.code(&enrollment, 0)).await;

        assert!(matches!(result, Err(DisableError::CodeReused)));
        assert!(h.mfa.status(&token(TOKEN)).await.unwrap().enabled);
    }

    #[tokio::test]
    async fn disable_removes_factor_with_fresh_code_and_notifies() {
        let (h, code, _) = enabled().await;

        h.mfa.disable(&token(TOKEN), &code).await.unwrap();

        assert!(!h.mfa.status(&token(TOKEN)).await.unwrap().enabled);
        assert_eq!(h.mfa.factors(&member()).await.unwrap(), vec![]);
        let templates = h.mailer.templates();
        assert_eq!(templates, vec![Template::MfaEnabled, Template::MfaDisabled]);
    }

    #[tokio::test]
    async fn disable_refuses_wrong_code() {
        let h = harness().await;
        let enrollment = h.enable().await;
        h.next_step();

        let result = h.mfa.disable(&token(TOKEN), &h.code(&enrollment, 3)).await;

        assert!(matches!(result, Err(DisableError::WrongCode)));
    }

    #[tokio::test]
    async fn disable_refuses_session_that_may_only_enroll() {
        let (h, code, _) = enabled().await;

        let result = h.mfa.disable(&token(ENROLLMENT_TOKEN), &code).await;

        assert!(matches!(
            result,
            Err(DisableError::Session(SessionError::EnrollmentOnly))
        ));
        assert!(h.mfa.status(&token(TOKEN)).await.unwrap().enabled);
    }

    #[tokio::test]
    async fn disable_records_mfa_disabled_without_secrets() {
        let (h, code, secret) = enabled().await;

        h.mfa.disable(&token(TOKEN), &code).await.unwrap();

        let audits = h.sessions.audits();
        let kinds: Vec<AuditKind> = audits.iter().map(|r| r.kind).collect();
        assert_eq!(kinds, [AuditKind::MfaEnabled, AuditKind::MfaDisabled]);
        let record = &audits[1];
        assert_eq!(record.outcome, AuditOutcome::Success);
        assert_eq!(record.client_address.as_deref(), Some(ADDRESS));
        assert_eq!(
            record.detail.get("factor").map(String::as_str),
            Some("totp")
        );
        let code = code.reveal().expose_secret().to_string();
        assert_hides(record, &[secret, code, TOKEN.into(), REPORT_URL.into()]);
    }

    #[tokio::test]
    async fn disable_mails_report_link_auth_makes() {
        let (h, code, _) = enabled().await;

        h.mfa.disable(&token(TOKEN), &code).await.unwrap();

        assert_eq!(disabled_notice_params(&h)["report_url"], REPORT_URL);
    }

    #[tokio::test]
    async fn disable_mails_notice_without_link_when_auth_makes_none() {
        let (h, code, _) = enabled().await;
        *h.sessions.report_url.lock().unwrap() = None;

        h.mfa.disable(&token(TOKEN), &code).await.unwrap();

        assert!(!disabled_notice_params(&h).contains_key("report_url"));
    }

    #[tokio::test]
    async fn disable_stands_and_mails_notice_without_link_when_auth_is_down() {
        let (h, code, _) = enabled().await;
        h.sessions.internal_down.store(true, Ordering::SeqCst);

        h.mfa.disable(&token(TOKEN), &code).await.unwrap();

        assert!(!h.mfa.status(&token(TOKEN)).await.unwrap().enabled);
        assert!(!disabled_notice_params(&h).contains_key("report_url"));
        let kinds: Vec<AuditKind> = h.sessions.audits().iter().map(|r| r.kind).collect();
        assert_eq!(kinds, [AuditKind::MfaEnabled]);
    }

    #[tokio::test]
    async fn disable_voids_emailed_code_sent_before_for_new_enrollment() {
        let (h, fresh, _) = enabled().await;
        let emailed = h.mail_code().await;

        h.mfa.disable(&token(TOKEN), &fresh).await.unwrap();
        h.next_step();
        h.enable().await;
        let used = h.verify_emailed(&emailed).await;

        assert!(matches!(used, Err(VerifyError::CodeMissing)), "{used:?}");
    }
}
