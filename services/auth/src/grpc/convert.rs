//! Protobuf to domain and back. Malformed input fails here, as
//! INVALID_ARGUMENT naming the field.

use secrecy::{ExposeSecret, SecretString};
use tonic::{Request, Status};

use countersign_kit::{clock::timestamp, grpc::bearer, status::invalid_argument, token};
use countersign_proto::auth::v1 as pb;

use super::status::INVALID_SESSION;
use crate::domain::{
    Email, IssuedSession, LoginOutcome, Member, Method, Organization, Password, PasswordError,
    Proof, Role, SessionView,
};

/// Longest code text passed on to the mfa service, in bytes: room for a
/// 6-digit code or a recovery code such as `abcde-fghjk` typed with spaces.
/// The mfa service judges the exact shape for the method.
const MAX_CODE_LEN: usize = 32;
/// Longest organization name.
const MAX_NAME_CHARS: usize = 100;

pub fn email(field: &str, text: &str) -> Result<Email, Status> {
    Email::parse(text).map_err(|e| invalid_argument(field, &e.to_string()))
}

pub fn submitted_password(field: &str, text: &str) -> Result<Password, Status> {
    Password::submitted(text).map_err(|e| password_error(field, &e))
}

pub fn new_password(field: &str, text: &str) -> Result<Password, Status> {
    Password::new_choice(text).map_err(|e| password_error(field, &e))
}

fn password_error(field: &str, error: &PasswordError) -> Status {
    invalid_argument(field, &error.to_string())
}

/// A token from a request field: refused as malformed when empty or
/// oversized, otherwise judged by lookup.
pub fn token_field(field: &str, text: &str) -> Result<SecretString, Status> {
    if text.is_empty() {
        return Err(invalid_argument(field, "must not be empty"));
    }
    if !token::is_well_formed(text) {
        return Err(invalid_argument(field, "is not a token"));
    }
    Ok(SecretString::from(text))
}

/// The session token of `authorization: Bearer` metadata.
pub fn session_token<T>(request: &Request<T>) -> Result<SecretString, Status> {
    match bearer(request.metadata()) {
        Some(token) if token::is_well_formed(token) => Ok(SecretString::from(token)),
        _ => Err(Status::unauthenticated(INVALID_SESSION)),
    }
}

pub fn method(text: &str) -> Result<Method, Status> {
    Method::parse(text).ok_or_else(|| {
        invalid_argument(
            "method",
            "must be \"totp\", \"email_code\" or \"recovery_code\"",
        )
    })
}

pub fn code(text: &str) -> Result<SecretString, Status> {
    if text.trim().is_empty() {
        return Err(invalid_argument("code", "must not be empty"));
    }
    if text.len() > MAX_CODE_LEN {
        return Err(invalid_argument("code", "is too long"));
    }
    Ok(SecretString::from(text))
}

pub fn organization_name(text: &str) -> Result<String, Status> {
    let name = text.trim();
    let chars = name.chars().count();
    if chars == 0 || chars > MAX_NAME_CHARS || name.chars().any(char::is_control) {
        return Err(invalid_argument(
            "name",
            "must have 1 to 100 printable characters",
        ));
    }
    Ok(name.to_string())
}

pub fn member_id(text: &str) -> Result<String, Status> {
    id_field("member_id", text)
}

/// An id of a member or organization in `field`: up to 64 ASCII letters,
/// digits and dashes.
pub fn id_field(field: &str, text: &str) -> Result<String, Status> {
    let ok = !text.is_empty()
        && text.len() <= 64
        && text.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
    if !ok {
        return Err(invalid_argument(field, "is not an id"));
    }
    Ok(text.to_string())
}

/// A second factor a kept session has just proven: empty for none, else a
/// second-factor proof name, and only with a session to keep.
pub fn kept_session_proof(text: &str, keeping: bool) -> Result<Option<Proof>, Status> {
    const FIELD: &str = "kept_session_proof";
    match (text, Proof::parse(text)) {
        ("", _) => Ok(None),
        (_, Some(Proof::Password)) | (_, None) => Err(invalid_argument(
            FIELD,
            "must be a second factor such as \"otp\"",
        )),
        (_, Some(_)) if !keeping => Err(invalid_argument(FIELD, "needs keep_session_token")),
        (_, Some(proof)) => Ok(Some(proof)),
    }
}

pub fn role(text: &str) -> Result<Role, Status> {
    match text {
        "" | "member" => Ok(Role::Member),
        "admin" => Ok(Role::Admin),
        _ => Err(invalid_argument("role", "must be \"admin\" or \"member\"")),
    }
}

pub fn login_reply(outcome: LoginOutcome) -> pb::LoginResponse {
    let mut deadline = None;
    let result = match outcome {
        LoginOutcome::Session {
            session: issued,
            enrollment_deadline,
        } => {
            deadline = enrollment_deadline.map(timestamp);
            pb::login_response::Result::Session(session(issued))
        }
        LoginOutcome::EnrollmentRequired(issued) => {
            pb::login_response::Result::EnrollmentRequired(session(issued))
        }
        LoginOutcome::Challenge(challenge) => {
            pb::login_response::Result::Challenge(pb::Challenge {
                challenge_token: challenge.token.expose_secret().to_string(),
                methods: challenge
                    .methods
                    .iter()
                    .map(|m| m.as_str().to_string())
                    .collect(),
                expire_time: Some(timestamp(challenge.expires_at)),
            })
        }
    };
    pb::LoginResponse {
        result: Some(result),
        mfa_enrollment_deadline: deadline,
    }
}

pub fn session(issued: IssuedSession) -> pb::Session {
    pb::Session {
        token: issued.token.expose_secret().to_string(),
        expire_time: Some(timestamp(issued.expires_at)),
        factors: issued
            .proofs
            .iter()
            .map(|p| p.as_str().to_string())
            .collect(),
        scope: issued.scope.as_str().to_string(),
    }
}

pub fn member(member: &Member) -> pb::Member {
    pb::Member {
        id: member.id.clone(),
        organization_id: member.organization_id.clone(),
        email: member.email.clone(),
        role: member.role.as_str().to_string(),
        locked: member.locked,
    }
}

pub fn organization(organization: &Organization) -> pb::Organization {
    pb::Organization {
        id: organization.id.clone(),
        name: organization.name.clone(),
        plan: organization.plan.clone(),
    }
}

pub fn session_view(view: &SessionView) -> pb::ValidateSessionResponse {
    pb::ValidateSessionResponse {
        member: Some(member(&view.member)),
        organization: Some(organization(&view.organization)),
        factors: view.proofs.iter().map(|p| p.as_str().to_string()).collect(),
        expire_time: Some(timestamp(view.expires_at)),
        scope: view.scope.as_str().to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field_of(status: &Status) -> String {
        countersign_kit::status::field_violation(status).unwrap().0
    }

    #[test]
    fn method_accepts_recovery_code() {
        assert_eq!(method("recovery_code").unwrap(), Method::RecoveryCode);
        assert_eq!(field_of(&method("sms").unwrap_err()), "method");
    }

    #[test]
    fn code_accepts_recovery_code_shapes() {
        for text in ["abcde-fghjk", "abcdefghjk", "abcde fghjk", "012345"] {
            assert_eq!(code(text).unwrap().expose_secret(), text);
        }
    }

    #[test]
    fn code_refuses_empty_and_oversized() {
        assert_eq!(field_of(&code("  ").unwrap_err()), "code");
        assert_eq!(field_of(&code(&"a".repeat(33)).unwrap_err()), "code");
        assert!(code(&"a".repeat(32)).is_ok());
    }
}
