//! `forwarder backfill …`: forwards the trail files delivered in a time range, which S3
//! notifications never announced (the days before trailwatch was deployed). In-process with
//! the function's configuration, or one delivery message per file to the delivery queue.
//! The listing is `trailwatch::backfill`; the forwarding is the function's own pipeline.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_config::SdkConfig;
use serde_json::json;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use trailwatch::backfill::{BackfillError, BackfillPlan, BackfillRequest, plan_backfill};
use trailwatch::clock::iso_seconds;
use trailwatch::clock::iso_text;
use trailwatch::ports::{CallError, ListedObject};
use trailwatch::summary::ObjectSummary;
use trailwatch::trail::EventCategory;
use trailwatch::{ForwardSummary, ForwarderConfig};

use crate::aws::s3::S3Objects;

/// Objects forwarded at once in-process.
pub const OBJECTS_AT_ONCE: usize = 4;

/// Forwards the log files a trail bucket already holds for a time range (the days before the
/// stack was deployed), as the function would, with its configuration: LOG_GROUP_NAME or
/// ROUTES, EVENT_SELECTORS, CHECKPOINT_TABLE_NAME (with it, an interrupted backfill can be
/// rerun and forwards nothing twice), LOG_GROUP_CLASS, RETENTION_IN_DAYS. The summary JSON goes
/// to standard output, progress to standard error; exit status 0 all forwarded, 1 an object
/// failed, 2 could not run.
#[derive(Debug, Default, Clone, PartialEq, Eq, clap::Args)]
pub struct Args {
    /// The trail's bucket (its name).
    #[arg(long = "s3-bucket", value_name = "BUCKET")]
    pub bucket: String,
    /// The trail's key prefix, when it has one.
    #[arg(long = "s3-prefix", value_name = "PREFIX")]
    pub prefix: Option<String>,
    /// UTC ISO-8601, e.g. 2026-11-25T00:00:00Z.
    #[arg(long, value_name = "TIME")]
    pub start_time: String,
    /// UTC ISO-8601; now when left out.
    #[arg(long, value_name = "TIME")]
    pub end_time: Option<String>,
    /// Only this account's files (repeat for more); every account when left out.
    #[arg(long = "account-id", value_name = "ID")]
    pub accounts: Vec<String>,
    /// Only this region's files (repeat for more); every region when left out.
    #[arg(long = "region", value_name = "REGION")]
    pub regions: Vec<String>,
    /// Send one delivery message per file to the forwarder's queue instead of forwarding here.
    #[arg(long, value_name = "URL")]
    pub queue_url: Option<String>,
    /// Read the files and write nothing: what would be forwarded, by route and category.
    #[arg(long)]
    pub dry_run: bool,
}

/// Why the backfill did not run: printed with its reason, exit status 2.
#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    #[error("{0} is not an ISO-8601 UTC time (e.g. 2026-11-25T00:00:00Z)")]
    Time(String),
    #[error("--start-time must be before --end-time")]
    StartAfterEnd,
    #[error(transparent)]
    Config(#[from] trailwatch::config::ConfigError),
    #[error(transparent)]
    Plan(#[from] BackfillError),
    #[error("sending delivery messages: {0}")]
    Queue(CallError),
}

/// How the backfill went.
#[derive(Debug, Default)]
pub struct Outcome {
    pub plan: BackfillPlan,
    /// In-process (also a dry run): the function's summary over every object.
    pub summary: Option<ForwardSummary>,
    /// With `--queue-url`: delivery messages sent.
    pub queued: usize,
}

impl Outcome {
    /// 0 when every object was forwarded (or queued), 1 when any failed.
    pub fn exit_code(&self) -> i32 {
        i32::from(self.summary.as_ref().is_some_and(|s| s.failed_objects > 0))
    }
}

/// Runs the backfill with `config` (the function's, from the environment), as of `now`.
pub async fn run(
    args: &Args,
    sdk: &SdkConfig,
    mut config: ForwarderConfig,
    now: i64,
    progress: Progress,
) -> Result<Outcome, CommandError> {
    let time = |text: &str| iso_seconds(text).ok_or_else(|| CommandError::Time(text.to_owned()));
    let start = time(&args.start_time)?;
    let end = match &args.end_time {
        Some(end) => time(end)?,
        None => now,
    };
    if start > end {
        return Err(CommandError::StartAfterEnd);
    }
    config.dry_run |= args.dry_run;
    let request = BackfillRequest {
        bucket: args.bucket.clone(),
        prefix: args.prefix.clone().filter(|p| !p.is_empty()),
        start,
        end,
        accounts: args.accounts.clone(),
        regions: args.regions.clone(),
        insights: config.routes.may_select(EventCategory::Insight),
    };
    let listing = Arc::new(S3Objects {
        client: trailwatch::aws::s3::client(sdk),
    });
    let plan = plan_backfill(listing, &request, now).await?;
    progress.say(&format!(
        "backfill: {} files ({}) delivered {} .. {} in {} account-regions of s3://{}{}",
        plan.objects.len(),
        megabytes(BackfillPlan::bytes(&plan.objects)),
        iso_text(start),
        iso_text(end),
        plan.parts.len(),
        args.bucket,
        args.prefix
            .as_deref()
            .filter(|p| !p.is_empty())
            .map(|p| format!("/{p}"))
            .unwrap_or_default(),
    ));
    if !plan.too_old.is_empty() {
        progress.say(&format!(
            "backfill: {} files ({}) were delivered more than 14 days ago: CloudWatch Logs refuses their records (tooOld), so they are not read",
            plan.too_old.len(),
            megabytes(BackfillPlan::bytes(&plan.too_old))
        ));
    }
    let mut outcome = Outcome::default();
    match (&args.queue_url, config.dry_run) {
        (Some(queue_url), false) => {
            let bodies: Vec<String> = plan
                .objects
                .iter()
                .map(|object| {
                    json!({"s3Bucket": args.bucket, "s3ObjectKey": [object.key]}).to_string()
                })
                .collect();
            let client = aws_sdk_sqs::Client::new(sdk);
            outcome.queued =
                trailwatch::aws::sqs::send_batches(&client, queue_url, &bodies, "backfill")
                    .await
                    .map_err(CommandError::Queue)?;
            progress.say(&format!(
                "backfill: sent {} delivery messages to {queue_url}",
                outcome.queued
            ));
        }
        _ => {
            let forwarder = Arc::new(crate::build_forwarder(sdk, &config));
            let owner = format!("backfill-{}-{now}", std::process::id());
            let summary = forward_all(
                forwarder,
                &args.bucket,
                &plan.objects,
                (&owner, config.dry_run),
                &progress,
            );
            outcome.summary = Some(summary.await);
        }
    }
    outcome.plan = plan;
    Ok(outcome)
}

/// Forwards each object with the function's pipeline, a few at once, in delivery order. An
/// object whose forwarding task did not come back is counted failed, never lost silently.
async fn forward_all(
    forwarder: Arc<crate::AwsForwarder>,
    bucket: &str,
    objects: &[ListedObject],
    (owner, dry_run): (&str, bool),
    progress: &Progress,
) -> ForwardSummary {
    let mut tally = progress.start(objects);
    let limit = Arc::new(Semaphore::new(OBJECTS_AT_ONCE));
    let mut running = JoinSet::new();
    let mut keys = HashMap::new();
    let mut total = ForwardSummary {
        dry_run,
        ..ForwardSummary::default()
    };
    for object in objects {
        // The semaphore is never closed: acquiring only waits.
        let permit = Arc::clone(&limit).acquire_owned().await.ok();
        // CloudTrail's own notification shape: the key as stored, no URL encoding.
        let payload = json!({"s3Bucket": bucket, "s3ObjectKey": [object.key]});
        let (forwarder, owner) = (Arc::clone(&forwarder), owner.to_owned());
        let task = running.spawn(async move {
            let report = forwarder.handle(&payload, None, &owner).await;
            drop(permit);
            report
        });
        keys.insert(task.id(), object.key.clone());
        while let Some(done) = running.try_join_next_with_id() {
            merge(&mut total, &mut tally, done, bucket, &keys);
        }
    }
    while let Some(done) = running.join_next_with_id().await {
        merge(&mut total, &mut tally, done, bucket, &keys);
    }
    tally.finish(&total);
    total
}

type Joined = Result<
    (
        tokio::task::Id,
        Result<trailwatch::pipeline::InvocationReport, trailwatch::trigger::UnrecognisedPayload>,
    ),
    tokio::task::JoinError,
>;

fn merge(
    total: &mut ForwardSummary,
    tally: &mut Tally<'_>,
    done: Joined,
    bucket: &str,
    keys: &HashMap<tokio::task::Id, String>,
) {
    let (id, reason) = match done {
        Ok((_, Ok(report))) => {
            total.message_errors.extend(report.summary.message_errors);
            for object in report.summary.objects {
                tally.advance(object.records, object.bytes_read);
                total.add(object);
            }
            return;
        }
        Ok((id, Err(error))) => (id, error.to_string()),
        Err(error) => (error.id(), format!("forwarding stopped: {error}")),
    };
    let key = keys.get(&id).map_or("", String::as_str);
    tracing::error!(%bucket, %key, %reason, "backfill: object not forwarded");
    tally.advance(0, 0);
    total.add(ObjectSummary::new(bucket, key, trailwatch::trail::FileKind::Log).failed(reason));
}

/// How progress is shown: a bar on a terminal, a line every ten seconds otherwise.
pub enum Progress {
    Bar,
    Lines { every: Duration },
    Quiet,
}

impl Progress {
    /// A bar when standard error is a terminal.
    pub fn for_stderr() -> Self {
        use std::io::IsTerminal;
        if std::io::stderr().is_terminal() {
            Progress::Bar
        } else {
            Progress::Lines {
                every: Duration::from_secs(10),
            }
        }
    }

    fn say(&self, line: &str) {
        if !matches!(self, Progress::Quiet) {
            eprintln!("{line}");
        }
    }

    fn start(&self, objects: &[ListedObject]) -> Tally<'_> {
        let bytes = BackfillPlan::bytes(objects);
        let bar = matches!(self, Progress::Bar).then(|| {
            let bar = indicatif::ProgressBar::new(bytes);
            let style = indicatif::ProgressStyle::with_template(
                "{elapsed_precise} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} ETA {eta} {msg}",
            )
            .map(|s| s.progress_chars("=> "));
            if let Ok(style) = style {
                bar.set_style(style);
            }
            bar
        });
        Tally {
            progress: self,
            bar,
            files: (0, objects.len()),
            records: 0,
            bytes: (0, bytes),
            started: Instant::now(),
            last_line: Instant::now(),
        }
    }
}

/// Files, records and bytes done so far.
struct Tally<'a> {
    progress: &'a Progress,
    bar: Option<indicatif::ProgressBar>,
    files: (usize, usize),
    records: u64,
    bytes: (u64, u64),
    started: Instant,
    last_line: Instant,
}

impl Tally<'_> {
    fn advance(&mut self, records: u64, bytes: u64) {
        self.files.0 += 1;
        self.records += records;
        self.bytes.0 += bytes;
        if let Some(bar) = &self.bar {
            bar.set_position(self.bytes.0);
            bar.set_message(format!(
                "files {}/{} records {}",
                self.files.0, self.files.1, self.records
            ));
        }
        if let Progress::Lines { every } = self.progress {
            if self.last_line.elapsed() >= *every {
                self.last_line = Instant::now();
                eprintln!("{}", self.line());
            }
        }
    }

    /// `backfill: 12/40 files, 61,200 records, 3.1/10.4 MB, 1.2 MB/s, ETA 6 s`
    fn line(&self) -> String {
        let elapsed = self.started.elapsed().as_secs_f64().max(0.001);
        let rate = self.bytes.0 as f64 / elapsed;
        let left = self.bytes.1.saturating_sub(self.bytes.0) as f64;
        let eta = if rate > 0.0 { left / rate } else { 0.0 };
        format!(
            "backfill: {}/{} files, {} records, {}/{}, {}/s, ETA {:.0} s",
            self.files.0,
            self.files.1,
            self.records,
            megabytes(self.bytes.0),
            megabytes(self.bytes.1),
            megabytes(rate as u64),
            eta
        )
    }

    fn finish(&self, total: &ForwardSummary) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
        if !matches!(self.progress, Progress::Quiet) {
            eprintln!("{}", self.line());
            eprintln!(
                "backfill: {} records, {} forwarded{}, {} filtered, {} rejected; {} objects skipped ({} already forwarded), {} failed",
                total.records,
                total.forwarded,
                if total.dry_run {
                    " (dry run: would be)"
                } else {
                    ""
                },
                total.filtered,
                total.rejected,
                total.skipped_objects,
                total.already_forwarded_objects,
                total.failed_objects
            );
            if total.dry_run {
                eprintln!(
                    "backfill: would forward (route, class, category, event source: records, bytes)"
                );
                for entry in &total.would_forward {
                    eprintln!(
                        "  {} {} {} {}: {} records, {}",
                        entry.route,
                        entry.log_group_class.as_str(),
                        entry.category,
                        entry.event_source,
                        entry.records,
                        megabytes(entry.bytes)
                    );
                }
            }
        }
    }
}

fn megabytes(bytes: u64) -> String {
    format!("{:.1} MB", bytes as f64 / 1e6)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Args, clap::Error> {
        use clap::Parser;
        let cli =
            crate::Cli::try_parse_from(std::iter::once("forwarder").chain(args.iter().copied()))?;
        match cli.command {
            Some(crate::Command::Backfill(args)) => Ok(args),
            None => panic!("no command"),
        }
    }

    #[test]
    fn the_arguments_are_taken_and_repeatable_filters_add_up() {
        let args = parse(&[
            "backfill",
            "--s3-bucket",
            "b",
            "--start-time",
            "2026-11-20T00:00:00Z",
            "--account-id",
            "111122223333",
            "--account-id",
            "444455556666",
            "--region",
            "eu-west-1",
            "--dry-run",
        ])
        .unwrap();
        assert_eq!(args.accounts.len(), 2);
        assert_eq!(args.regions, ["eu-west-1"]);
        assert!(args.dry_run);
        let missing = parse(&["backfill", "--start-time", "x"]).unwrap_err();
        assert_eq!(
            missing.kind(),
            clap::error::ErrorKind::MissingRequiredArgument
        );
        assert!(missing.to_string().contains("--s3-bucket"), "{missing}");
        // Only what is missing is named missing (the flag given is not).
        let named = missing.to_string();
        let named = named.split("Usage:").next().unwrap_or_default().to_owned();
        assert!(!named.contains("--start-time"), "{missing}");
        let unknown = parse(&["backfill", "--bogus", "x"]).unwrap_err();
        assert_eq!(unknown.kind(), clap::error::ErrorKind::UnknownArgument);
        assert_eq!(unknown.exit_code(), 2);
    }
}
