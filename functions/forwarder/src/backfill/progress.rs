//! What a person sees while a backfill runs: the listing, a progress bar on a terminal (a line
//! every ten seconds otherwise), and the totals.

use std::time::{Duration, Instant};

use trailwatch::ForwardSummary;
use trailwatch::backfill::{BackfillPlan, BackfillRequest};
use trailwatch::clock::iso_text;
use trailwatch::human::{count, counted, megabytes, minutes};
use trailwatch::ports::ListedObject;

/// The files too old to forward, named: the first few, then how many more.
pub(super) fn too_old_text(too_old: &[ListedObject]) -> String {
    const NAMED: usize = 5;
    let mut text = format!(
        "backfill: {} ({} compressed) delivered more than 14 days ago will not be read: CloudWatch Logs refuses records that old (tooOld)",
        counted(too_old.len() as u64, "file", "files"),
        megabytes(BackfillPlan::bytes(too_old)),
    );
    for object in too_old.iter().take(NAMED) {
        text.push_str(&format!("\n  {}", object.key));
    }
    if too_old.len() > NAMED {
        text.push_str(&format!(
            "\n  and {} more",
            count((too_old.len() - NAMED) as u64)
        ));
    }
    text
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

    pub(super) fn say(&self, line: &str) {
        if !matches!(self, Progress::Quiet) {
            trailwatch::stderr_line!("{line}");
        }
    }

    pub(super) fn start(&self, objects: &[ListedObject]) -> Tally<'_> {
        let bytes = BackfillPlan::bytes(objects);
        let bar = matches!(self, Progress::Bar).then(|| {
            let bar = indicatif::ProgressBar::new(bytes);
            // The counts are ours (MB, separators, minutes), not indicatif's MiB and seconds.
            let style = indicatif::ProgressStyle::with_template("[{bar:30}] {msg}")
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
pub(super) struct Tally<'a> {
    progress: &'a Progress,
    bar: Option<indicatif::ProgressBar>,
    files: (usize, usize),
    records: u64,
    bytes: (u64, u64),
    started: Instant,
    last_line: Instant,
}

impl Tally<'_> {
    pub(super) fn advance(&mut self, records: u64, bytes: u64) {
        self.files.0 += 1;
        self.records += records;
        self.bytes.0 += bytes;
        if let Some(bar) = &self.bar {
            bar.set_position(self.bytes.0);
            bar.set_message(self.counts());
        }
        if let Progress::Lines { every } = self.progress
            && self.last_line.elapsed() >= *every
        {
            self.last_line = Instant::now();
            trailwatch::stderr_line!("backfill: {}", self.counts());
        }
    }

    /// `12/40 files, 61,200 records, 3.10/10.4 MB, 1.20 MB/s, ETA 6 minutes`
    fn counts(&self) -> String {
        let elapsed = self.started.elapsed().as_secs_f64().max(0.001);
        let rate = self.bytes.0 as f64 / elapsed;
        let left = self.bytes.1.saturating_sub(self.bytes.0) as f64;
        let eta = if left == 0.0 {
            "done".to_owned()
        } else if rate > 0.0 {
            format!("ETA {}", minutes(left / rate))
        } else {
            "ETA unknown".to_owned()
        };
        format!(
            "{}/{}, {}, {}/{}, {}/s, {eta}",
            count(self.files.0 as u64),
            counted(self.files.1 as u64, "file", "files"),
            counted(self.records, "record", "records"),
            megabytes(self.bytes.0).trim_end_matches(" MB"),
            megabytes(self.bytes.1),
            megabytes(rate as u64),
        )
    }

    pub(super) fn finish(&self, total: &ForwardSummary) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
        if matches!(self.progress, Progress::Quiet) {
            return;
        }
        let elapsed = self.started.elapsed().as_secs_f64();
        trailwatch::stderr_line!(
            "backfill: {} in {}",
            counted(self.files.0 as u64, "file", "files"),
            if elapsed < 60.0 {
                format!("{elapsed:.0} s")
            } else {
                minutes(elapsed)
            }
        );
        trailwatch::stderr_line!("{}", totals_text(total));
    }
}

/// `10,663 records: 10,000 forwarded, 600 filtered, 63 rejected (60 too large, 3 invalid); 2
/// files skipped (1 already forwarded), 0 failed`
fn totals_text(total: &ForwardSummary) -> String {
    let mut reasons = trailwatch::logs::RejectedReasons::default();
    for object in &total.objects {
        reasons.add(&object.rejected_reasons);
    }
    let why = match reasons.in_words() {
        words if words.is_empty() => String::new(),
        words => format!(" ({words})"),
    };
    format!(
        "backfill: {}: {} {}, {} filtered, {} rejected{why}; {} skipped ({} already forwarded), {} failed",
        counted(total.records, "record", "records"),
        count(total.forwarded),
        if total.dry_run {
            "would be forwarded (dry run)"
        } else {
            "forwarded"
        },
        count(total.filtered),
        count(total.rejected),
        counted(total.skipped_objects, "file", "files"),
        count(total.already_forwarded_objects),
        count(total.failed_objects),
    )
}

/// `backfill: 12 files (3.4 MB compressed) delivered … .. … in 2 account-regions of s3://bucket/prefix`
pub(super) fn listing_text(plan: &BackfillPlan, request: &BackfillRequest) -> String {
    format!(
        "backfill: {} ({} compressed) delivered {} .. {} in {} of s3://{}{}",
        counted(plan.objects.len() as u64, "file", "files"),
        megabytes(BackfillPlan::bytes(&plan.objects)),
        iso_text(request.start),
        iso_text(request.end),
        counted(plan.parts.len() as u64, "account-region", "account-regions"),
        request.bucket,
        request
            .prefix
            .as_deref()
            .map(|p| format!("/{p}"))
            .unwrap_or_default(),
    )
}
