//! `mfa`: the operator's command line for a deployment of the MFA service. Every command but
//! `secret` calls the HTTP API with an admin-scoped key (`mfa-client`) and prints the answer as
//! JSON; `secret` makes the deployment's keys in the formats of `mfa_core::keys` and stores them
//! in its Secrets Manager secret.
//!
//! ```text
//! mfa keys create billing --scope verify --scope enroll
//! mfa keys list
//! mfa keys revoke key_...
//! mfa unlock USER
//! mfa reset-factor USER FACTOR
//! mfa policy show ORG
//! mfa policy set ORG --require-mfa --allowed-factors totp,webauthn
//! mfa orgs set USER ORG...
//! mfa audit USER
//! mfa secret generate
//! mfa secret init --secret-arn ARN [--topic-arn ARN --webhook-url URL]
//! ```

mod secret;

use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use mfa_client::api::{FactorKind, MembershipsBody, NewKeyRequest, PolicyBody, Scope};
use mfa_client::Client;
use serde::de::DeserializeOwned;
use serde::Serialize;

/// The operator's command line for a deployment of the MFA service.
#[derive(Debug, Parser)]
#[command(name = "mfa", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// Where the service is and the key that calls it.
#[derive(Debug, Args)]
struct Api {
    /// The service's base URL (the stack's `ApiUrl`; mfa-local: http://127.0.0.1:8080).
    #[arg(long, env = "MFA_URL")]
    url: String,
    /// An API key with the `admin` scope.
    #[arg(long, env = "MFA_API_KEY", hide_env_values = true)]
    key: String,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// App API keys: create (shown once), list, revoke.
    Keys {
        #[command(flatten)]
        api: Api,
        #[command(subcommand)]
        command: KeysCommand,
    },
    /// Lift both of a user's lockouts (second factors and recovery codes).
    Unlock {
        #[command(flatten)]
        api: Api,
        /// The user id.
        user: String,
    },
    /// Reset (delete) one of a user's factors, e.g. a lost authenticator.
    ResetFactor {
        #[command(flatten)]
        api: Api,
        /// The user id.
        user: String,
        /// The factor id (`mfa audit` and the user's factor list name it).
        factor: String,
    },
    /// An organisation's MFA policy.
    Policy {
        #[command(flatten)]
        api: Api,
        #[command(subcommand)]
        command: PolicyCommand,
    },
    /// The organisations a user belongs to.
    Orgs {
        #[command(flatten)]
        api: Api,
        #[command(subcommand)]
        command: OrgsCommand,
    },
    /// A user's latest audit events, newest first.
    Audit {
        #[command(flatten)]
        api: Api,
        /// The user id.
        user: String,
    },
    /// The deployment's keys in its Secrets Manager secret.
    Secret {
        #[command(subcommand)]
        command: secret::SecretCommand,
    },
}

#[derive(Debug, Subcommand)]
enum KeysCommand {
    /// A new key for an app; the key is printed once.
    Create {
        /// The app's name, recorded in each audit event its key causes.
        app: String,
        /// What it may call: verify, enroll, manage, admin (repeat the option).
        #[arg(long = "scope", required = true, value_parser = named::<Scope>)]
        scopes: Vec<Scope>,
    },
    /// Every app key, never its secret.
    List,
    /// Revoke an app key.
    Revoke {
        /// The key's id (`key_...`).
        id: String,
    },
}

#[derive(Debug, Subcommand)]
enum PolicyCommand {
    /// Print the org's policy.
    Show {
        /// The org id.
        org: String,
    },
    /// Set the org's policy (what is not given takes the API's default).
    Set {
        /// The org id.
        org: String,
        /// Members must enroll a second factor.
        #[arg(long)]
        require_mfa: bool,
        /// With --require-mfa: sign-ins a member without a factor still gets.
        #[arg(long, default_value_t = 0)]
        grace_logins: u32,
        /// The factor kinds members may use (totp, sms, email, webauthn), comma-separated.
        #[arg(long, value_delimiter = ',', value_parser = named::<FactorKind>)]
        allowed_factors: Option<Vec<FactorKind>>,
        /// At most this many active factors per member.
        #[arg(long)]
        max_factors: Option<u32>,
        /// Sign-ins by SSO need a second factor too.
        #[arg(long)]
        no_sso_exempt: bool,
        /// How long members' MFA tokens live, in seconds.
        #[arg(long)]
        token_ttl_seconds: Option<u64>,
        /// Members are not told of changes to their sign-in methods.
        #[arg(long)]
        no_notices: bool,
    },
}

#[derive(Debug, Subcommand)]
enum OrgsCommand {
    /// Print the user's orgs.
    Show {
        /// The user id.
        user: String,
    },
    /// Set the user's orgs (none: the user belongs to no org).
    Set {
        /// The user id.
        user: String,
        /// The org ids.
        orgs: Vec<String>,
    },
}

/// A value of the API's named values (`verify`, `totp`, ...), parsed as the API spells it.
fn named<T: DeserializeOwned>(text: &str) -> Result<T, String> {
    serde_json::from_value(serde_json::Value::String(text.to_owned())).map_err(|e| e.to_string())
}

fn print(value: &impl Serialize) -> Result<(), String> {
    let text = serde_json::to_string_pretty(value).map_err(|e| e.to_string())?;
    println!("{text}");
    Ok(())
}

fn client(api: &Api) -> Result<Client, String> {
    Client::new(&api.url, &api.key).map_err(|e| e.to_string())
}

async fn run(command: Command) -> Result<(), String> {
    let failed = |e: mfa_client::Error| e.to_string();
    match command {
        Command::Keys { api, command } => {
            let mfa = client(&api)?;
            match command {
                KeysCommand::Create { app, scopes } => print(
                    &mfa.admin_create_key(&NewKeyRequest { app, scopes }).await.map_err(failed)?,
                ),
                KeysCommand::List => print(&mfa.admin_keys().await.map_err(failed)?),
                KeysCommand::Revoke { id } => mfa.admin_revoke_key(&id).await.map_err(failed),
            }
        }
        Command::Unlock { api, user } => client(&api)?.admin_unlock(&user).await.map_err(failed),
        Command::ResetFactor { api, user, factor } => {
            client(&api)?.admin_reset_factor(&user, &factor).await.map_err(failed)
        }
        Command::Policy { api, command } => {
            let mfa = client(&api)?;
            match command {
                PolicyCommand::Show { org } => {
                    print(&mfa.admin_policy(&org).await.map_err(failed)?)
                }
                PolicyCommand::Set {
                    org,
                    require_mfa,
                    grace_logins,
                    allowed_factors,
                    max_factors,
                    no_sso_exempt,
                    token_ttl_seconds,
                    no_notices,
                } => {
                    let policy = PolicyBody {
                        require_mfa,
                        grace_logins,
                        allowed_factors,
                        max_factors,
                        sso_exempt: !no_sso_exempt,
                        token_ttl_seconds,
                        notices: !no_notices,
                    };
                    print(&mfa.admin_set_policy(&org, &policy).await.map_err(failed)?)
                }
            }
        }
        Command::Orgs { api, command } => {
            let mfa = client(&api)?;
            match command {
                OrgsCommand::Show { user } => {
                    print(&mfa.admin_memberships(&user).await.map_err(failed)?)
                }
                OrgsCommand::Set { user, orgs } => print(
                    &mfa.admin_set_memberships(&user, &MembershipsBody { orgs })
                        .await
                        .map_err(failed)?,
                ),
            }
        }
        Command::Audit { api, user } => {
            print(&client(&api)?.admin_audit(&user).await.map_err(failed)?)
        }
        Command::Secret { command } => secret::run(command).await,
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    match run(Cli::parse().command).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("mfa: {message}");
            ExitCode::FAILURE
        }
    }
}
