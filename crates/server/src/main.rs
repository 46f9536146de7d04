//! The `server` binary: parses the command line and runs the chosen subcommand.

use std::io::Write as _;
use std::time::Duration;

use anyhow::Context as _;
use api::JwtKeys;
use clap::Parser as _;
use domain::{AccountId, AccountName};
use ports::{AccountService, AccountStatus as _};
use server::config::AccountsCommand;
use server::{secret, startup, telemetry, Application, Cli, Command, Config};

fn main() {
    let cli = Cli::parse();
    telemetry::init(cli.config.log.log_format);
    if let Err(error) = run(cli) {
        tracing::error!("{error:#}");
        eprintln!("error: {error:#}");
        std::process::exit(1);
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    let runtime = || actix_web::rt::System::new();
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => runtime().block_on(async move {
            let app = Application::build(cli.config).await?;
            app.run_until_stopped()
                .await
                .context("the HTTP server failed")
        }),
        Command::Migrate => runtime().block_on(startup::migrate(&cli.config)),
        Command::Token {
            account_id,
            ttl_seconds,
        } => runtime().block_on(mint_token(&cli.config, account_id, ttl_seconds)),
        Command::Accounts(command) => runtime().block_on(accounts(&cli.config, command)),
    }
}

/// Writes one line to stdout, failing (rather than panicking) on a closed pipe.
fn out(line: &str) -> anyhow::Result<()> {
    writeln!(std::io::stdout(), "{line}").context("could not write to stdout")
}

async fn mint_token(
    config: &Config,
    account_id: Option<uuid::Uuid>,
    ttl_seconds: u64,
) -> anyhow::Result<()> {
    let (secret, _) = secret::resolve(config, &config.database.storage()?)?;
    let keys = JwtKeys::new(&config.auth.jwt_settings(secret))?;
    let service = startup::account_service(config).await?;
    let account = match account_id {
        Some(id) => {
            let id = AccountId(id);
            anyhow::ensure!(
                service.is_active(id).await?,
                "account {id} does not exist or is disabled (see `server accounts list`)"
            );
            id
        }
        None => {
            let (account, app_secret) = service
                .create_account(AccountName::parse("development").map_err(anyhow::Error::msg)?)
                .await?;
            eprintln!(
                "created account \"development\"\naccount_id: {}\napp_secret: {app_secret}\n(pass --account-id {} to mint more tokens for it)",
                account.id, account.id
            );
            account.id
        }
    };
    out(&keys.issue(account, Duration::from_secs(ttl_seconds))?)
}

async fn accounts(config: &Config, command: AccountsCommand) -> anyhow::Result<()> {
    let service = startup::account_service(config).await?;
    match command {
        AccountsCommand::Create { name } => {
            let name = AccountName::parse(&name).map_err(|e| anyhow::anyhow!("--name {e}"))?;
            let (account, app_secret) = service.create_account(name).await?;
            out(&format!("account_id: {}", account.id))?;
            out(&format!("app_secret: {app_secret}"))?;
            eprintln!(
                "Keep the app secret now: only its hash is stored, it cannot be shown again."
            );
            Ok(())
        }
        AccountsCommand::List => {
            out("account_id                            created_at                status    name")?;
            for account in service.list_accounts().await? {
                out(&format!(
                    "{}  {}  {:<8}  {}",
                    account.id,
                    account.created_at.format("%Y-%m-%dT%H:%M:%SZ"),
                    if account.disabled {
                        "disabled"
                    } else {
                        "enabled"
                    },
                    account.name.as_str()
                ))?;
            }
            Ok(())
        }
        AccountsCommand::Disable { id } => set_disabled(&service, id, true).await,
        AccountsCommand::Enable { id } => set_disabled(&service, id, false).await,
    }
}

async fn set_disabled(
    service: &AccountService,
    id: uuid::Uuid,
    disabled: bool,
) -> anyhow::Result<()> {
    let id = AccountId(id);
    anyhow::ensure!(service.set_disabled(id, disabled).await?, "no account {id}");
    out(&format!(
        "account {id} {}",
        if disabled { "disabled" } else { "enabled" }
    ))
}
