use std::process::ExitCode;

use clap::{Args, Subcommand};

#[derive(Args)]
pub(crate) struct KeyArgs {
    #[command(subcommand)]
    command: KeyCommand,
}

#[derive(Subcommand)]
enum KeyCommand {
    /// Write an ECDSA P-256 key pair in cosign's formats (drydock.key, drydock.pub)
    Generate {
        /// Write NAME.key and NAME.pub
        #[arg(long, default_value = "drydock", value_name = "NAME")]
        prefix: String,
    },
}

pub(crate) fn run(args: KeyArgs) -> anyhow::Result<ExitCode> {
    let KeyCommand::Generate { prefix } = args.command;
    let password = super::password::password(true)?;
    let (private, public) =
        drydock_ops::key_generate(std::path::Path::new("."), &prefix, &password)?;
    eprintln!(
        "drydock: wrote `{}` (encrypted private key) and `{}` (public key)",
        private.display(),
        public.display()
    );
    Ok(ExitCode::SUCCESS)
}
