//! The `latchkey` executable: `serve`, and the admin commands for users and clients.

mod cli;
mod config_file;
mod doctor;
mod telemetry;

use std::io::{BufRead, IsTerminal};
use std::net::TcpListener;
use std::process::ExitCode;
use std::sync::Arc;

use clap::FromArgMatches;
use latchkey_app::admin::Actor;
use latchkey_app::directory::clients::{self, NewClient};
use latchkey_app::federation::providers::ProviderSettings;
use latchkey_app::{App, AppError};
use latchkey_authn::NewUser;
use latchkey_domain::{LinkRule, Provider, ProviderKind, Secret, SharedClock, SystemClock};
use latchkey_web::AppState;
use serde_json::json;

use cli::{
    AdminCommand, ApiCommand, ApiScopeCommand, Cli, ClientCommand, Command, GrantsCommand, GroupCommand, GroupMemberCommand, KeysCommand, MailCommand, PasskeysCommand, ProviderArgs, ProviderCommand,
    ScimCommand, ScimTokenCommand, ServeArgs, SessionsCommand, UserCommand, WebhookCommand,
};
use latchkey_domain::SigningAlg;

#[derive(Debug, thiserror::Error)]
pub(crate) enum CliError {
    #[error(transparent)]
    Startup(#[from] latchkey_web::StartupError),
    #[error("{0}")]
    Authn(#[from] latchkey_authn::AuthnError),
    #[error("{0}")]
    App(#[from] AppError),
    #[error("{0}")]
    OAuth(String),
    #[error("{0}")]
    Usage(String),
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

impl From<latchkey_oauth::OAuthError> for CliError {
    fn from(e: latchkey_oauth::OAuthError) -> Self {
        match e {
            latchkey_oauth::OAuthError::Protocol { description, .. } => CliError::OAuth(description),
            other => CliError::OAuth(other.to_string()),
        }
    }
}

fn main() -> ExitCode {
    if let Err(e) = config_file::apply() {
        eprintln!("error: {e}");
        return ExitCode::FAILURE;
    }
    let cli = Cli::from_arg_matches(&cli::command().get_matches()).unwrap_or_else(|e| e.exit());
    let rt = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    // Only the server exports traces (the admin commands have no requests).
    let traces = match init_logging(matches!(cli.command, Command::Serve(_)), rt.handle()) {
        Ok(traces) => traces,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = rt.block_on(run(cli));
    // The last spans leave while the runtime their export runs on still runs.
    if let Some(traces) = traces {
        traces.shutdown();
    }
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Logs go to stderr: `LATCHKEY_LOG` (filter, default `info`),
/// `LATCHKEY_LOG_FORMAT` (`text`, coloured only on a terminal, or `json`).
/// With `traces` (the server) and `LATCHKEY_OTLP_ENDPOINT` set, spans are
/// exported too (see `telemetry`); the returned handle flushes them.
fn init_logging(traces: bool, runtime: &tokio::runtime::Handle) -> Result<Option<telemetry::Traces>, String> {
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    use tracing_subscriber::Layer;
    let text = std::env::var("LATCHKEY_LOG").unwrap_or_else(|_| "info".into());
    let filter = tracing_subscriber::EnvFilter::try_new(&text).map_err(|e| format!("LATCHKEY_LOG={text:?} is not a valid filter: {e}"))?;
    let filter = telemetry::without_trace_spans(filter, &text);
    let logs = match std::env::var("LATCHKEY_LOG_FORMAT").as_deref().unwrap_or("text") {
        "json" => tracing_subscriber::fmt::layer().json().with_current_span(true).with_writer(std::io::stderr).with_filter(filter).boxed(),
        "text" => tracing_subscriber::fmt::layer().with_ansi(std::io::stderr().is_terminal()).with_writer(std::io::stderr).with_filter(filter).boxed(),
        other => return Err(format!("LATCHKEY_LOG_FORMAT={other:?} must be text or json")),
    };
    let otlp = if traces { telemetry::OtlpSettings::from_env().map_err(|e| e.to_string())? } else { None };
    let Some(otlp) = otlp else {
        tracing_subscriber::registry().with(logs).try_init().map_err(|e| e.to_string())?;
        return Ok(None);
    };
    let (exporter, handle) = telemetry::layer(&otlp, runtime.clone()).map_err(|e| e.to_string())?;
    tracing_subscriber::registry().with(logs).with(exporter).try_init().map_err(|e| e.to_string())?;
    Ok(Some(handle))
}

/// Everything the CLI does is audited as done by `cli`.
async fn run(cli: Cli) -> Result<(), CliError> {
    let ctx = latchkey_oauth::audit::AuditContext::new(None, None, None);
    ctx.scope(async {
        latchkey_oauth::audit::set_caller(latchkey_domain::Actor::Cli, None);
        run_command(cli).await
    })
    .await
}

async fn run_command(cli: Cli) -> Result<(), CliError> {
    let opts = match &cli.command {
        Command::Serve(args) => args.opts.clone(),
        _ => cli::ServerOptions::from_env().map_err(CliError::Usage)?,
    };
    let settings = cli.store.settings(&opts).map_err(CliError::Usage)?;
    let clock: SharedClock = Arc::new(SystemClock);
    match cli.command {
        Command::Serve(args) => serve(settings, args, clock).await,
        Command::User { command } => {
            let state = app(&settings, clock).await?;
            settled(&state, user_command(&state, command).await).await
        }
        // Listing reads the directory only: no App, so no signing keys are
        // created by it (the doctor's test relies on a database without them).
        Command::Client { command: ClientCommand::List { json } } => list_clients(&latchkey_web::open_stores(&settings).await?.db, json).await,
        Command::Client { command } => {
            let state = app(&settings, clock).await?;
            settled(&state, client_command(&state, command).await).await
        }
        Command::Grants { command } => {
            let state = app(&settings, clock).await?;
            settled(&state, grants_command(&state, command).await).await
        }
        Command::Api { command } => api_command(&app(&settings, clock).await?, command).await,
        Command::Group { command } => group_command(&app(&settings, clock).await?, command).await,
        Command::Provider { command } => provider_command(&app(&settings, clock).await?, command).await,
        Command::Doctor { url } => doctor::run(&settings, url.as_deref(), clock).await,
        Command::Probe { url } => {
            let r = latchkey_oauth::http::client_builder()
                .timeout(std::time::Duration::from_secs(3))
                .build()
                .map_err(|e| CliError::OAuth(e.to_string()))?
                .get(format!("{}/health/ready", url.trim_end_matches('/')))
                .send()
                .await;
            match r {
                Ok(r) if r.status().is_success() => Ok(()),
                Ok(r) => Err(CliError::Usage(format!("not ready: {}", r.status()))),
                Err(e) => Err(CliError::Usage(format!("no answer: {e}"))),
            }
        }
        Command::Keys { command } => keys_command(&app(&settings, clock).await?, command).await,
        Command::Admin { command: AdminCommand::SetupLink } => match app(&settings, clock).await?.first_admin_setup_link().await? {
            Some(url) => {
                println!("Open this link within an hour to create the first administrator (admin) with a passkey:\n{url}");
                Ok(())
            }
            None => Err(CliError::Usage("an administrator can already sign in; they invite others (latchkey user invite … --admin, or the console)".into())),
        },
        Command::Sessions { command } => {
            let state = app(&settings, clock).await?;
            settled(&state, sessions_command(&state, command).await).await
        }
        // Only reads files: no database, no key, nothing created.
        Command::Mail { command } => mail_command(&settings.outbox_dir(), command),
        // The database only: no App, no keys.
        Command::Passkeys { command } => passkeys_command(&latchkey_web::open_stores(&settings).await?.db, command).await,
        Command::Scim { command: ScimCommand::Token { command } } => scim_token_command(&app(&settings, clock).await?, command).await,
        Command::Webhook { command } => webhook_command(&app(&settings, clock).await?, command).await,
    }
}

/// `latchkey webhook add|list|remove|enable|log`.
async fn webhook_command(state: &latchkey_app::App, command: WebhookCommand) -> Result<(), CliError> {
    match command {
        WebhookCommand::Add { url, events, secret_stdin, allow_private } => {
            let secret = if secret_stdin { Some(read_stdin_line("Signing secret (whsec_…)")?) } else { None };
            let (sub, secret) = state.add_webhook(&Actor::Cli, &url, &events, secret.as_deref(), allow_private).await?;
            println!("webhook {} to {} ({})", sub.id, sub.url, if sub.events.is_empty() { "every event".to_string() } else { sub.events.join(", ") });
            println!("{secret}");
            println!("(the signing secret, shown once: verify webhook-signature with it, as the Standard Webhooks libraries do)");
        }
        WebhookCommand::List => {
            for s in state.webhooks().await? {
                let status = match (s.disabled_at, s.failing_since) {
                    (Some(_), _) => "off (a day of failures; latchkey webhook enable)".to_string(),
                    (None, Some(since)) => format!("failing since {}", latchkey_domain::clock::rfc3339(since)),
                    (None, None) => "on".to_string(),
                };
                let events = if s.events.is_empty() { "*".to_string() } else { s.events.join(",") };
                println!("{}  {}  events={}  {}", s.id, s.url, events, status);
            }
        }
        WebhookCommand::Remove { id } => {
            state.remove_webhook(&Actor::Cli, &id).await?;
            println!("removed webhook {id}");
        }
        WebhookCommand::Enable { id } => {
            state.enable_webhook(&id).await?;
            println!("webhook {id} is on again");
        }
        WebhookCommand::Log { id } => {
            let (attempts, pending) = state.webhook_log(&id).await?;
            println!("{pending} waiting");
            for a in attempts {
                let what = match (a.status, a.error) {
                    (_, Some(e)) => e,
                    (Some(s), None) => format!("HTTP {s}"),
                    (None, None) => "no answer".into(),
                };
                println!("{}  event {}  {}  {} ms", latchkey_domain::clock::rfc3339(a.at), a.event_id, what, a.millis);
            }
        }
    }
    Ok(())
}

/// `latchkey scim token create|list|revoke`.
async fn scim_token_command(state: &latchkey_app::App, command: ScimTokenCommand) -> Result<(), CliError> {
    use latchkey_app::scim::clients::Onboarding;
    match command {
        ScimTokenCommand::Create { name, expires_days, onboarding } => {
            let onboarding = Onboarding::parse(&onboarding).ok_or_else(|| CliError::Usage("--onboarding is none or invite".into()))?;
            if expires_days.is_some_and(|d| !(1..=3660).contains(&d)) {
                return Err(CliError::Usage("--expires-days is 1 to 3660".into()));
            }
            let (client, token) = state.create_scim_client(&Actor::Cli, &name, onboarding, expires_days.map(|d| d * 86_400)).await?;
            println!("{token}");
            println!("(shown once) SCIM client {} for {}; its base URL is {}/scim/v2", client.id, client.name, state.issuer);
        }
        ScimTokenCommand::List => {
            for c in state.scim_clients().await? {
                let status = match (c.revoked_at, c.expires_at) {
                    (Some(_), _) => "revoked".to_string(),
                    (None, Some(e)) if e <= state.clock.now() => "expired".to_string(),
                    _ => format!("last used {}", c.last_used_at.map(latchkey_app::scim::datetime).unwrap_or_else(|| "never".into())),
                };
                println!("{}  {}  onboarding={}  {}", c.id, c.name, c.onboarding.as_str(), status);
            }
        }
        ScimTokenCommand::Revoke { id } => {
            state.revoke_scim_client(&Actor::Cli, &id).await?;
            println!("revoked SCIM client {id}");
        }
    }
    Ok(())
}

/// `latchkey passkeys aaguids [--file PATH | --shipped]`: the passkey
/// provider list in force, kept in the database so every node names
/// passkeys from it at the next page.
async fn passkeys_command(db: &latchkey_store::Db, command: PasskeysCommand) -> Result<(), CliError> {
    use latchkey_authn::passkey_providers::{parse_list, ListSource, ProviderList};
    let PasskeysCommand::Aaguids { file, shipped } = command;
    let providers = latchkey_authn::PasskeyProviders::new(db.clone());
    if let Some(path) = file {
        let text = std::fs::read_to_string(&path).map_err(|e| CliError::Usage(format!("{}: {e}", path.display())))?;
        let list = parse_list(&text).map_err(|e| CliError::Usage(format!("{}: {e}", path.display())))?;
        if list.providers.is_empty() {
            // The community list, once retired, is an empty object: not a list to use.
            return Err(CliError::Usage(format!("{} names no passkey providers; nothing was changed (go back to the shipped list with --shipped)", path.display())));
        }
        for dropped in &list.dropped_icons {
            eprintln!("warning: icon left out: {dropped}");
        }
        let n = providers.replace(&list).await?;
        println!("{n} passkey providers from {} are in force on every node (icons left out: {})", path.display(), list.dropped_icons.len());
    } else if shipped {
        providers.replace(&ProviderList { providers: Vec::new(), dropped_icons: Vec::new() }).await?;
        println!("the list shipped in latchkey is in force ({} passkey providers)", latchkey_authn::passkey_providers::shipped_count());
    } else {
        match providers.source().await? {
            ListSource::Shipped(n) => println!("the list shipped in latchkey is in force ({n} passkey providers); replace it with --file PATH"),
            ListSource::Operator(n) => println!("a list loaded with --file is in force ({n} passkey providers); go back to the shipped one with --shipped"),
        }
    }
    Ok(())
}

/// The application for an admin command: no web state, no listener.
async fn app(settings: &latchkey_web::Settings, clock: SharedClock) -> Result<App, CliError> {
    let stores = latchkey_web::open_stores(settings).await?;
    Ok(latchkey_web::build_app(settings, stores, clock).await?)
}

/// A command that ended sessions has started back-channel logouts: they are
/// delivered (with their retries) before the process exits, not minutes
/// later by a node's upkeep. Bounded by `DELIVERY_WAIT`; what is left then
/// stays recorded and a running node delivers it.
async fn settled(state: &App, result: Result<(), CliError>) -> Result<(), CliError> {
    if !state.oauth.finish_backchannel_deliveries(latchkey_oauth::logout::DELIVERY_WAIT).await {
        eprintln!("warning: some back-channel logouts were not acknowledged within {} s; a running server node retries them", latchkey_oauth::logout::DELIVERY_WAIT.as_secs());
    }
    result
}

/// `latchkey mail list|show`: the outbox, read back with the text part
/// decoded, so a link is pasted whole.
fn mail_command(outbox: &std::path::Path, command: MailCommand) -> Result<(), CliError> {
    let messages = latchkey_authn::mail::read_outbox(outbox)?;
    match command {
        MailCommand::List => {
            if messages.is_empty() {
                println!("the outbox ({}) is empty", outbox.display());
            }
            for (i, m) in messages.iter().enumerate() {
                println!("{}\t{}\t{}\t{}", i + 1, m.date, m.to, m.subject);
            }
        }
        MailCommand::Show { n } => {
            let index = match n.as_str() {
                "last" => messages.len().checked_sub(1),
                number => number.parse::<usize>().ok().and_then(|k| k.checked_sub(1)),
            };
            let m = index.and_then(|i| messages.get(i)).ok_or_else(|| CliError::Usage(format!("no message {n} in the outbox ({} messages; see `latchkey mail list`)", messages.len())))?;
            println!("To: {}\nSubject: {}\nDate: {}\n\n{}", m.to, m.subject, m.date, m.text.trim_end());
        }
    }
    Ok(())
}

/// How often each node does key upkeep (rotation when due, retirement, reload).
const MAINTENANCE_INTERVAL: std::time::Duration = std::time::Duration::from_secs(60);

async fn grants_command(state: &App, command: GrantsCommand) -> Result<(), CliError> {
    let ops = state.admin(Actor::Cli);
    match command {
        GrantsCommand::List { client, json } => {
            let grants = ops.client_grants(&client).await?;
            if json {
                println!("{}", serde_json::to_string(&grants).map_err(|e| CliError::Usage(e.to_string()))?);
            } else if grants.is_empty() {
                println!("no grants for client {client}");
            } else {
                for g in grants {
                    println!("{}\t{}\tfamilies={}\tlast used {}", g.username, g.scope, g.families, g.last_used_at.map_or("never".into(), rfc3339));
                }
            }
        }
        GrantsCommand::Revoke { client, user } => {
            let report = match (client.as_deref(), user.as_deref()) {
                (Some(c), u) => ops.revoke_client_grants(c, u).await?,
                (None, Some(u)) => ops.revoke_user_grants(u).await?,
                (None, None) => return Err(CliError::Usage("say what to revoke: --client <id> and/or --user <username>".into())),
            };
            println!("revoked {} grant(s), {} refresh-token family(ies), {} tracked access token(s)", report.grants, report.families, report.access_tokens);
        }
    }
    Ok(())
}

async fn sessions_command(state: &App, command: SessionsCommand) -> Result<(), CliError> {
    match command {
        SessionsCommand::List { user, json } => {
            let u = state.authn.find_by_username(&user).await?.ok_or_else(|| CliError::Usage(format!("no user {user}")))?;
            let sessions = state.sessions.list(&u.id).await?;
            if json {
                let list: Vec<_> = sessions.iter().map(|s| json!({ "sid": s.sid, "device": s.device_name, "ip": s.ip, "created_at": s.created_at, "last_seen_at": s.last_seen_at })).collect();
                println!("{}", serde_json::Value::Array(list));
            } else if sessions.is_empty() {
                println!("no live sessions");
            } else {
                for s in sessions {
                    println!("{}\t{}\t{}\tlast seen {}", s.sid, s.device_name.unwrap_or_default(), s.ip.unwrap_or_default(), rfc3339(s.last_seen_at));
                }
            }
        }
        SessionsCommand::Revoke { user, sid } => {
            let ended = match (user, sid) {
                (_, Some(sid)) => state.end_sessions(vec![sid]).await?,
                (Some(user), None) => {
                    let u = state.authn.find_by_username(&user).await?.ok_or_else(|| CliError::Usage(format!("no user {user}")))?;
                    state.end_user_sessions(&u.id, None).await?
                }
                (None, None) => return Err(CliError::Usage("say which: --sid <sid> or --user <username>".into())),
            };
            println!("ended {} session(s)", ended.len());
        }
    }
    Ok(())
}

async fn keys_command(state: &App, command: KeysCommand) -> Result<(), CliError> {
    match command {
        KeysCommand::List { json } => {
            let keys = state.tokens.key_status().await.map_err(|e| CliError::Usage(e.to_string()))?;
            if json {
                println!("{}", serde_json::to_string(&keys).map_err(|e| CliError::Usage(e.to_string()))?);
            } else {
                for k in keys {
                    println!("{}\t{}\t{}\tcreated {}", k.kid, k.alg, k.state, rfc3339(k.created_at));
                }
            }
        }
        KeysCommand::Rotate { alg } => {
            let algs = match alg {
                Some(a) => vec![SigningAlg::parse(&a).ok_or_else(|| CliError::Usage(format!("unknown algorithm {a}")))?],
                None => SigningAlg::ALL.to_vec(),
            };
            let kids = state.tokens.rotate_keys(&algs).await.map_err(|e| CliError::Usage(e.to_string()))?;
            for kid in kids {
                println!("created {kid} (published now; signs in {} s)", latchkey_token::keys::KEY_PUBLISH_LEAD);
            }
        }
    }
    Ok(())
}

async fn serve(mut settings: latchkey_web::Settings, args: ServeArgs, clock: SharedClock) -> Result<(), CliError> {
    let workers = args.workers.unwrap_or_else(|| std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2));
    if workers == 0 {
        return Err(CliError::Usage("LATCHKEY_WORKERS must be at least 1".into()));
    }
    let bind: std::net::SocketAddr = args.bind.parse().map_err(|_| CliError::Usage(format!("LATCHKEY_BIND={:?} is not an address:port (e.g. 127.0.0.1:8080)", args.bind)))?;
    settings.bind = args.bind.clone();
    settings.validate().map_err(CliError::Usage)?;
    let listener = TcpListener::bind(bind).map_err(|e| CliError::Usage(format!("cannot listen on {bind} (LATCHKEY_BIND): {e}")))?;
    let metrics = match settings.metrics_bind.as_deref() {
        Some(m) => Some(TcpListener::bind(m).map_err(|e| CliError::Usage(format!("cannot listen on {m} (LATCHKEY_METRICS_BIND): {e}")))?),
        None => None,
    };
    let state = Arc::new(AppState::build(&settings, clock).await?);
    let addr = listener.local_addr()?;
    if let Ok(issuer) = url::Url::parse(&state.issuer) {
        if issuer.host_str() == Some("localhost") && issuer.port_or_known_default() != Some(addr.port()) {
            eprintln!(
                "warning: the issuer {} names port {}, but latchkey listens on {}; set LATCHKEY_ISSUER to the URL browsers use",
                state.issuer,
                issuer.port_or_known_default().unwrap_or(0),
                addr.port()
            );
        }
    }
    if let Some(m) = metrics {
        println!("  metrics:    http://{}/metrics", m.local_addr()?);
        let server = latchkey_web::metrics::start(m, state.clone())?;
        tokio::spawn(server);
    }
    let shared = if state.stores.fast.is_shared() { "Redis" } else { "in-process (single node)" };
    println!("latchkey is listening on http://{addr}");
    println!("  issuer:     {}", state.issuer);
    println!("  database:   {}", describe_db(&settings.database_url()));
    println!("  hot state:  {shared}");
    println!("  discovery:  {}/.well-known/openid-configuration", state.issuer);
    println!("  your account page: {}/account", state.issuer);
    // The command as this one was started (`./target/release/latchkey`), so
    // the hint works where `latchkey` is not on PATH.
    let me = command_name(std::env::args_os().next().map(|a| a.to_string_lossy().into_owned()));
    match state.first_admin_setup_link().await {
        Ok(Some(url)) => {
            println!("No administrator yet. Open this one-time link within an hour to create one (admin) with a passkey:");
            println!("  {url}");
            println!("  (a new link: {me} admin setup-link)");
        }
        Ok(None) => {}
        Err(e) => eprintln!("warning: no set-up link for the first administrator: {e}"),
    }
    println!("Register a client (in another terminal, same directory and settings):");
    println!("  {me} client add --name 'My app' --redirect-uri http://localhost:3000/callback --json");
    let retention_days = settings.audit_retention_days;
    let registration_expiry_days = settings.client_registration_expiry_days;
    let upkeep = state.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(MAINTENANCE_INTERVAL);
        loop {
            tick.tick().await;
            if let Err(e) = upkeep.oauth.enforce_audit_retention(retention_days).await {
                tracing::warn!(error = %e, "audit retention failed; will retry");
            }
            if let Err(e) = upkeep.oauth.retry_backchannel_deliveries().await {
                tracing::warn!(error = %e, "back-channel retries failed; will retry");
            }
            if let Err(e) = upkeep.oauth.maintain_keys().await {
                tracing::warn!(error = %e, "key maintenance failed; will retry");
            }
            // Single-use values kept in the database during a Redis outage (issue #31).
            match upkeep.stores.fast.sweep_fallback().await {
                Ok(0) => {}
                Ok(n) => tracing::info!(removed = n, "expired single-use values swept from the database"),
                Err(e) => tracing::warn!(error = %e, "sweeping expired single-use values failed; will retry"),
            }
            if registration_expiry_days > 0 {
                match upkeep.reap_unused_registrations(registration_expiry_days).await {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(target: "security", removed = n, "unused self-registered clients removed"),
                    Err(e) => tracing::warn!(error = %e, "removing unused self-registered clients failed; will retry"),
                }
            }
        }
    });
    // Webhooks go out from the outbox every second, from every node (issue #30).
    let deliverer = state.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(WEBHOOK_INTERVAL);
        let mut sweep = 0u32;
        loop {
            tick.tick().await;
            if let Err(e) = deliverer.deliver_webhooks().await {
                tracing::warn!(error = %e, "webhook delivery failed; will retry");
            }
            sweep = (sweep + 1) % 3600;
            if sweep == 0 {
                if let Err(e) = deliverer.sweep_webhook_deliveries().await {
                    tracing::warn!(error = %e, "sweeping delivered webhooks failed; will retry");
                }
            }
        }
    });
    let server = latchkey_web::start(listener, state, workers)?;
    server.await?;
    Ok(())
}

/// How often each node looks for webhook deliveries due.
const WEBHOOK_INTERVAL: std::time::Duration = std::time::Duration::from_secs(1);

/// How to run this executable again from the same directory: its `argv[0]`
/// as typed (a bare name was found on PATH), a relative path made explicit
/// (`./…`), quoted for a POSIX shell when it has anything unusual in it.
fn command_name(argv0: Option<String>) -> String {
    let Some(arg) = argv0.filter(|a| !a.is_empty()) else { return "latchkey".into() };
    let path = if arg.contains('/') && !arg.starts_with('/') && !arg.starts_with("./") && !arg.starts_with("../") { format!("./{arg}") } else { arg };
    if path.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '/' | '.' | '-' | '_')) {
        path
    } else {
        format!("'{}'", path.replace('\'', "'\\''"))
    }
}

/// The database URL without credentials, for the start-up banner.
fn describe_db(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) if u.scheme().starts_with("postgres") => {
            let _ = u.set_password(None);
            u.to_string()
        }
        _ => url.to_string(),
    }
}

fn read_password() -> Result<Secret, CliError> {
    read_stdin_line("Password").map(Secret::new)
}

/// One line of standard input (`what`: asked for on a terminal; never empty).
fn read_stdin_line(what: &str) -> Result<String, CliError> {
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        eprintln!("{what} (input is visible; end with Enter):");
    }
    let mut line = String::new();
    stdin.lock().read_line(&mut line)?;
    let value = line.trim_end_matches(['\n', '\r']).to_string();
    if value.is_empty() {
        return Err(CliError::Usage(format!("no {} on standard input", what.to_lowercase())));
    }
    Ok(value)
}

async fn user_command(state: &App, command: UserCommand) -> Result<(), CliError> {
    let authn = &state.authn;
    match command {
        UserCommand::Invite { username, email, admin, json } => {
            let (user, url) = state.invite(&latchkey_domain::Actor::Cli, &username, &email, admin).await?;
            if json {
                println!("{}", json!({ "user_id": user.id.0, "invite_url": url }));
            } else {
                println!("invited {} ({}); the link was mailed to {}:\n{url}", user.username, user.id.0, user.email);
            }
        }
        UserCommand::ResetMfa { username } => {
            let user = authn.find_by_username(&username).await?.ok_or_else(|| CliError::Usage(format!("no user named {username}")))?;
            state.admin(Actor::Cli).reset_mfa(&user).await?;
            println!("reset the second factor of {} and ended their sessions", user.username);
        }
        UserCommand::Add { username, email, password_stdin, admin, json } => {
            if !password_stdin {
                return Err(CliError::Usage("pass the password on standard input with --password-stdin (never as an argument: it would end up in shell history)".into()));
            }
            let password = read_password()?;
            let user = authn.create_user(NewUser { username, email, password, admin }).await?;
            if json {
                println!("{}", json!({ "user_id": user.id.0, "username": user.username, "email": user.email, "admin": user.admin }));
            } else {
                println!("created user {} ({})", user.username, user.id.0);
            }
        }
        UserCommand::Update { username, admin, passkey_only } => {
            if admin.is_none() && passkey_only.is_none() {
                return Err(CliError::Usage("say what to change: --admin true|false, --passkey-only true|false".into()));
            }
            let user = state.admin(Actor::Cli).find_user(&username).await?.ok_or_else(|| CliError::Usage(format!("no user named {username}")))?;
            if let Some(admin) = admin {
                state.admin(Actor::Cli).set_admin(&user, admin).await?;
                println!("{} is {}an administrator", user.username, if admin { "now " } else { "no longer " });
            }
            if let Some(on) = passkey_only {
                state.admin(Actor::Cli).set_passkey_only(&user, on, latchkey_i18n::Tr::new(latchkey_i18n::Locale::En)).await?;
                println!("{} {}", user.username, if on { "signs in with passkeys only now" } else { "may have a password again" });
            }
        }
        UserCommand::List { json } => {
            let users = authn.list_users().await?;
            if json {
                let list: Vec<_> = users.iter().map(|u| json!({ "user_id": u.id.0, "username": u.username, "email": u.email, "admin": u.admin })).collect();
                println!("{}", serde_json::Value::Array(list));
            } else if users.is_empty() {
                println!("no users yet (create one with `latchkey user add` or `latchkey user invite`)");
            } else {
                for u in users {
                    println!("{}\t{}\t{}{}", u.id.0, u.username, u.email, if u.admin { "\tadmin" } else { "" });
                }
            }
        }
    }
    Ok(())
}

/// A client as `client list --json` and `client show` print it.
fn client_json(c: &latchkey_domain::Client) -> serde_json::Value {
    json!({
        "client_id": c.id.0, "name": c.name, "public": c.secret_hash.is_none(),
        "redirect_uris": c.redirect_uris, "grant_types": c.grant_types.iter().map(|g| g.as_str()).collect::<Vec<_>>(),
        "scope": c.allowed_scopes.to_string(), "admin": c.admin, "id_token_alg": c.id_token_alg.as_str(),
        "logo_uri": c.links.logo_uri, "policy_uri": c.links.policy_uri, "tos_uri": c.links.tos_uri,
        "self_registered": c.self_registered,
        "token_exchange_to": c.token_exchange.to, "token_exchange_impersonation": c.token_exchange.impersonation, "may_act": c.token_exchange.may_act,
    })
}

async fn list_clients(db: &latchkey_store::Db, json: bool) -> Result<(), CliError> {
    let list = clients::list(db).await?;
    if json {
        let list: Vec<_> = list.iter().map(client_json).collect();
        println!("{}", serde_json::Value::Array(list));
    } else {
        for c in list {
            println!("{}\t{}\t{}", c.id.0, c.name, c.redirect_uris.join(" "));
        }
    }
    Ok(())
}

/// Registration, link and scope changes and removal are the admin use cases
/// the console and the admin API run (audited as the CLI; removal revokes
/// what was issued to the client first); the settings only the CLI has
/// (keys, PAR, DPoP, ID token algorithm) write the directory.
async fn client_command(state: &App, command: ClientCommand) -> Result<(), CliError> {
    let stores = &state.stores;
    let ops = state.admin(Actor::Cli);
    match command {
        ClientCommand::Add(args) => {
            let json = args.json;
            let new: NewClient = args.into_new_client().map_err(CliError::Usage)?;
            let (client, secret) = ops.create_client(new).await?;
            if json {
                let mut out = json!({ "client_id": client.id.0 });
                if let Some(s) = &secret {
                    out["client_secret"] = json!(s.expose());
                }
                println!("{out}");
            } else {
                println!("client_id:     {}", client.id.0);
                if let Some(s) = &secret {
                    println!("client_secret: {}", s.expose());
                    println!("(the secret is shown once; latchkey stores only a keyed hash of it)");
                }
            }
        }
        ClientCommand::List { json } => list_clients(&stores.db, json).await?,
        ClientCommand::Show { client_id } => {
            let client = state.oauth.client(&client_id).await.map_err(latchkey_oauth::OAuthError::from)?.ok_or_else(|| CliError::Usage(format!("no client with id {client_id}")))?;
            println!("{}", serde_json::to_string_pretty(&client_json(&client)).unwrap_or_default());
        }
        ClientCommand::Update { client_id, allow_scopes, require_par, jwks_file, require_private_key_jwt, jwks_uri, require_dpop, id_token_alg, links, exchange } => {
            let id_token_alg = id_token_alg.map(|a| SigningAlg::parse(&a).ok_or_else(|| CliError::Usage(format!("unknown algorithm {a} (use RS256, ES256 or EdDSA)")))).transpose()?;
            let links = links.into_update();
            let links_change = !links.is_empty();
            if links_change {
                let now = ops.update_client_links(&client_id, links).await?;
                let shown = |v: &Option<String>| v.clone().unwrap_or_else(|| "none".into());
                println!("client {client_id}: logo {}, privacy policy {}, terms {}", shown(&now.logo_uri), shown(&now.policy_uri), shown(&now.tos_uri));
            }
            if let Some(uri) = &jwks_uri {
                clients::set_jwks_uri(&stores.db, &client_id, Some(uri.as_str()).filter(|u| !u.is_empty())).await?;
                println!("client {client_id}: {}", if uri.is_empty() { "jwks_uri removed".to_string() } else { format!("keys fetched from {uri}") });
            }
            if let Some(path) = &jwks_file {
                let text = std::fs::read_to_string(path).map_err(|e| CliError::Usage(format!("cannot read {}: {e}", path.display())))?;
                clients::set_keys(&stores.db, &client_id, Some(&text), require_private_key_jwt.unwrap_or(false)).await?;
                println!("client {client_id}: keys replaced{}", if require_private_key_jwt == Some(true) { "; only private_key_jwt accepted" } else { "" });
            } else if let Some(required) = require_private_key_jwt {
                let id = client_id.clone();
                let current = stores
                    .db
                    .run(move |c| latchkey_store::repo::clients::find(c, &id))
                    .await
                    .map_err(latchkey_oauth::OAuthError::from)?
                    .ok_or_else(|| CliError::Usage(format!("no client with id {client_id}")))?;
                clients::set_keys(&stores.db, &client_id, current.jwks.as_deref(), required).await?;
                println!("client {client_id}: {}", if required { "only private_key_jwt accepted" } else { "secret accepted too" });
            }
            if let Some(required) = require_dpop {
                clients::set_require_dpop(&stores.db, &client_id, required).await?;
                println!("client {client_id} {} DPoP-bound tokens", if required { "gets only" } else { "may also get bearer instead of" });
            }
            if let Some(required) = require_par {
                clients::set_require_par(&stores.db, &client_id, required).await?;
                println!("client {client_id} {} pushed authorization requests", if required { "must use" } else { "may skip" });
            }
            if let Some(alg) = id_token_alg {
                clients::set_id_token_alg(&stores.db, &client_id, alg).await?;
                println!("client {client_id}: ID tokens signed with {}", alg.as_str());
            }
            let exchange = exchange.into_update();
            let exchange_change = !exchange.is_empty();
            if exchange_change {
                let now = ops.update_client_token_exchange(&client_id, exchange).await?;
                print_token_exchange(state, &client_id, &now).await?;
            }
            let other_change = id_token_alg.is_some()
                || require_par.is_some()
                || jwks_file.is_some()
                || jwks_uri.is_some()
                || require_dpop.is_some()
                || require_private_key_jwt.is_some()
                || links_change
                || exchange_change;
            if !other_change || !allow_scopes.is_empty() {
                let names: Vec<String> = allow_scopes.iter().flat_map(|s| s.split_whitespace()).map(str::to_string).collect();
                let client = ops.set_client_api_scopes(&client_id, &names).await?;
                println!("client {} may now be granted: {}", client.id.0, client.allowed_scopes);
            }
        }
        ClientCommand::RegistrationToken { expires_in, uses, json } => {
            if !(60..=366 * 86400).contains(&expires_in) || uses.is_some_and(|u| u < 1) {
                return Err(CliError::Usage("--expires-in is 60 seconds to a year, --uses at least 1".into()));
            }
            let token = state.mint_initial_access_token(expires_in, uses).await?;
            if json {
                println!("{}", json!({ "token": token, "expires_in": expires_in }));
            } else {
                println!("{token}");
                println!("(shown once; send it as `Authorization: Bearer …` to POST /register)");
            }
        }
        ClientCommand::Remove { client_id } => {
            ops.delete_client(&client_id).await?;
            println!("removed client {client_id}");
        }
    }
    Ok(())
}

/// A client's token exchange policy as `client update` reports it; an
/// audience no API has, or a client that does not exist, is pointed out
/// (the policy keeps it: it takes effect once registered).
async fn print_token_exchange(state: &App, client_id: &str, now: &latchkey_domain::TokenExchangePolicy) -> Result<(), CliError> {
    let apis = state.oauth.apis().await.map_err(|e| CliError::OAuth(e.to_string()))?;
    let to: Vec<String> = now.to.iter().map(|a| if latchkey_oauth::apis::by_audience(&apis, a).is_some() { a.clone() } else { format!("{a} (no API has this audience yet)") }).collect();
    let mut may_act = Vec::new();
    for id in &now.may_act {
        let known = state.oauth.client(id).await.map_err(latchkey_oauth::OAuthError::from)?.is_some();
        may_act.push(if known { id.clone() } else { format!("{id} (no such client yet)") });
    }
    let list = |v: &[String]| if v.is_empty() { "none".to_string() } else { v.join(", ") };
    println!("client {client_id}: token exchange to {}; impersonation {}; may act with its tokens: {}", list(&to), if now.impersonation { "yes" } else { "no" }, list(&may_act));
    Ok(())
}

async fn api_command(state: &App, command: ApiCommand) -> Result<(), CliError> {
    let oauth = &state.oauth;
    let ops = state.admin(Actor::Cli);
    match command {
        ApiCommand::Add { name, audience, scopes, access_token_ttl, alg, introspection_secret, self_registration, publish_metadata, json } => {
            let scopes = scopes.iter().map(|s| latchkey_app::directory::apis::parse_scope_arg(s)).collect::<Result<Vec<_>, _>>().map_err(CliError::Usage)?;
            let signing_alg = SigningAlg::parse(&alg).ok_or_else(|| CliError::Usage(format!("unknown algorithm {alg} (use EdDSA, ES256 or RS256)")))?;
            let new = latchkey_app::directory::apis::NewApi { name, audience, scopes, access_token_ttl, signing_alg, introspection_secret, self_registration, publish_metadata };
            let (api, secret) = ops.register_api(new).await?;
            if json {
                let mut out = latchkey_web::admin_api_json(&api, &state.issuer);
                if let Some(s) = &secret {
                    out["introspection_secret"] = json!(s.expose());
                }
                println!("{out}");
            } else {
                println!("api_id:   {}\naudience: {}", api.id, api.audience);
                if let Some(s) = &secret {
                    println!("introspection secret: {} (shown once; introspect as {}:<secret>)", s.expose(), api.id);
                }
            }
        }
        ApiCommand::List { json } => {
            let apis = oauth.apis().await.map_err(|e| CliError::OAuth(e.to_string()))?;
            if json {
                println!("{}", serde_json::Value::Array(apis.iter().map(|a| latchkey_web::admin_api_json(a, &state.issuer)).collect()));
            } else if apis.is_empty() {
                println!("no APIs registered");
            } else {
                for a in apis.iter() {
                    println!("{}\t{}\t{}\t{}", a.id, a.name, a.audience, a.scopes.iter().map(|s| s.name.as_str()).collect::<Vec<_>>().join(" "));
                }
            }
        }
        ApiCommand::Show { api } => {
            let a = oauth.api(&api).await.map_err(|e| CliError::OAuth(e.to_string()))?.ok_or_else(|| CliError::Usage(format!("no API {api}")))?;
            println!("{}", serde_json::to_string_pretty(&latchkey_web::admin_api_json(&a, &state.issuer)).unwrap_or_default());
        }
        ApiCommand::Update { api, self_registration, publish_metadata } => {
            let a = ops.set_api_options(&api, self_registration, publish_metadata).await?;
            println!("{}", serde_json::to_string_pretty(&latchkey_web::admin_api_json(&a, &state.issuer)).unwrap_or_default());
        }
        ApiCommand::Remove { api } => {
            if !ops.remove_api(&api).await? {
                return Err(CliError::Usage(format!("no API {api}")));
            }
            println!("removed API {api}");
        }
        ApiCommand::Scope { command: ApiScopeCommand::Add { api, scope } } => {
            ops.add_api_scope(&api, latchkey_app::directory::apis::parse_scope_arg(&scope).map_err(CliError::Usage)?).await?;
            println!("added scope");
        }
        ApiCommand::Scope { command: ApiScopeCommand::Remove { api, name } } => {
            if !ops.remove_api_scope(&api, &name).await? {
                return Err(CliError::Usage(format!("no scope {name} on {api}")));
            }
            println!("removed scope {name}");
        }
        ApiCommand::Role { api, role, group } => {
            ops.add_api_role(&api, &role, &group).await?;
            println!("members of {group} hold {role} at {api}");
        }
    }
    Ok(())
}

fn provider_settings(args: ProviderArgs, adding: bool) -> Result<ProviderSettings, CliError> {
    let link = LinkRule::parse(&args.link).ok_or_else(|| CliError::Usage(format!("--link is existing-sign-in or verified-email, not {}", args.link)))?;
    let signup = match args.signup.as_str() {
        "on" => true,
        "off" => false,
        other => return Err(CliError::Usage(format!("--signup is on or off, not {other}"))),
    };
    if adding && !args.client_secret_stdin {
        return Err(CliError::Usage("pass the client secret on standard input with --client-secret-stdin (never as an argument: it would end up in shell history)".into()));
    }
    let (kind, preset_issuer) = match args.preset.as_deref() {
        None => (ProviderKind::Oidc, None),
        Some("google") => (ProviderKind::Oidc, Some("https://accounts.google.com".to_string())),
        // One organisation with --tenant; without it, work and school
        // accounts of any organisation (`organizations`: the ID token's
        // issuer is then checked against its own tenant).
        Some("microsoft") => (ProviderKind::Oidc, Some(format!("https://login.microsoftonline.com/{}/v2.0", args.tenant.as_deref().unwrap_or("organizations")))),
        Some("github") => (ProviderKind::Github, Some(latchkey_app::federation::github::GITHUB.to_string())),
        Some(other) => return Err(CliError::Usage(format!("--preset is google, microsoft or github, not {other}"))),
    };
    let issuer = args.issuer.or(preset_issuer).ok_or_else(|| CliError::Usage("--issuer is needed without a --preset".into()))?;
    let client_secret = if args.client_secret_stdin { Some(read_password()?.expose().to_string()) } else { None };
    Ok(ProviderSettings {
        name: args.name,
        kind,
        issuer,
        client_id: args.client_id,
        client_secret,
        scopes: args.scopes.iter().flat_map(|s| s.split_whitespace()).map(str::to_string).collect(),
        domains: args.domains,
        link,
        signup,
        trust_upstream_mfa: args.trust_upstream_mfa,
        upstream_logout: args.upstream_logout,
    })
}

fn provider_json(state: &App, p: &Provider) -> serde_json::Value {
    json!({
        "id": p.id, "name": p.name, "kind": p.kind.as_str(), "issuer": p.issuer, "client_id": p.client_id,
        "scopes": p.scopes, "domains": p.domains, "link": p.link.as_str(), "signup": p.signup,
        "trust_upstream_mfa": p.trust_upstream_mfa, "upstream_logout": p.upstream_logout, "enabled": p.enabled(), "redirect_uri": state.provider_redirect_uri(&p.id),
    })
}

async fn provider_command(state: &App, command: ProviderCommand) -> Result<(), CliError> {
    let ops = state.admin(Actor::Cli);
    match command {
        ProviderCommand::Add { args, json } => {
            let p = ops.add_provider(provider_settings(args, true)?).await?;
            let redirect_uri = state.provider_redirect_uri(&p.id);
            if json {
                println!("{}", json!({ "id": p.id, "redirect_uri": redirect_uri }));
            } else {
                println!("id:           {}", p.id);
                println!("redirect_uri: {redirect_uri}");
                println!("(register this callback URL at the provider)");
            }
        }
        ProviderCommand::List { json } => {
            let list = state.providers().await?;
            if json {
                println!("{}", serde_json::Value::Array(list.iter().map(|p| provider_json(state, p)).collect()));
            } else {
                for p in list {
                    println!("{}\t{}\t{}\t{}", p.id, p.name, p.issuer, if p.enabled() { "enabled" } else { "disabled" });
                }
            }
        }
        ProviderCommand::Show { id } => println!("{:#}", provider_json(state, &state.provider(&id).await?)),
        ProviderCommand::Update { id, args } => {
            let p = ops.update_provider(&id, provider_settings(args, false)?).await?;
            println!("updated provider {}", p.id);
        }
        ProviderCommand::Disable { id } => {
            ops.set_provider_disabled(&id, true).await?;
            println!("disabled provider {id}");
        }
        ProviderCommand::Enable { id } => {
            ops.set_provider_disabled(&id, false).await?;
            println!("enabled provider {id}");
        }
        ProviderCommand::Remove { id } => {
            ops.remove_provider(&id).await?;
            println!("removed provider {id} and its account links");
        }
    }
    Ok(())
}

async fn group_command(state: &App, command: GroupCommand) -> Result<(), CliError> {
    let ops = state.admin(Actor::Cli);
    let user = |name: String| async move { state.authn.find_by_username(&name).await?.ok_or_else(|| CliError::Usage(format!("no user named {name}"))) };
    match command {
        GroupCommand::Add { name } => {
            ops.create_group(&name).await?;
            println!("created group {name}");
        }
        GroupCommand::Remove { name } => {
            if !ops.remove_group(&name).await? {
                return Err(CliError::Usage(format!("no group {name}")));
            }
            println!("removed group {name}");
        }
        GroupCommand::List { json } => {
            let groups = ops.list_groups().await?;
            if json {
                println!("{}", serde_json::Value::Array(groups.iter().map(|(n, m)| json!({ "name": n, "members": m })).collect()));
            } else if groups.is_empty() {
                println!("no groups");
            } else {
                for (n, m) in groups {
                    println!("{n}\t{}", m.join(" "));
                }
            }
        }
        GroupCommand::Member { command: GroupMemberCommand::Add { group, username } } => {
            let u = user(username).await?;
            ops.add_group_member(&group, &u.id).await?;
            println!("added {} to {group}", u.username);
        }
        GroupCommand::Member { command: GroupMemberCommand::Remove { group, username } } => {
            let u = user(username).await?;
            if !ops.remove_group_member(&group, &u.id).await? {
                return Err(CliError::Usage(format!("{} is not in {group}", u.username)));
            }
            println!("removed {} from {group}", u.username);
        }
    }
    Ok(())
}

/// Epoch seconds as RFC 3339 (UTC), for text output.
fn rfc3339(secs: i64) -> String {
    latchkey_web::pages::format_utc(secs)
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::command_name;
    use crate::cli::{Cli, Command, UserCommand};

    /// Issue #24 item 25: an existing user can be made an administrator
    /// (and stop being one) from the command line.
    #[test]
    fn user_update_takes_admin_true_or_false() {
        for (arg, want) in [("true", true), ("false", false)] {
            let cli = Cli::try_parse_from(["latchkey", "user", "update", "alice", "--admin", arg]).expect("parses");
            match cli.command {
                Command::User { command: UserCommand::Update { username, admin, .. } } => assert_eq!((username.as_str(), admin), ("alice", Some(want))),
                _ => panic!("not user update"),
            }
        }
        assert!(Cli::try_parse_from(["latchkey", "user", "update", "alice", "--admin", "yes please"]).is_err());
    }

    /// Issue #24 item 25: the banner's hints run the binary the way it was
    /// started, not a `latchkey` that may not be on PATH.
    #[test]
    fn the_banner_names_the_binary_as_it_was_started() {
        assert_eq!(command_name(Some("./target/release/latchkey".into())), "./target/release/latchkey");
        assert_eq!(command_name(Some("target/release/latchkey".into())), "./target/release/latchkey");
        assert_eq!(command_name(Some("/usr/local/bin/latchkey".into())), "/usr/local/bin/latchkey");
        assert_eq!(command_name(Some("latchkey".into())), "latchkey", "found on PATH");
        assert_eq!(command_name(Some("/opt/my apps/latchkey".into())), "'/opt/my apps/latchkey'");
        assert_eq!(command_name(Some("/tmp/it's/latchkey".into())), "'/tmp/it'\\''s/latchkey'");
        assert_eq!(command_name(None), "latchkey");
    }
}
