//! The key password: `DRYDOCK_PASSWORD` (empty allowed), else a prompt on
//! the terminal without echo, else a clear error.
use std::io::{BufRead as _, IsTerminal as _, Write as _};
use std::process::{Command, Stdio};

use anyhow::{Context as _, bail};
use drydock_ops::EnvVars;

pub(crate) fn password(confirm: bool) -> anyhow::Result<Vec<u8>> {
    if let Some(password) = EnvVars::get(EnvVars::DRYDOCK_PASSWORD) {
        return Ok(password.into_bytes());
    }
    if !std::io::stdin().is_terminal() {
        bail!("no key password: set `DRYDOCK_PASSWORD` (empty is allowed) or run on a terminal");
    }
    let first = prompt("Enter password for private key: ")?;
    if confirm {
        let second = prompt("Enter password for private key again: ")?;
        if first != second {
            bail!("the passwords do not match");
        }
    }
    Ok(first.into_bytes())
}

fn stty(arg: &str) -> bool {
    Command::new("stty")
        .arg(arg)
        .stdin(Stdio::inherit())
        .status()
        .is_ok_and(|s| s.success())
}

fn prompt(text: &str) -> anyhow::Result<String> {
    eprint!("{text}");
    std::io::stderr().flush().ok();
    let echo_off = stty("-echo");
    let mut line = String::new();
    let read = std::io::stdin().lock().read_line(&mut line);
    if echo_off {
        stty("echo");
    }
    eprintln!();
    read.context("cannot read the password")?;
    Ok(line.trim_end_matches(['\n', '\r']).to_owned())
}
