//! `myna-operator`: the reference operator backend as a service.
//!
//! ```text
//! myna-operator --config /etc/myna-operator/config.json [--check-config]
//! ```
//!
//! `--check-config` reads and checks the file (every backend, every request,
//! every key) and exits: 0 when it can start, 1 with every problem named.
//! Logs go to stderr, as JSON lines unless the file says `"log": "text"`;
//! `MYNA_LOG` filters them (e.g. `info,myna_operator::audit=info`).

use std::path::PathBuf;
use std::process::ExitCode;

use myna_operator::service::{self, LogFormat, ServiceConfig};

const USAGE: &str = "usage: myna-operator --config <file> [--check-config]";

struct Args {
    config: PathBuf,
    check_only: bool,
}

fn parse_args() -> Result<Args, String> {
    let mut config = None;
    let mut check_only = false;
    let mut args = std::env::args().skip(1);
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
    Ok(Args { config, check_only })
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
                "myna-operator: {}: tokenKey: {error}",
                args.config.display()
            );
            return ExitCode::FAILURE;
        }
        println!("{}: the configuration can start", args.config.display());
        for line in config.summary() {
            println!("  {line}");
        }
        return ExitCode::SUCCESS;
    }
    init_logs(config.log_format);
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
