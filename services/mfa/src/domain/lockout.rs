//! The lock after failed second-factor attempts. Every check of a code a
//! member types (TOTP, emailed or recovery code; in a login, to turn MFA
//! off or to regenerate recovery codes) goes through [`Mfa::guarded`]: a
//! locked member is refused before the code is looked at; each attempt is
//! counted as it begins, so racing attempts cannot outrun the threshold; a
//! success clears the count; and the failure that reaches the threshold
//! starts the lock, mails the member once and has auth record it.

use std::time::Duration;

use secrecy::SecretString;

use super::{Locked, Mfa, SECURITY_TARGET, VerifyError};
use crate::{
    model::{EmailAddress, MemberId},
    ports::{AuditKind, AuditOutcome, AuditRecord, OutgoingEmail, Template},
    store::{LockState, StoreError},
};

/// An operation's error, as the lockout sees it.
pub(super) trait Attempted: From<Locked> + From<StoreError> {
    /// Whether this refusal is a failed attempt: a wrong, expired or
    /// reused code. Other errors (storage down, a fault) count as the
    /// attempt counted when it began, and no more.
    fn is_failed_attempt(&self) -> bool;
}

impl Attempted for VerifyError {
    fn is_failed_attempt(&self) -> bool {
        matches!(
            self,
            VerifyError::WrongCode
                | VerifyError::CodeReused
                | VerifyError::CodeMissing
                | VerifyError::TooManyGuesses
        )
    }
}

/// The member whose attempt is checked, where a lock notice goes, and
/// where the attempt came from.
struct Subject<'a> {
    member: &'a MemberId,
    email: &'a EmailAddress,
    address: Option<&'a str>,
}

/// A wait of `ms` milliseconds, none if negative.
pub(super) fn wait(ms: i64) -> Duration {
    Duration::from_millis(u64::try_from(ms).unwrap_or(0))
}

impl Mfa {
    /// Runs `check`, the check of a code the member typed, under the
    /// lockout: a locked member gets `Locked` and `check` never runs.
    /// `email` is where the notice goes if this attempt starts a lock, and
    /// `address` where the attempt came from, when known, for its audit
    /// event.
    pub(super) async fn guarded<T, E: Attempted>(
        &self,
        member: &MemberId,
        email: &EmailAddress,
        address: Option<&str>,
        check: impl Future<Output = Result<T, E>>,
    ) -> Result<T, E> {
        let subject = Subject {
            member,
            email,
            address,
        };
        let policy = &self.settings.lockout;
        let lockouts = &self.deps.lockouts;
        let begun = lockouts
            .begin_attempt(member, policy, self.now_ms())
            .await?;
        self.refuse_if_locked(&subject, begun).await?;
        let outcome = check.await;
        match &outcome {
            Ok(_) => {
                if let Err(error) = lockouts.record_success(member).await {
                    tracing::warn!(member_id = member.as_str(), %error, "failure count not cleared");
                }
            }
            Err(refusal) if refusal.is_failed_attempt() => {
                // The attempt is counted already; a store error here only
                // delays the lock to the next attempt's start.
                match lockouts.record_failure(member, policy, self.now_ms()).await {
                    Ok(state) => self.refuse_if_locked(&subject, state).await?,
                    Err(error) => {
                        tracing::warn!(member_id = member.as_str(), %error, "failure not recorded");
                    }
                }
            }
            Err(_) => {}
        }
        outcome
    }

    /// `Locked` with the time left unless `state` is open; a lock this
    /// very call started is logged, mailed to the member and recorded.
    async fn refuse_if_locked(
        &self,
        subject: &Subject<'_>,
        state: LockState,
    ) -> Result<(), Locked> {
        let member = subject.member;
        let until_ms = match state {
            LockState::Open => return Ok(()),
            LockState::Locked { until_ms } => {
                tracing::info!(target: SECURITY_TARGET, member_id = member.as_str(),
                    "attempt refused, second factor locked");
                until_ms
            }
            LockState::Started { until_ms } => {
                tracing::info!(target: SECURITY_TARGET, member_id = member.as_str(),
                    until_ms, "second factor locked after failed attempts");
                let record = AuditRecord::new(AuditKind::MfaLocked, member)
                    .outcome(AuditOutcome::Failure)
                    .from_address(subject.address)
                    .with("locked_minutes", self.locked_minutes().to_string());
                let notice = self.lock_notice(member, subject.email);
                tokio::join!(self.notify(notice), self.audit(record));
                until_ms
            }
        };
        Err(Locked {
            retry_after: wait(until_ms - self.now_ms()),
        })
    }

    fn locked_minutes(&self) -> u64 {
        self.settings.lockout.duration.as_secs().div_ceil(60)
    }

    fn lock_notice(&self, member: &MemberId, email: &EmailAddress) -> OutgoingEmail {
        let minutes = self.locked_minutes();
        let to = email.clone();
        OutgoingEmail::new(Template::MfaLocked, to, member, self.now_ms(), "")
            .param("locked_minutes", SecretString::from(minutes.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::super::{
        DisableError, Enrollment, Settings,
        fakes::{ADDRESS, Harness, TOKEN, harness, harness_with, member, token},
    };
    use super::*;
    use crate::{code::Code, model::Method};

    fn lock_events(h: &Harness) -> Vec<AuditRecord> {
        let audits = h.sessions.audits().into_iter();
        audits.filter(|r| r.kind == AuditKind::MfaLocked).collect()
    }

    const MINUTE: Duration = Duration::from_secs(60);

    async fn enabled(adjust: impl FnOnce(&mut Settings)) -> (Harness, Enrollment) {
        let h = harness_with(adjust).await;
        let enrollment = h.enable().await;
        h.next_step();
        (h, enrollment)
    }

    /// A TOTP code that matches no step of the window.
    fn wrong_totp(h: &Harness, enrollment: &Enrollment) -> Code {
        h.code(enrollment, 5)
    }

    fn lock_notices(h: &Harness) -> Vec<std::collections::HashMap<String, String>> {
        h.mailer.params_of(Template::MfaLocked)
    }

    async fn fail_totp(h: &Harness, enrollment: &Enrollment, times: u32) {
        for _ in 0..times {
            let refused = h.verify(Method::Totp, &wrong_totp(h, enrollment)).await;
            assert!(
                matches!(refused, Err(VerifyError::WrongCode)),
                "{refused:?}"
            );
        }
    }

    #[tokio::test]
    async fn verify_locks_member_at_fifth_failure_and_mails_once() {
        let (h, enrollment) = enabled(|_| {}).await;
        fail_totp(&h, &enrollment, 4).await;

        let fifth = h.verify(Method::Totp, &wrong_totp(&h, &enrollment)).await;
        let sixth = h.verify(Method::Totp, &h.code(&enrollment, 0)).await;

        let Err(VerifyError::Locked(locked)) = fifth else {
            panic!("{fifth:?}")
        };
        assert_eq!(locked.retry_after, 15 * MINUTE);
        assert!(matches!(sixth, Err(VerifyError::Locked(_))));
        let notices = lock_notices(&h);
        assert_eq!(notices.len(), 1);
        assert_eq!(notices[0]["locked_minutes"], "15");
    }

    #[tokio::test]
    async fn verify_counts_failures_of_every_factor_together() {
        let (h, enrollment) = enabled(|_| {}).await;
        let used = h.code(&enrollment, 0);
        h.verify(Method::Totp, &used).await.unwrap();
        h.send_code().await.unwrap();

        let reused = h.verify(Method::Totp, &used).await;
        fail_totp(&h, &enrollment, 2).await;
        let wrong_email = h
            .verify(Method::EmailCode, &wrong_totp(&h, &enrollment))
            .await;
        let fifth = h
            .verify(Method::EmailCode, &wrong_totp(&h, &enrollment))
            .await;

        assert!(matches!(reused, Err(VerifyError::CodeReused)));
        assert!(matches!(wrong_email, Err(VerifyError::WrongCode)));
        assert!(matches!(fifth, Err(VerifyError::Locked(_))));
    }

    #[tokio::test]
    async fn verify_refuses_right_code_while_locked_without_consuming_it() {
        let (h, enrollment) = enabled(|s| s.lockout.duration = 5 * MINUTE).await;
        let emailed = h.mail_code().await;
        fail_totp(&h, &enrollment, 4).await;
        let fifth = h.verify(Method::Totp, &wrong_totp(&h, &enrollment)).await;
        assert!(matches!(fifth, Err(VerifyError::Locked(_))));

        h.clock.advance(2 * MINUTE);
        let locked = h.verify(Method::EmailCode, &emailed).await;
        h.clock.advance(3 * MINUTE);
        let unlocked = h.verify(Method::EmailCode, &emailed).await;

        let Err(VerifyError::Locked(locked)) = locked else {
            panic!("{locked:?}")
        };
        assert_eq!(locked.retry_after, 3 * MINUTE);
        assert!(unlocked.is_ok(), "{unlocked:?}");
    }

    #[tokio::test]
    async fn verify_success_clears_failure_count() {
        let (h, enrollment) = enabled(|_| {}).await;
        fail_totp(&h, &enrollment, 4).await;

        h.verify(Method::Totp, &h.code(&enrollment, 0))
            .await
            .unwrap();
        fail_totp(&h, &enrollment, 4).await;
        h.next_step();
        let right = h.verify(Method::Totp, &h.code(&enrollment, 0)).await;

        assert!(right.is_ok(), "{right:?}");
        assert!(lock_notices(&h).is_empty());
    }

    #[tokio::test]
    async fn verify_never_counts_member_without_factor() {
        let h = harness().await;
        for _ in 0..10 {
            let refused = h.verify(Method::Totp, &Code::random()).await;
            assert!(matches!(refused, Err(VerifyError::NoFactor)));
        }

        let enrollment = h.enable().await;
        h.next_step();
        let right = h.verify(Method::Totp, &h.code(&enrollment, 0)).await;

        assert!(right.is_ok(), "{right:?}");
    }

    async fn disable(h: &Harness, code: Code) -> Result<(), DisableError> {
        h.mfa.disable(&token(TOKEN), &code).await
    }

    #[tokio::test]
    async fn disable_counts_wrong_codes_and_is_refused_while_locked() {
        let (h, enrollment) = enabled(|_| {}).await;
        for _ in 0..4 {
            let refused = disable(&h, wrong_totp(&h, &enrollment)).await;
            assert!(matches!(refused, Err(DisableError::WrongCode)));
        }

        let fifth = disable(&h, wrong_totp(&h, &enrollment)).await;
        let right = disable(&h, h.code(&enrollment, 0)).await;

        assert!(matches!(fifth, Err(DisableError::Locked(_))));
        assert!(matches!(right, Err(DisableError::Locked(_))));
        assert!(h.mfa.status(&token(TOKEN)).await.unwrap().enabled);
        assert_eq!(lock_notices(&h).len(), 1);
    }

    #[tokio::test]
    async fn verify_records_lock_once_as_failure_with_its_minutes() {
        let (h, enrollment) = enabled(|s| s.lockout.duration = 5 * MINUTE).await;
        fail_totp(&h, &enrollment, 4).await;

        let _ = h.verify(Method::Totp, &wrong_totp(&h, &enrollment)).await;
        let _ = h.verify(Method::Totp, &wrong_totp(&h, &enrollment)).await;

        let events = lock_events(&h);
        assert_eq!(events.len(), 1, "{events:?}");
        let event = &events[0];
        assert_eq!(
            (event.outcome, event.client_address.as_deref()),
            (AuditOutcome::Failure, None)
        );
        assert_eq!(event.member, member());
        let detail: Vec<(&str, &str)> =
            event.detail.iter().map(|(k, v)| (*k, v.as_str())).collect();
        assert_eq!(detail, [("locked_minutes", "5")]);
    }

    #[tokio::test]
    async fn disable_records_lock_from_requester_address() {
        let (h, enrollment) = enabled(|_| {}).await;

        for _ in 0..5 {
            let _ = disable(&h, wrong_totp(&h, &enrollment)).await;
        }

        let events = lock_events(&h);
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].client_address.as_deref(), Some(ADDRESS));
    }

    #[tokio::test]
    async fn verify_locks_even_when_lock_cannot_be_recorded() {
        let (h, enrollment) = enabled(|_| {}).await;
        h.sessions
            .internal_down
            .store(true, std::sync::atomic::Ordering::SeqCst);
        fail_totp(&h, &enrollment, 4).await;

        let fifth = h.verify(Method::Totp, &wrong_totp(&h, &enrollment)).await;

        assert!(matches!(fifth, Err(VerifyError::Locked(_))));
        assert_eq!(lock_notices(&h).len(), 1);
        assert!(lock_events(&h).is_empty());
    }
}
