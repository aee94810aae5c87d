//! `switchboard user …`: make the secrets `[[user]]` and `[[token]]` entries hold, so no
//! password or token is ever written into the config in clear.

use std::io::{BufRead, IsTerminal};
use std::process::{Command, ExitCode};

use anyhow::{Context, bail};
use clap::Subcommand;

/// `switchboard user …`
#[derive(Subcommand)]
pub enum UserCommand {
    /// Read a password from standard input and print its argon2 hash for `[[user]] password_hash`.
    ///
    /// Example: `echo 'correct horse' | switchboard user hash-password`
    HashPassword,
    /// Make a random API token; prints the token (give it to the integration) and the
    /// `[[token]]` entry holding only its SHA-256.
    NewToken {
        /// The token's name, for logs.
        name: String,
        /// What it may do.
        #[arg(long, default_value = "qa", value_parser = ["admin", "supervisor", "qa", "agent"])]
        role: String,
    },
}

/// Runs a `user` command.
pub fn run(command: UserCommand) -> anyhow::Result<ExitCode> {
    match command {
        UserCommand::HashPassword => {
            let password = read_password()?;
            if password.is_empty() {
                bail!("the password is empty");
            }
            println!("{}", sb_web::hash_password(&password));
        }
        UserCommand::NewToken { name, role } => {
            let (token, hash) = sb_web::new_token();
            println!("token: {token}");
            println!("(shown once; add this to switchboard.toml)\n");
            println!("[[token]]\nname = {name:?}\nrole = {role:?}\ntoken_hash = {hash:?}");
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// One line from standard input, without its line end; not echoed when typed at a terminal.
fn read_password() -> anyhow::Result<String> {
    let stdin = std::io::stdin();
    let terminal = stdin.is_terminal();
    if terminal {
        eprint!("Password: ");
        // Best effort: without stty the password is echoed, nothing worse.
        let _ = Command::new("stty").arg("-echo").status();
    }
    let mut line = String::new();
    let read = stdin.lock().read_line(&mut line);
    if terminal {
        let _ = Command::new("stty").arg("echo").status();
        eprintln!();
    }
    read.context("reading the password from standard input")?;
    Ok(line.trim_end_matches(['\r', '\n']).to_string())
}
