//! One error enum per operation. `grpc::status` is the only place that
//! turns them into gRPC statuses.

use std::time::Duration;

use countersign_kit::seal::CryptoError;
use countersign_plans::Denied;

use super::lockout::Attempted;
use crate::{ports::RemoteError, store::StoreError, totp::TotpError};

/// A session that could not be validated.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    #[error("no well-formed bearer token")]
    MissingToken,
    #[error("session may only enroll")]
    EnrollmentOnly,
    #[error("session not validated")]
    Auth(#[from] RemoteError),
}

/// Our own fault or unusable stored data: never the caller's doing.
#[derive(Debug, thiserror::Error)]
pub enum Fault {
    #[error("stored secret unusable")]
    Crypto(#[from] CryptoError),
    #[error("authenticator unusable")]
    Totp(#[from] TotpError),
}

/// Why the status could not be read.
#[derive(Debug, thiserror::Error)]
pub enum StatusError {
    #[error("session not validated")]
    Session(#[from] SessionError),
    #[error("cannot read factors")]
    Store(#[from] StoreError),
}

/// Why an enrollment could not begin.
#[derive(Debug, thiserror::Error)]
pub enum BeginError {
    #[error("session not validated")]
    Session(#[from] SessionError),
    #[error("plan too low")]
    PlanTooLow(#[from] Denied),
    #[error("mfa is already on")]
    AlreadyOn,
    #[error("cannot store enrollment")]
    Store(#[from] StoreError),
    #[error("cannot make authenticator")]
    Internal(#[from] Fault),
}

/// Why an enrollment could not be confirmed.
#[derive(Debug, thiserror::Error)]
pub enum ConfirmError {
    #[error("session not validated")]
    Session(#[from] SessionError),
    #[error("no pending enrollment")]
    NotBegun,
    #[error("mfa is already on")]
    AlreadyOn,
    #[error("code does not match the pending secret")]
    WrongCode,
    #[error("code already used")]
    CodeReused,
    #[error("cannot store factor")]
    Store(#[from] StoreError),
    #[error("cannot open pending secret")]
    Internal(#[from] Fault),
}

/// The member's second factor is locked after too many failed attempts;
/// nothing was checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("second factor locked after too many failed attempts")]
pub struct Locked {
    /// How long the lock still holds.
    pub retry_after: Duration,
}

/// Declares the error enum of an operation that needs a fresh code from
/// the member's active factor and checks it under the lockout, where a
/// wrong or reused code is a failed attempt. Only the message of a failed
/// write differs, `store` naming what could not be written.
macro_rules! fresh_code_error {
    ($(#[$doc:meta])* $name:ident, store: $store:literal) => {
        $(#[$doc])*
        #[derive(Debug, thiserror::Error)]
        pub enum $name {
            #[error("session not validated")]
            Session(#[from] SessionError),
            #[error("mfa is not on")]
            NotOn,
            #[error("code does not match the factor")]
            WrongCode,
            #[error("code already used")]
            CodeReused,
            #[error("second factor locked")]
            Locked(#[from] Locked),
            #[error($store)]
            Store(#[from] StoreError),
            #[error("cannot open factor secret")]
            Internal(#[from] Fault),
        }

        impl Attempted for $name {
            fn is_failed_attempt(&self) -> bool {
                matches!(self, $name::WrongCode | $name::CodeReused)
            }
        }
    };
}

fresh_code_error! {
    /// Why MFA could not be turned off.
    DisableError, store: "cannot remove factor"
}

fresh_code_error! {
    /// Why recovery codes could not be regenerated.
    RegenerateError, store: "cannot replace recovery codes"
}

/// Why a pass re-sealing secrets under the newest key stopped.
#[derive(Debug, thiserror::Error)]
pub enum ResealError {
    #[error("cannot read or write sealed secrets")]
    Store(#[from] StoreError),
}

/// Why a member's factors could not be listed.
#[derive(Debug, thiserror::Error)]
pub enum FactorsError {
    #[error("cannot read factors")]
    Store(#[from] StoreError),
}

/// Why a member's factors could not be reset.
#[derive(Debug, thiserror::Error)]
pub enum ResetError {
    #[error("cannot remove factors")]
    Store(#[from] StoreError),
}

/// Why the factors of many members could not be listed.
#[derive(Debug, thiserror::Error)]
pub enum ListFactorsError {
    #[error("cannot read factors")]
    Store(#[from] StoreError),
}

/// Why a second-factor code was refused.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    #[error("member has no second factor")]
    NoFactor,
    #[error("code is wrong")]
    WrongCode,
    #[error("code already used")]
    CodeReused,
    #[error("no emailed code outstanding")]
    CodeMissing,
    #[error("too many wrong guesses on the outstanding codes")]
    TooManyGuesses,
    #[error("second factor locked")]
    Locked(#[from] Locked),
    #[error("cannot check code")]
    Store(#[from] StoreError),
    #[error("cannot open factor secret")]
    Internal(#[from] Fault),
}

/// Why an emailed code could not be sent.
#[derive(Debug, thiserror::Error)]
pub enum SendCodeError {
    #[error("a code was sent within the resend cooldown")]
    TooSoon { retry_after: Duration },
    #[error("the hourly quota of codes is spent")]
    QuotaSpent { retry_after: Duration },
    #[error("cannot store code")]
    Store(#[from] StoreError),
    #[error("cannot enqueue email")]
    Mail(#[source] RemoteError),
}
