//! The forwarder: the Lambda function, or `forwarder backfill …` on a command line.

use clap::Parser;
use forwarder::{Cli, Command, entry};

#[tokio::main]
async fn main() {
    // Usage errors exit 2 with clap's message; --help and --version exit 0.
    let cli = Cli::try_parse().unwrap_or_else(|error| error.exit());
    match cli.command {
        Some(Command::Backfill(args)) => std::process::exit(entry::backfill(&args).await),
        None if !entry::in_lambda() => {
            trailwatch::stderr_line!("{}", forwarder::NOT_IN_LAMBDA);
            std::process::exit(2)
        }
        None => {
            // The runtime API gone (or never there): in words, not the error's Debug form.
            if let Err(error) = entry::serve().await {
                let words = trailwatch::human::error_chain(error.as_ref());
                trailwatch::stderr_line!("forwarder: the Lambda runtime API failed: {words}");
                std::process::exit(1)
            }
        }
    }
}
