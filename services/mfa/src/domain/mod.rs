//! The mfa domain: enrolling, checking and removing second factors. It
//! knows nothing of gRPC; storage and the other services come in as traits.
//!
//! - [`manage`]: what a signed-in member does (status, enroll), and
//!   [`disable`]: turning MFA off;
//! - [`verify`]: what the auth service asks during a login (factors,
//!   verify), and [`admin`]: what it asks for an admin (reset a member,
//!   list many members' factors);
//! - [`email_code`]: sending emailed codes and checking them;
//! - [`lockout`]: the lock after failed attempts that every code check
//!   goes through;
//! - [`recovery`]: using recovery codes, and [`regenerate`]: trading
//!   them for a new set;
//! - [`rekey`]: re-sealing secrets under the newest encryption key;
//! - [`errors`]: one error enum per operation.
//!
//! After a security action the domain mails the member a notice and has
//! auth record an audit event, both best effort: the action stands if
//! either fails, and the failure is logged.

use std::{sync::Arc, time::Duration};

use secrecy::{SecretBox, SecretString};

use countersign_kit::{
    clock::{SharedClock, millis},
    seal::{KeyRing, Sealed},
};
use countersign_plans::Plans;

use crate::{
    code::{Code, CodeKey},
    model::{Caller, MemberId, Method, Requester, SessionScope},
    ports::{AuditRecord, Mailer, OutgoingEmail, Sessions, Template},
    store::{CodeStore, FactorStore, LockoutPolicy, LockoutStore},
    totp::Authenticator,
};

mod admin;
mod disable;
mod email_code;
pub mod errors;
mod lockout;
mod manage;
mod recovery;
mod regenerate;
mod rekey;
mod verify;

pub use admin::{MAX_LISTED_MEMBERS, MemberFactors};
pub use errors::*;
pub use rekey::{RESEAL_BATCH, Resealed};

/// The tunable parts of the domain.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Issuer shown in authenticator apps.
    pub issuer: String,
    /// TOTP steps accepted either side of the current one.
    pub window_steps: u8,
    /// Lifetime of a begun enrollment.
    pub enrollment_ttl: Duration,
    /// Lifetime of an emailed code, from its issue.
    pub email_code_ttl: Duration,
    /// Wrong guesses allowed over a member's outstanding emailed codes.
    pub email_code_max_guesses: u32,
    /// Shortest wait between two emailed codes to one member.
    pub email_code_cooldown: Duration,
    /// Emailed codes one member may be sent per hour.
    pub email_code_hourly_quota: u32,
    /// When failed second-factor attempts lock a member.
    pub lockout: LockoutPolicy,
}

/// What the domain works with.
pub struct Deps {
    /// TOTP factors and enrollments.
    pub factors: Arc<dyn FactorStore>,
    /// Emailed codes.
    pub codes: Arc<dyn CodeStore>,
    /// Failed-attempt counters and locks.
    pub lockouts: Arc<dyn LockoutStore>,
    /// Keys that seal TOTP secrets.
    pub keys: KeyRing,
    /// Key that hashes emailed codes.
    pub code_key: CodeKey,
    /// The auth service.
    pub sessions: Arc<dyn Sessions>,
    /// The notification service.
    pub mailer: Arc<dyn Mailer>,
    /// Plan tiers.
    pub plans: Plans,
    /// The time.
    pub clock: SharedClock,
}

/// The mfa domain.
pub struct Mfa {
    deps: Deps,
    settings: Settings,
}

/// A member's MFA status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MfaStatus {
    /// Whether a TOTP factor is active.
    pub enabled: bool,
    /// Methods a challenge may be answered with.
    pub factors: Vec<Method>,
    /// Whether an unexpired enrollment waits for confirmation.
    pub enrollment_pending: bool,
    /// Unused recovery codes left.
    pub recovery_codes_remaining: u32,
}

/// A begun enrollment, shown once. `Debug` shows no secret.
pub struct Enrollment {
    /// The secret, unpadded base32.
    pub secret: SecretString,
    /// The `otpauth://` URI.
    pub uri: SecretString,
    /// The URI as a QR code, PNG.
    pub qr_png: SecretBox<Vec<u8>>,
    /// When the enrollment lapses, ms since the epoch.
    pub expires_at_ms: i64,
}

impl std::fmt::Debug for Enrollment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Enrollment")
            .field("expires_at_ms", &self.expires_at_ms)
            .finish_non_exhaustive()
    }
}

/// The target under which security outcomes are logged.
pub const SECURITY_TARGET: &str = "countersign::security";

impl Mfa {
    /// The domain over its dependencies.
    pub fn new(deps: Deps, settings: Settings) -> Self {
        Self { deps, settings }
    }

    fn now_ms(&self) -> i64 {
        self.deps.clock.now_ms()
    }

    /// The member whose session the requester presents, whatever its
    /// scope.
    async fn caller(&self, requester: &Requester) -> Result<Caller, SessionError> {
        Ok(self.deps.sessions.validate(&requester.token).await?)
    }

    /// The member whose session the requester presents, refused when the
    /// session may only enroll.
    async fn full_caller(&self, requester: &Requester) -> Result<Caller, SessionError> {
        let caller = self.caller(requester).await?;
        if caller.scope == SessionScope::Enrollment {
            tracing::info!(target: SECURITY_TARGET, member_id = caller.member_id.as_str(),
                "enrollment session refused beyond enrolling");
            return Err(SessionError::EnrollmentOnly);
        }
        Ok(caller)
    }

    /// The authenticator of a sealed secret.
    fn authenticator(
        &self,
        member: &MemberId,
        account: &str,
        sealed: &Sealed,
    ) -> Result<Authenticator, Fault> {
        let secret = self.deps.keys.open(member.as_str(), sealed)?;
        Ok(Authenticator::from_secret(
            secret,
            &self.settings.issuer,
            account,
        )?)
    }

    /// The step of `code` within the window around now, if any.
    fn matching_step(&self, totp: &Authenticator, code: &Code) -> Option<i64> {
        let now_secs = u64::try_from(self.now_ms() / 1000).unwrap_or(0);
        let step = totp.matching_step(code, now_secs, self.settings.window_steps)?;
        i64::try_from(step).ok()
    }

    /// Enqueues a notice after a state change that stands whatever happens
    /// to the email: a failure is logged, not returned.
    async fn notify(&self, email: OutgoingEmail) {
        let template = email.template;
        if let Err(error) = self.deps.mailer.enqueue(email).await {
            tracing::warn!(?template, %error, "security notice not enqueued");
        }
    }

    /// Has auth record an audit event of an action that stands whatever
    /// happens to the record: a failure is logged, not returned.
    async fn audit(&self, record: AuditRecord) {
        let kind = record.kind.name();
        if let Err(error) = self.deps.sessions.record_audit(record).await {
            tracing::warn!(kind, %error, "audit event not recorded");
        }
    }

    /// A "this wasn't me" link for a notice to `member`, if auth makes one;
    /// the notice goes without it when auth cannot.
    async fn report_url(&self, member: &MemberId) -> Option<SecretString> {
        match self.deps.sessions.report_link(member).await {
            Ok(url) => url,
            Err(error) => {
                tracing::warn!(member_id = member.as_str(), %error, "report link not made");
                None
            }
        }
    }

    /// Mails `notice` with a "this wasn't me" link when auth makes one.
    async fn notify_reportable(&self, member: &MemberId, notice: OutgoingEmail) {
        let url = self.report_url(member).await;
        self.notify(notice.param_if("report_url", url)).await;
    }

    fn notice(&self, template: Template, caller: &Caller) -> OutgoingEmail {
        let to = caller.email.clone();
        OutgoingEmail::new(template, to, &caller.member_id, self.now_ms(), "")
    }

    fn email_code_minutes(&self) -> i64 {
        (millis(self.settings.email_code_ttl) + 59_999) / 60_000
    }
}

#[cfg(test)]
mod fakes;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enrollment_debug_shows_no_secret() {
        let enrollment = Enrollment {
            secret: SecretString::from("JBSWY3DPEHPK3PXP"),
            uri: SecretString::from("otpauth://totp/x?secret=JBSWY3DPEHPK3PXP"),
            qr_png: SecretBox::new(Box::new(b"\x89PNG".to_vec())),
            expires_at_ms: 1,
        };

        let shown = format!("{enrollment:?}");

        assert!(!shown.contains("JBSWY3DPEHPK3PXP") && !shown.contains("PNG"));
    }
}
