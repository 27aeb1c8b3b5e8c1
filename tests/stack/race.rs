//! Fifty pairs of concurrent submissions of one valid code: exactly one of
//! each pair is accepted, for authenticator and emailed codes, on both
//! backends. The pairs go straight to the mfa service's internal API, as
//! two auth replicas answering two challenges at once would.

use std::time::Duration;

use tonic::{Code, Status, transport::Channel};

use countersign_proto::{
    auth::v1::ValidateSessionRequest,
    mfa::v1::{
        SendEmailCodeRequest, VerifyFactorRequest,
        mfa_internal_service_client::MfaInternalServiceClient,
    },
};
use countersign_tests::stack::{Backend, Stack, channel};

use crate::gateway::{STEP, code_now, enroll, session};

const PAIRS: usize = 50;
/// Past the resend cooldown and the hourly send quota.
const BETWEEN_SENDS: Duration = Duration::from_secs(61 * 60);

/// A member of the stack, as auth names it to mfa.
struct Member {
    id: String,
    email: String,
}

/// The member behind a session.
async fn member(stack: &Stack, token: &str) -> Member {
    let request = ValidateSessionRequest {
        token: token.to_string(),
        accept_enrollment_scope: false,
    };
    let reply = stack.auth_client().validate_session(request).await.unwrap();
    let member = reply.into_inner().member.unwrap();
    Member {
        id: member.id,
        email: member.email,
    }
}

/// Submits `code` twice at once; how many submissions were accepted.
async fn pair(
    client: &MfaInternalServiceClient<Channel>,
    member: &Member,
    method: &str,
    code: &str,
) -> usize {
    let request = VerifyFactorRequest {
        member_id: member.id.clone(),
        method: method.to_string(),
        code: code.to_string(),
        email: member.email.clone(),
        client_address: String::new(),
    };
    let (mut a, mut b) = (client.clone(), client.clone());
    let (first, second) = tokio::join!(
        a.verify_factor(request.clone()),
        b.verify_factor(request.clone())
    );
    [first, second]
        .into_iter()
        .map(|outcome| match outcome {
            Ok(_) => 1,
            Err(status) => {
                assert_refused(&status);
                0
            }
        })
        .sum()
}

fn assert_refused(status: &Status) {
    assert_eq!(status.code(), Code::Unauthenticated, "{status:?}");
}

async fn totp_pairs(backend: Backend) {
    let stack = Stack::start(backend).await;
    let owner = stack.organization("essential").await;
    let token = session(&stack, &owner).await;
    let app = enroll(&stack, &token).await;
    let member = member(&stack, &token).await;
    let client = MfaInternalServiceClient::new(channel(stack.mfa));

    for round in 0..PAIRS {
        stack.clock.advance(STEP);
        let code = code_now(&stack, &app);

        let accepted = pair(&client, &member, "totp", &code).await;

        assert_eq!(accepted, 1, "round {round}");
    }
}

async fn email_code_pairs(backend: Backend) {
    let stack = Stack::start(backend).await;
    let owner = stack.organization("essential").await;
    let token = session(&stack, &owner).await;
    enroll(&stack, &token).await;
    stack.mail.nth_mail_to(&owner, 1).await; // the "MFA enabled" notice
    let member = member(&stack, &token).await;
    let client = MfaInternalServiceClient::new(channel(stack.mfa));

    for round in 0..PAIRS {
        stack.clock.advance(BETWEEN_SENDS);
        let received = stack.mail.mails_to(&owner).len();
        let send = SendEmailCodeRequest {
            member_id: member.id.clone(),
            email: member.email.clone(),
        };
        client.clone().send_email_code(send).await.unwrap();
        let mail = stack.mail.nth_mail_to(&owner, received + 1).await;
        let code = mail.code().expect("a code in the email");

        let accepted = pair(&client, &member, "email_code", &code).await;

        assert_eq!(accepted, 1, "round {round}");
    }
}

#[tokio::test]
async fn totp_code_is_accepted_once_in_each_concurrent_pair_on_embedded_default() {
    totp_pairs(Backend::Embedded).await;
}

#[tokio::test]
async fn totp_code_is_accepted_once_in_each_concurrent_pair_on_postgres() {
    totp_pairs(Backend::Real).await;
}

#[tokio::test]
async fn email_code_is_accepted_once_in_each_concurrent_pair_on_embedded_default() {
    email_code_pairs(Backend::Embedded).await;
}

#[tokio::test]
async fn email_code_is_accepted_once_in_each_concurrent_pair_on_redis() {
    email_code_pairs(Backend::Real).await;
}
