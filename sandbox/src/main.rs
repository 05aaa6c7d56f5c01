//! `myna-sandbox`: starts the Mynaportal stand-in and the reference operator
//! backends with the demo sites. See `docs/sandbox.md`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

const USAGE: &str = "usage: myna-sandbox [--config sandbox/sandbox.json] [--data-dir data] \
[--site-root .] [--operator 127.0.0.1:8080] [--authority 127.0.0.1:8081] [--sandbox-controls]";

fn parse_args() -> Result<myna_sandbox::Options, String> {
    let mut options = myna_sandbox::Options {
        config: PathBuf::from("sandbox/sandbox.json"),
        data_dir: PathBuf::from("data"),
        site_root: PathBuf::from("."),
        operator_addr: SocketAddr::from(([127, 0, 0, 1], 8080)),
        authority_addr: SocketAddr::from(([127, 0, 0, 1], 8081)),
        controls: false,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || {
            args.next()
                .ok_or_else(|| format!("{arg} needs a value\n{USAGE}"))
        };
        match arg.as_str() {
            "--config" => options.config = PathBuf::from(value()?),
            "--data-dir" => options.data_dir = PathBuf::from(value()?),
            "--site-root" => options.site_root = PathBuf::from(value()?),
            "--operator" => options.operator_addr = loopback(&value()?)?,
            "--authority" => options.authority_addr = loopback(&value()?)?,
            "--sandbox-controls" => options.controls = true,
            "--help" | "-h" => return Err(USAGE.to_owned()),
            _ => return Err(format!("unknown argument {arg}\n{USAGE}")),
        }
    }
    Ok(options)
}

/// The sandbox holds test tokens and test citizens: it listens on loopback only.
fn loopback(text: &str) -> Result<SocketAddr, String> {
    let addr: SocketAddr = text
        .parse()
        .map_err(|_| format!("not an address: {text}"))?;
    if addr.ip().is_loopback() {
        Ok(addr)
    } else {
        Err(format!(
            "{addr} is not a loopback address; the sandbox listens on loopback only"
        ))
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    // The backends log failed calls to the authority as warnings: show them
    // on stderr, so an integrating engineer sees why a flow failed.
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::INFO)
        .with_writer(std::io::stderr)
        .init();
    let options = match parse_args() {
        Ok(options) => options,
        Err(message) => {
            eprintln!("{message}");
            return ExitCode::from(2);
        }
    };
    let controls = options.controls;
    match myna_sandbox::start(options).await {
        Ok(running) => {
            println!("operator sites and playground: {}/", running.operator_url);
            println!("authority (Mynaportal stand-in): {}/", running.issuer);
            if controls {
                println!("sandbox controls are enabled");
            }
            running.wait().await;
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("myna-sandbox: {error}");
            ExitCode::FAILURE
        }
    }
}
