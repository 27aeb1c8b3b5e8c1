//! Conversions between prost messages and domain values. Malformed input
//! fails here as INVALID_ARGUMENT naming its field.

use secrecy::ExposeSecret;
use tonic::{Request, Status, metadata::MetadataMap};

use countersign_kit::{
    clock::timestamp,
    grpc::{bearer, client_address, client_address_field},
    status::invalid_argument,
};
use countersign_proto::mfa::v1::{
    BeginEnrollmentResponse, GetStatusResponse, ListFactorsRequest, ListFactorsResponse,
    MemberFactors as WireMemberFactors, SendEmailCodeRequest, VerifyFactorRequest,
};

use crate::{
    code::Code,
    domain::{Enrollment, MAX_LISTED_MEMBERS, MemberFactors, MfaStatus, SessionError},
    model::{EmailAddress, MemberId, Method, Requester, SessionToken},
    recovery::{RecoveryCode, RecoveryCodes},
};

/// The session token of `authorization: Bearer` metadata, if well-formed.
pub fn session_token(metadata: &MetadataMap) -> Result<SessionToken, SessionError> {
    bearer(metadata)
        .and_then(SessionToken::parse)
        .ok_or(SessionError::MissingToken)
}

/// Who asks a user-facing call: its bearer token and the end user's
/// address.
pub fn requester<T>(request: &Request<T>) -> Result<Requester, SessionError> {
    Ok(Requester {
        token: session_token(request.metadata())?,
        address: client_address(request),
    })
}

/// The normalized code of field `code`.
pub fn code(text: &str) -> Result<Code, Status> {
    Code::parse(text).map_err(|e| invalid_argument("code", &e.to_string()))
}

/// The member id of field `member_id`.
pub fn member_id(text: &str) -> Result<MemberId, Status> {
    MemberId::parse(text).map_err(|e| invalid_argument("member_id", &e.to_string()))
}

/// The address of field `email`.
fn email(text: &str) -> Result<EmailAddress, Status> {
    EmailAddress::parse(text).map_err(|e| invalid_argument("email", &e.to_string()))
}

/// The recovery code of field `code`.
fn recovery_code(text: &str) -> Result<RecoveryCode, Status> {
    RecoveryCode::parse(text).map_err(|e| invalid_argument("code", &e.to_string()))
}

/// A typed code, of the shape its method wants.
pub enum Answer {
    /// Six digits, for a TOTP or emailed code.
    Code(Method, Code),
    /// A recovery code.
    RecoveryCode(RecoveryCode),
}

/// What VerifyFactor asks.
pub struct VerifyInput {
    pub member: MemberId,
    pub answer: Answer,
    /// Where a lockout or recovery-code notice goes.
    pub email: EmailAddress,
    /// The end user's address, as auth forwards it, for the audit log.
    pub client_address: Option<String>,
}

impl TryFrom<VerifyFactorRequest> for VerifyInput {
    type Error = Status;

    fn try_from(request: VerifyFactorRequest) -> Result<Self, Status> {
        let member = member_id(&request.member_id)?;
        let method = Method::parse(&request.method)
            .map_err(|e| invalid_argument("method", &e.to_string()))?;
        let answer = match method {
            Method::RecoveryCode => Answer::RecoveryCode(recovery_code(&request.code)?),
            method => Answer::Code(method, code(&request.code)?),
        };
        Ok(Self {
            member,
            answer,
            email: email(&request.email)?,
            client_address: client_address_field(&request.client_address)?,
        })
    }
}

/// What SendEmailCode asks.
pub struct SendCodeInput {
    pub member: MemberId,
    pub email: EmailAddress,
}

impl TryFrom<SendEmailCodeRequest> for SendCodeInput {
    type Error = Status;

    fn try_from(request: SendEmailCodeRequest) -> Result<Self, Status> {
        Ok(Self {
            member: member_id(&request.member_id)?,
            email: email(&request.email)?,
        })
    }
}

/// The members of field `member_ids`: at most [`MAX_LISTED_MEMBERS`],
/// each well-formed. The description names the position of a bad id,
/// never the id.
pub fn member_ids(request: &ListFactorsRequest) -> Result<Vec<MemberId>, Status> {
    let ids = &request.member_ids;
    if ids.len() > MAX_LISTED_MEMBERS {
        let why = format!("must hold at most {MAX_LISTED_MEMBERS} ids");
        return Err(invalid_argument("member_ids", &why));
    }
    let parsed = ids.iter().enumerate().map(|(index, id)| {
        MemberId::parse(id)
            .map_err(|e| invalid_argument("member_ids", &format!("entry {index} {e}")))
    });
    parsed.collect()
}

/// The ListFactors reply, one entry per member asked about.
pub fn listed_factors(listed: Vec<MemberFactors>) -> ListFactorsResponse {
    let members = listed.into_iter().map(|m| WireMemberFactors {
        member_id: m.member.as_str().to_string(),
        factors: method_names(&m.methods),
    });
    ListFactorsResponse {
        members: members.collect(),
    }
}

/// Recovery codes as shown once to their member, `xxxxx-xxxxx`.
pub fn recovery_codes(codes: &RecoveryCodes) -> Vec<String> {
    codes
        .reveal()
        .iter()
        .map(|c| c.expose_secret().to_string())
        .collect()
}

/// Wire names of methods.
pub fn method_names(methods: &[Method]) -> Vec<String> {
    methods.iter().map(|m| m.name().to_string()).collect()
}

impl From<MfaStatus> for GetStatusResponse {
    fn from(status: MfaStatus) -> Self {
        Self {
            enabled: status.enabled,
            factors: method_names(&status.factors),
            enrollment_pending: status.enrollment_pending,
            recovery_codes_remaining: status.recovery_codes_remaining,
        }
    }
}

impl From<Enrollment> for BeginEnrollmentResponse {
    fn from(enrollment: Enrollment) -> Self {
        Self {
            secret: enrollment.secret.expose_secret().to_string(),
            otpauth_uri: enrollment.uri.expose_secret().to_string(),
            qr_png: enrollment.qr_png.expose_secret().clone(),
            expire_time: Some(timestamp(enrollment.expires_at_ms)),
        }
    }
}

#[cfg(test)]
mod tests {
    use tonic::{Code as StatusCode, metadata::MetadataValue};

    use super::*;

    fn request(method: &str, code: &str) -> VerifyFactorRequest {
        VerifyFactorRequest {
            member_id: "m1".into(),
            method: method.into(),
            code: code.into(),
            email: "ada@example.com".into(),
            client_address: "203.0.113.7".into(),
        }
    }

    #[test]
    fn verify_input_keeps_client_address_and_names_field_when_malformed() {
        let input = VerifyInput::try_from(request("totp", "123456")).unwrap();
        let mut hostile = request("totp", "123456");
        hostile.client_address = "a\nb".into();

        let status = VerifyInput::try_from(hostile).err().unwrap();

        assert_eq!(input.client_address.as_deref(), Some("203.0.113.7"));
        assert_eq!(violated_field(&status), "client_address");
    }

    fn violated_field(status: &Status) -> String {
        countersign_kit::status::field_violation(status).unwrap().0
    }

    #[test]
    fn verify_input_names_code_field_when_code_is_malformed() {
        let status = VerifyInput::try_from(request("totp", "１２３４５６"))
            .err()
            .unwrap();

        assert_eq!(status.code(), StatusCode::InvalidArgument);
        assert_eq!(violated_field(&status), "code");
    }

    #[test]
    fn verify_input_names_method_field_when_method_is_unknown() {
        let status = VerifyInput::try_from(request("sms", "123456"))
            .err()
            .unwrap();

        assert_eq!(violated_field(&status), "method");
    }

    #[test]
    fn verify_input_names_email_field_when_email_is_missing_malformed_or_long() {
        let long = format!("{}@example.com", "a".repeat(250));
        for email in ["", "ada", "a da@example.com", long.as_str()] {
            let message = VerifyFactorRequest {
                email: email.into(),
                ..request("totp", "123456")
            };

            let status = VerifyInput::try_from(message).err().unwrap();

            assert_eq!(violated_field(&status), "email", "email {email:?}");
        }
    }

    #[test]
    fn verify_input_keeps_leading_zero() {
        let input = VerifyInput::try_from(request("email_code", "012-345")).unwrap();

        let Answer::Code(method, code) = input.answer else {
            panic!("not six digits")
        };
        assert_eq!(
            (method, code.as_bytes()),
            (Method::EmailCode, b"012345".as_slice())
        );
    }

    #[test]
    fn session_token_refuses_missing_and_malformed_bearer() {
        let mut metadata = MetadataMap::new();
        assert!(matches!(
            session_token(&metadata),
            Err(SessionError::MissingToken)
        ));

        metadata.insert("authorization", MetadataValue::from_static("Bearer a b"));
        assert!(session_token(&metadata).is_err());

        metadata.insert(
            "authorization",
            MetadataValue::from_static("Bearer abc_123"),
        );
        assert_eq!(session_token(&metadata).unwrap().expose(), "abc_123");
    }

    fn list(ids: Vec<String>) -> Result<Vec<MemberId>, Status> {
        member_ids(&ListFactorsRequest { member_ids: ids })
    }

    #[test]
    fn member_ids_accepts_up_to_the_limit_in_order() {
        let ids: Vec<String> = (0..MAX_LISTED_MEMBERS).map(|i| format!("m{i}")).collect();

        let parsed = list(ids).unwrap();

        assert_eq!(parsed.len(), MAX_LISTED_MEMBERS);
        assert_eq!((parsed[0].as_str(), parsed[499].as_str()), ("m0", "m499"));
        assert!(list(Vec::new()).unwrap().is_empty());
    }

    #[test]
    fn member_ids_names_field_when_list_is_too_long() {
        let ids = vec!["m1".to_string(); MAX_LISTED_MEMBERS + 1];

        let status = list(ids).unwrap_err();

        assert_eq!(status.code(), StatusCode::InvalidArgument);
        assert_eq!(violated_field(&status), "member_ids");
    }

    #[test]
    fn member_ids_names_field_and_position_not_id_when_an_id_is_malformed() {
        let hostile = ["", "a b", "é", "x\u{0}y", &"a".repeat(129)].map(String::from);
        for bad in hostile {
            let status = list(vec!["m1".into(), bad.clone()]).unwrap_err();

            let (field, description) = countersign_kit::status::field_violation(&status).unwrap();
            assert_eq!(field, "member_ids", "id {bad:?}");
            assert!(description.starts_with("entry 1 "), "{description}");
            assert!(bad.is_empty() || !status.message().contains(&bad));
        }
    }
}
