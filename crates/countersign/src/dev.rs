//! `countersign dev`, the whole stack in one process, and `countersign
//! bootstrap`, the first organization of a fresh installation.
//!
//! Even in one process the services call each other over gRPC on their
//! ports, exactly as when deployed apart.

use std::{error::Error, sync::Arc};

use rand::{Rng, distributions::Alphanumeric, rngs::OsRng};
use secrecy::{ExposeSecret, SecretString};
use tokio::sync::watch;

use countersign_auth::domain::{AdminError, Auth, Email, NewOrganizationRequest, Password};
use countersign_kit::{clock::SharedClock, grpc, token};

use crate::settings::Settings;

/// Name of the organization `countersign dev` creates.
pub const DEMO_ORGANIZATION: &str = "Demo Accounting";
/// Plan of the demo organization: the lowest with MFA.
pub const DEMO_PLAN: &str = "essential";
/// Email of the demo organization's owner.
pub const DEMO_OWNER: &str = "owner@demo.example";
/// Characters of a generated password.
const GENERATED_PASSWORD_LEN: usize = 20;

/// Options of `countersign bootstrap`.
#[derive(clap::Args)]
pub struct BootstrapArgs {
    /// Organization name.
    #[arg(long)]
    name: String,
    /// Plan tier.
    #[arg(long, default_value = DEMO_PLAN)]
    plan: String,
    /// Email of the owner.
    #[arg(long)]
    owner_email: String,
}

type BoxError = Box<dyn Error>;

/// Runs all three services until SIGINT or SIGTERM.
pub async fn run(mut settings: Settings, clock: SharedClock) -> Result<(), BoxError> {
    let operator = settings
        .auth
        .operator_token
        .get_or_insert_with(token::generate)
        .clone();
    let (auth_listener, auth_addr) = grpc::bind(&settings.auth.listen).await?;
    let (mfa_listener, mfa_addr) = grpc::bind(&settings.mfa.listen).await?;
    let (mail_listener, mail_addr) = grpc::bind(&settings.notification.listen).await?;

    let notification =
        countersign_notification::Service::build(settings.notification, Arc::clone(&clock)).await?;
    let mfa = countersign_mfa::Service::build(settings.mfa, Arc::clone(&clock)).await?;
    let auth = countersign_auth::Service::build(settings.auth, clock).await?;
    let demo = demo_organization(&auth.domain()).await?;

    println!("Countersign is running.");
    println!("  auth          {auth_addr}");
    println!("  mfa           {mfa_addr}");
    println!("  notification  {mail_addr}");
    println!("  operator token  {}", operator.expose_secret());
    match demo {
        Some(password) => {
            println!("Demo organization {DEMO_ORGANIZATION:?} on plan {DEMO_PLAN}:");
            println!("  owner email     {DEMO_OWNER}");
            println!("  owner password  {}", password.expose_secret());
        }
        None => println!("Demo organization already exists; its owner is {DEMO_OWNER}."),
    }

    let (stop, stopped) = watch::channel(());
    tokio::spawn(async move {
        grpc::shutdown_signal().await;
        let _ = stop.send(());
    });
    let until_stopped = |mut rx: watch::Receiver<()>| async move {
        let _ = rx.changed().await;
    };
    tokio::try_join!(
        async {
            auth.serve(auth_listener, until_stopped(stopped.clone()))
                .await
                .map_err(BoxError::from)
        },
        async {
            mfa.serve(mfa_listener, until_stopped(stopped.clone()))
                .await
                .map_err(BoxError::from)
        },
        async {
            notification
                .serve(mail_listener, until_stopped(stopped.clone()))
                .await
                .map_err(BoxError::from)
        },
    )?;
    Ok(())
}

/// Creates the demo organization; its owner's password, or `None` when it
/// exists already (a persistent database started before).
async fn demo_organization(auth: &Auth) -> Result<Option<SecretString>, BoxError> {
    let password = generate_password();
    let request = NewOrganizationRequest {
        name: DEMO_ORGANIZATION.to_string(),
        plan: DEMO_PLAN.to_string(),
        owner_email: Email::parse(DEMO_OWNER)?,
        owner_password: Password::new_choice(password.expose_secret())?,
    };
    match auth.bootstrap_organization(request).await {
        Ok(_) => Ok(Some(password)),
        Err(AdminError::EmailTaken) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// Creates an organization in the auth database and prints its owner's
/// generated password.
pub async fn bootstrap(
    settings: Settings,
    clock: SharedClock,
    args: BootstrapArgs,
) -> Result<(), BoxError> {
    let password = generate_password();
    let request = NewOrganizationRequest {
        name: args.name,
        plan: args.plan,
        owner_email: Email::parse(&args.owner_email)?,
        owner_password: Password::new_choice(password.expose_secret())?,
    };
    let auth = countersign_auth::Service::build(settings.auth, clock).await?;
    let (organization, owner) = auth.domain().bootstrap_organization(request).await?;
    println!("organization id  {}", organization.id);
    println!("owner email      {}", owner.email);
    println!("owner password   {}", password.expose_secret());
    Ok(())
}

fn generate_password() -> SecretString {
    let text: String = OsRng
        .sample_iter(&Alphanumeric)
        .take(GENERATED_PASSWORD_LEN)
        .map(char::from)
        .collect();
    SecretString::from(text)
}
