//! `myna-operator`: the reference operator backend as a service.
//!
//! ```text
//! myna-operator --config /etc/myna-operator/config.json [--check-config]
//! myna-operator reseal --config /etc/myna-operator/config.json
//! ```
//!
//! `--check-config` reads and checks the file (every backend, every request,
//! every key) and exits: 0 when it can start, 1 with every problem named.
//! `reseal` re-seals every sealed value under the active token key, while
//! instances may be running, prints how many of each kind it moved, and
//! exits 0 when no value is left under another key (1 otherwise).
//! Logs go to stderr, as JSON lines unless the file says `"log": "text"`;
//! `MYNA_LOG` filters them (e.g. `info,myna_operator::audit=info`).

use std::path::PathBuf;
use std::process::ExitCode;

use myna_operator::service::{self, LogFormat, ServiceConfig};

const USAGE: &str = "usage: myna-operator --config <file> [--check-config]\n       myna-operator reseal --config <file>";

struct Args {
    config: PathBuf,
    check_only: bool,
    reseal: bool,
}

fn parse_args() -> Result<Args, String> {
    let mut config = None;
    let mut check_only = false;
    let mut args = std::env::args().skip(1).peekable();
    let reseal = args.next_if(|arg| arg == "reseal").is_some();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--config" => {
                config = Some(PathBuf::from(
                    args.next()
                        .ok_or_else(|| format!("--config needs a file\n{USAGE}"))?,
                ));
            }
            "--check-config" => check_only = true,
            "--help" | "-h" => return Err(USAGE.to_owned()),
            _ => return Err(format!("unknown argument {arg}\n{USAGE}")),
        }
    }
    let config = config.ok_or_else(|| USAGE.to_owned())?;
    if reseal && check_only {
        return Err(format!("reseal does not take --check-config\n{USAGE}"));
    }
    Ok(Args {
        config,
        check_only,
        reseal,
    })
}

fn init_logs(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("MYNA_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Json => builder.json().flatten_event(true).init(),
        LogFormat::Text => builder.init(),
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(args) => args,
        Err(message) => {
            eprintln!("{message}");
            return ExitCode::from(2);
        }
    };
    let config = match ServiceConfig::read(&args.config) {
        Ok(config) => config,
        Err(error) => {
            eprintln!("myna-operator: {}: {error}", args.config.display());
            return ExitCode::FAILURE;
        }
    };
    if args.check_only {
        // The key too: a configuration whose key cannot be read cannot start.
        if let Err(error) = config.load_key() {
            eprintln!(
                "myna-operator: {}: token key: {error}",
                args.config.display()
            );
            return ExitCode::FAILURE;
        }
        println!("{}: the configuration can start", args.config.display());
        println!("  {}", config.keys_summary());
        for line in config.summary() {
            println!("  {line}");
        }
        return ExitCode::SUCCESS;
    }
    init_logs(config.log_format);
    if args.reseal {
        return reseal(config).await;
    }
    tracing::info!(keys = %config.keys_summary(), "configured");
    for line in config.summary() {
        tracing::info!(backend = %line, "configured");
    }
    match service::run(config, service::stop_signal()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!(%error, "myna-operator could not start");
            eprintln!("myna-operator: {error}");
            ExitCode::FAILURE
        }
    }
}

/// `myna-operator reseal`: the counts on stdout, the audit event and any
/// value that did not open in the logs.
async fn reseal(config: ServiceConfig) -> ExitCode {
    let done = tokio::task::spawn_blocking(move || service::reseal(&config)).await;
    let report = match done {
        Ok(Ok(report)) => report,
        Ok(Err(error)) => {
            eprintln!("myna-operator reseal: {error}");
            return ExitCode::FAILURE;
        }
        Err(_) => {
            eprintln!("myna-operator reseal: the re-seal stopped");
            return ExitCode::FAILURE;
        }
    };
    println!("re-sealed under the key {}:", report.active_key);
    for (kind, count) in report.resealed.named() {
        println!("  {kind}: {count}");
    }
    println!(
        "already under {}: {}",
        report.active_key, report.already_active
    );
    println!(
        "changed by a running instance meanwhile: {}",
        report.changed_meanwhile
    );
    println!("did not open: {}", report.failed.len());
    let left = report.left_behind.total();
    println!("left under another key: {left}");
    if left > 0 {
        eprintln!(
            "myna-operator reseal: {left} value(s) are still under another key: check that every instance has {} active and run reseal again; keep the old keys in the ring until this says 0",
            report.active_key
        );
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}
