//! The validator: the Lambda function, or `validator validate-logs …` / `audit-logs …` on a
//! command line.

use validator::entry;

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.is_empty() {
        // Command mode: `validator validate-logs …` or `audit-logs …`, as the AWS CLI.
        false => std::process::exit(entry::command(&args).await),
        true if !entry::in_lambda() => {
            trailwatch::stderr_line!("{}", validator::NOT_IN_LAMBDA);
            std::process::exit(2)
        }
        true => {
            // The runtime API gone (or never there): in words, not the error's Debug form.
            if let Err(error) = entry::serve().await {
                let words = trailwatch::human::error_chain(error.as_ref());
                trailwatch::stderr_line!("validator: the Lambda runtime API failed: {words}");
                std::process::exit(1)
            }
        }
    }
}
