//! The storage traits' conformance checks, run against every backend: the
//! SQL stores on Postgres and SQLite, the code and lockout store on Redis
//! and in process.

use secrecy::SecretString;

use countersign_auth::store::{SqlStore, conformance as auth, sql::MIGRATIONS};
use countersign_kit::db::{self, DbConfig};
use countersign_mfa::store::{
    conformance as mfa, memory::MemoryCodeStore, redis::RedisCodeStore, sql::SqlFactorStore,
};
use countersign_tests::stack::{Backend, Storage};

fn db_config(backend: Backend, service: &str) -> (DbConfig, String) {
    let storage = Storage::new(backend);
    let config = DbConfig::with_schema(&format!("{}_{service}", storage.tag))
        .with_url(&storage.database_url);
    (config, storage.tag)
}

async fn auth_store(backend: Backend) {
    let (config, tag) = db_config(backend, "auth");
    let store = SqlStore::new(db::connect(&config, &MIGRATIONS).await.unwrap());

    auth::members_are_unique_by_email(&store, &format!("{tag}a")).await;
    auth::sessions_expire_and_end(&store, &format!("{tag}b")).await;
    auth::challenges_count_attempts_and_consume_once(&store, &format!("{tag}c")).await;
    auth::login_failures_lock_and_clear(&store, &format!("{tag}d")).await;
    auth::login_failures_count_atomically(&store, &format!("{tag}e")).await;
    auth::enrollment_session_ends_even_when_kept(&store, &format!("{tag}f")).await;
    auth::organization_plan_and_policy_change(&store, &format!("{tag}g")).await;
    auth::members_list_in_pages_within_organization(&store, &format!("{tag}h")).await;
    auth::member_lock_ends_sessions_and_challenges(&store, &format!("{tag}i")).await;
    auth::invitation_replaced_voids_old_token(&store, &format!("{tag}j")).await;
    auth::invitation_accepted_once(&store, &format!("{tag}k")).await;
    auth::invitation_accept_conflicts_when_email_taken(&store, &format!("{tag}l")).await;
    auth::invitation_accepted_once_under_concurrency(&store, &format!("{tag}m")).await;
    auth::report_token_taken_once_while_live(&store, &format!("{tag}n")).await;
    auth::audit_events_listed_newest_first_and_filtered(&store, &format!("{tag}o")).await;
    auth::audit_events_listed_in_append_order(&store, &format!("{tag}p")).await;
    auth::audit_events_are_append_only(&store, &format!("{tag}q")).await;
}

#[tokio::test]
async fn auth_store_conforms_on_sqlite() {
    auth_store(Backend::Embedded).await;
}

#[tokio::test]
async fn auth_store_conforms_on_postgres() {
    auth_store(Backend::Real).await;
}

async fn factor_store(backend: Backend) {
    let (config, _) = db_config(backend, "mfa");
    let pool = db::connect(&config, &countersign_mfa::store::sql::MIGRATIONS)
        .await
        .unwrap();

    mfa::factor_store(&SqlFactorStore::new(pool)).await;
}

#[tokio::test]
async fn factor_store_conforms_on_sqlite() {
    factor_store(Backend::Embedded).await;
}

#[tokio::test]
async fn factor_store_conforms_on_postgres() {
    factor_store(Backend::Real).await;
}

#[tokio::test]
async fn code_store_conforms_in_process() {
    let store = MemoryCodeStore::new();

    mfa::code_store(&store).await;
    mfa::lockout_store(&store).await;
}

#[tokio::test]
async fn code_store_conforms_on_redis() {
    let storage = Storage::new(Backend::Real);
    let url = SecretString::from(storage.redis_url.clone().unwrap());
    let store = RedisCodeStore::new(&url, &format!("countersign:{}", storage.tag)).unwrap();

    mfa::code_store(&store).await;
    mfa::lockout_store(&store).await;
}

async fn outbox_store(backend: Backend) {
    countersign_notification::store::conformance::run_all(|| async {
        let (config, _) = db_config(backend, "notification");
        let keys = countersign_kit::seal::KeyRing::ephemeral();
        countersign_notification::store::SqlOutboxStore::connect(&config, keys)
            .await
            .unwrap()
    })
    .await;
}

#[tokio::test]
async fn outbox_store_conforms_on_sqlite() {
    outbox_store(Backend::Embedded).await;
}

#[tokio::test]
async fn outbox_store_conforms_on_postgres() {
    outbox_store(Backend::Real).await;
}
