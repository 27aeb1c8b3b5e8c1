//! No secret at rest in clear and none in the logs: a full journey runs,
//! then the captured log lines, every row of the three services' tables and
//! every Redis key of the stack are searched for the password, tokens, the
//! TOTP seed and every code the journey used.

use redis::AsyncCommands;
use sqlx::{PgPool, Row};
use tonic::Code;

use countersign_proto::mfa::v1::ConfirmEnrollmentRequest;
use countersign_tests::{
    logs,
    stack::{Backend, OPERATOR_TOKEN, PASSWORD, POSTGRES_URL, REDIS_URL, Stack, bearer},
};

use crate::gateway::{
    STEP, answer, assert_status, authenticator, begin, challenge, code_now, send_email_code,
    session,
};

/// What the journey handled that must never be written down.
#[derive(Default)]
struct Secrets {
    /// Found anywhere, as text.
    texts: Vec<String>,
    /// Six-digit codes: found only standing alone, not inside a longer
    /// number such as a timestamp.
    codes: Vec<String>,
    /// The member, whose address is stored in clear (proof a dump read rows).
    owner: String,
    /// Redis while an emailed code was outstanding (Postgres backend only).
    redis_with_code: String,
}

impl Secrets {
    fn text(&mut self, text: &str) {
        self.texts.push(text.to_string());
    }

    /// Every text and code found in `haystack`, as `what: value`.
    fn found_in(&self, haystack: &str) -> Vec<String> {
        let texts = self.texts.iter().filter(|t| haystack.contains(t.as_str()));
        let codes = self.codes.iter().filter(|c| has_standalone(haystack, c));
        texts.chain(codes).cloned().collect()
    }
}

/// Whether `code` occurs in `haystack` as a word of its own: no letter or
/// digit just before or after, so that the digits of a longer number or of
/// a hex id (a digest, a UUID) in the logs of the many tests running in
/// this process are not taken for it.
fn has_standalone(haystack: &str, code: &str) -> bool {
    let word = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric());
    haystack.match_indices(code).any(|(at, _)| {
        let before = haystack[..at].chars().next_back();
        let after = haystack[at + code.len()..].chars().next();
        !word(before) && !word(after)
    })
}

/// Runs the journey: enroll, sign in with each factor, disable; returns
/// what it handled.
async fn journey(stack: &Stack) -> Secrets {
    let mut secrets = Secrets::default();
    secrets.text(PASSWORD);
    secrets.text(OPERATOR_TOKEN);
    let owner = stack.organization("essential").await;
    let token = session(stack, &owner).await;
    secrets.text(&token);
    secrets.owner = owner.clone();

    let enrollment = begin(stack, &token).await.unwrap();
    let app = authenticator(&enrollment);
    secrets.text(&enrollment.secret);
    secrets.text(&hex(&app.secret));
    let confirming = code_now(stack, &app);
    let confirm = ConfirmEnrollmentRequest {
        code: confirming.clone(),
    };
    let confirmed = stack
        .mfa_client()
        .confirm_enrollment(bearer(confirm, &token))
        .await
        .unwrap()
        .into_inner();
    secrets.codes.push(confirming);
    for code in &confirmed.recovery_codes {
        secrets.text(code);
        secrets.text(&code.replace('-', ""));
    }

    stack.clock.advance(STEP);
    let by_app = challenge(stack, &owner).await;
    secrets.text(&by_app.challenge_token);
    let totp = code_now(stack, &app);
    let signed_in = answer(stack, &by_app, "totp", &totp).await.unwrap();
    secrets.codes.push(totp);
    secrets.text(&signed_in.token);

    let by_email = challenge(stack, &owner).await;
    send_email_code(stack, &by_email).await.unwrap();
    let emailed = stack.mail.nth_mail_to(&owner, 2).await.code().unwrap();
    if stack.storage.redis_url.is_some() {
        secrets.redis_with_code = redis_dump(stack).await;
    }
    let signed_in = answer(stack, &by_email, "email_code", &emailed)
        .await
        .unwrap();
    secrets.codes.push(emailed);
    secrets.text(&by_email.challenge_token);
    secrets.text(&signed_in.token);

    let by_recovery = challenge(stack, &owner).await;
    let recovery = &confirmed.recovery_codes[0];
    let signed_in = answer(stack, &by_recovery, "recovery_code", recovery)
        .await
        .unwrap();
    secrets.text(&by_recovery.challenge_token);
    secrets.text(&signed_in.token);
    let reused = challenge(stack, &owner).await;
    assert_status(
        answer(stack, &reused, "recovery_code", recovery).await,
        Code::Unauthenticated,
        None,
    );

    stack.clock.advance(STEP);
    let disabling = code_now(stack, &app);
    crate::gateway::disable(stack, &signed_in.token, &disabling)
        .await
        .unwrap();
    secrets.codes.push(disabling);
    secrets
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Every row of every table of the stack's Postgres schemas, as text.
async fn database_dump(stack: &Stack) -> String {
    let pool = PgPool::connect(POSTGRES_URL).await.unwrap();
    let tables = sqlx::query(
        "SELECT table_schema, table_name FROM information_schema.tables \
         WHERE table_schema LIKE $1 || '\\_%'",
    )
    .bind(&stack.storage.tag)
    .fetch_all(&pool)
    .await
    .unwrap();
    assert!(tables.len() >= 4, "only {} tables found", tables.len());
    let mut dump = String::new();
    for table in tables {
        let (schema, name): (String, String) = (table.get(0), table.get(1));
        let sql = format!("SELECT t::text FROM \"{schema}\".\"{name}\" t");
        for row in sqlx::query(&sql).fetch_all(&pool).await.unwrap() {
            dump.push_str(&row.get::<String, _>(0));
            dump.push('\n');
        }
    }
    dump
}

/// Every key and value the stack wrote to Redis, as text.
async fn redis_dump(stack: &Stack) -> String {
    let client = redis::Client::open(REDIS_URL).unwrap();
    let mut redis = client.get_multiplexed_async_connection().await.unwrap();
    let pattern = format!("countersign:{}:*", stack.storage.tag);
    let keys: Vec<String> = redis.keys(pattern).await.unwrap();
    let mut dump = String::new();
    for key in keys {
        let kind: String = redis::cmd("TYPE")
            .arg(&key)
            .query_async(&mut redis)
            .await
            .unwrap();
        let value: Vec<String> = match kind.as_str() {
            "hash" => redis::cmd("HGETALL")
                .arg(&key)
                .query_async(&mut redis)
                .await
                .unwrap(),
            "string" => vec![redis.get(&key).await.unwrap()],
            other => vec![format!("<{other}>")],
        };
        dump.push_str(&format!("{key} {value:?}\n"));
    }
    dump
}

#[tokio::test]
async fn journey_writes_no_secret_to_logs_on_embedded_default() {
    let stack = Stack::start(Backend::Embedded).await;

    let secrets = journey(&stack).await;

    let logs = logs::capture().text();
    assert!(logs.contains("second factor accepted"), "logs not captured");
    assert_eq!(secrets.found_in(&logs), Vec::<String>::new());
}

#[tokio::test]
async fn journey_keeps_no_secret_in_clear_in_postgres_redis_or_logs() {
    let stack = Stack::start(Backend::Real).await;

    let secrets = journey(&stack).await;

    let database = database_dump(&stack).await;
    let redis = redis_dump(&stack).await;
    let logs = logs::capture().text();
    assert!(database.contains(&secrets.owner), "no member row read");
    assert!(
        secrets.redis_with_code.contains("email_code"),
        "no code key read"
    );
    assert_eq!(secrets.found_in(&database), Vec::<String>::new());
    assert_eq!(
        secrets.found_in(&secrets.redis_with_code),
        Vec::<String>::new()
    );
    assert_eq!(secrets.found_in(&redis), Vec::<String>::new());
    assert_eq!(secrets.found_in(&logs), Vec::<String>::new());
}

#[test]
fn standalone_code_is_found_only_outside_longer_numbers_and_ids() {
    assert!(has_standalone("code=012345.", "012345"));
    assert!(has_standalone("012345", "012345"));
    assert!(has_standalone("\"012345\" and 2012345", "012345"));
    assert!(!has_standalone("at 17012345678 ms", "012345"));
    assert!(!has_standalone("x0123456", "012345"));
    assert!(!has_standalone("id 0190b5d0-a012345f-7000", "012345"));
}

#[test]
fn every_credential_type_hides_its_secret_in_debug() {
    use countersign_kit::seal::{EncryptionKeyConfig, KeyRing};
    use countersign_mfa::{
        code::{Code, CodeKey},
        model::{EmailAddress, MemberId, SessionToken},
        ports::{OutgoingEmail, Template},
        recovery::{RecoveryCode, RecoveryCodes},
        totp::Authenticator,
    };
    use secrecy::{ExposeSecret, SecretString};

    const KEY_B64: &str = "c2VjcmV0LWtleS1zZWNyZXQta2V5LXNlY3JldC1rZXk=";
    let key = || EncryptionKeyConfig {
        id: "k1".into(),
        key: SecretString::from(KEY_B64),
    };
    let app = Authenticator::generate("Countersign", "ada@example.com").unwrap();
    let codes = RecoveryCodes::generate();
    let member = MemberId::parse("m1").unwrap();
    let email = EmailAddress::parse("ada@example.com").unwrap();
    let mut shown = vec![
        format!(
            "{:?}",
            countersign_auth::domain::Password::submitted("hunter2-password").unwrap()
        ),
        format!(
            "{:?}",
            countersign_auth::Config {
                operator_token: Some(SecretString::from("hunter2-operator")),
                ..Default::default()
            }
        ),
        format!("{:?}", Code::parse("918273").unwrap()),
        format!(
            "{:?}",
            CodeKey::from_config(&SecretString::from("hunter2".repeat(5))).unwrap()
        ),
        format!(
            "{:?}",
            RecoveryCode::parse(codes.reveal()[0].expose_secret()).unwrap()
        ),
        format!("{codes:?}"),
        format!(
            "{:?}",
            SessionToken::parse("hunter2-session-token").unwrap()
        ),
        format!("{app:?}"),
        format!("{:?}", KeyRing::from_config(&[key()]).unwrap()),
        format!("{:?}", key()),
        format!(
            "{:?}",
            OutgoingEmail::new(Template::EmailCode, email, &member, 0, "")
                .param("code", SecretString::from("918273"))
        ),
        format!(
            "{:?}",
            countersign_mfa::Config {
                code_key: Some(SecretString::from("hunter2".repeat(5))),
                encryption_keys: vec![key()],
                redis_url: Some(SecretString::from("redis://:hunter2@cache")),
                ..Default::default()
            }
        ),
        format!(
            "{:?}",
            countersign_notification::Config {
                smtp: Some(countersign_notification::config::SmtpConfig::new(
                    "smtps://mailer:hunter2@relay.example"
                )),
                params_keys: vec![key()],
                ..Default::default()
            }
        ),
    ];
    shown.retain(|text| {
        text.contains("hunter2")
            || text.contains("918273")
            || text.contains(KEY_B64)
            || text.contains(app.secret_base32().expose_secret())
            || codes
                .reveal()
                .iter()
                .any(|c| text.contains(c.expose_secret()))
    });

    assert_eq!(shown, Vec::<String>::new());
}
