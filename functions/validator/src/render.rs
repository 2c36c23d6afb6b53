//! The AWS CLI's text for a validation report (`aws cloudtrail validate-logs`): status lines,
//! then the summary, worded as awscli/customizations/cloudtrail/validation.py prints them.

use trailwatch::clock::iso_text;
use trailwatch::digest::report::{Gap, Report};

/// The AWS CLI's output for a report: status lines, then the summary. Valid lines only when
/// verbose; invalid lines and gaps go to standard error, each followed by a blank line and, when
/// it follows a line on standard output (or opens the output), preceded by one, as the CLI's
/// `_write_status` spaces them. Returns (stdout, stderr).
pub fn render_cli(
    report: &Report,
    trail: &str,
    start: i64,
    end: i64,
    verbose: bool,
) -> (String, String) {
    let mut lines = CliLines {
        out: format!(
            "Validating log files for trail {trail} between {} and {}\n\n",
            iso_text(start),
            iso_text(end)
        ),
        err: String::new(),
        last_was_spaced: true,
        verbose,
    };
    let gap_line = |gap: &Gap| {
        format!(
            "No log files were delivered by CloudTrail between {} and {}",
            iso_text(gap.from),
            iso_text(gap.to)
        )
    };
    for (position, verdict) in report.verdicts.iter().enumerate() {
        for gap in report.gaps.iter().filter(|g| g.position == position) {
            lines.error(&gap_line(gap));
        }
        if verdict.status.is_valid() {
            lines.valid(&verdict.to_string());
        } else {
            lines.error(&verdict.to_string());
        }
    }
    let after = report.verdicts.len();
    for gap in report.gaps.iter().filter(|g| g.position >= after) {
        lines.error(&gap_line(gap));
    }
    let CliLines {
        mut out,
        err,
        last_was_spaced,
        ..
    } = lines;
    if !last_was_spaced {
        out.push('\n');
    }
    summary(&mut out, report, start, end);
    (out, err)
}

/// The summary after the status lines: the range, what was found, the counts.
fn summary(out: &mut String, report: &Report, start: i64, end: i64) {
    out.push_str(&format!(
        "Results requested for {} to {}\n",
        iso_text(start),
        iso_text(end)
    ));
    let counts = report.counts();
    if counts.digests_valid
        + counts.digests_invalid
        + counts.backfill_digests_valid
        + counts.backfill_digests_invalid
        == 0
    {
        out.push_str("No digests found\n");
        // Ours: a region without digests still has its log files named (INVALID above).
        if counts.log_files_invalid > 0 {
            ratio(out, counts.log_files_valid, counts.log_files_invalid, "log");
            out.push('\n');
        }
        return;
    }
    match report.found {
        Some((from, to)) => out.push_str(&format!(
            "Results found for {} to {}:\n",
            iso_text(from.max(start)),
            iso_text(to.min(end))
        )),
        None => out.push_str("No valid digests found in range\n"),
    }
    ratio(out, counts.digests_valid, counts.digests_invalid, "digest");
    ratio(
        out,
        counts.backfill_digests_valid,
        counts.backfill_digests_invalid,
        "backfill digest",
    );
    ratio(out, counts.log_files_valid, counts.log_files_invalid, "log");
    if counts.checks_incomplete > 0 {
        out.push_str(&format!(
            "\n{} files NOT CHECKED (the check did not complete; run again)",
            counts.checks_incomplete
        ));
    }
    out.push('\n');
}

/// The CLI's two streams and its spacing rule.
struct CliLines {
    out: String,
    err: String,
    /// Whether the last line written ended with a blank line (the CLI's
    /// `_is_last_status_double_space`).
    last_was_spaced: bool,
    verbose: bool,
}

impl CliLines {
    fn error(&mut self, line: &str) {
        if !self.last_was_spaced {
            self.err.push('\n');
        }
        self.err.push_str(line);
        self.err.push_str("\n\n");
        self.last_was_spaced = true;
    }

    fn valid(&mut self, line: &str) {
        if self.verbose {
            self.out.push_str(line);
            self.out.push('\n');
            self.last_was_spaced = false;
        }
    }
}

fn ratio(out: &mut String, valid: u64, invalid: u64, name: &str) {
    let total = valid + invalid;
    if total > 0 {
        out.push_str(&format!("\n{valid}/{total} {name} files valid"));
        if invalid > 0 {
            out.push_str(&format!(", {invalid}/{total} {name} files INVALID"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use trailwatch::digest::verdict::{Status, Subject, Verdict};

    /// 2026-11-24T00:00:00Z
    const T0: i64 = 1_795_478_400;
    const HOUR: i64 = 3600;

    #[test]
    fn the_summary_reads_as_the_aws_cli_prints_it() {
        let verdict = |subject, key: &str, status| Verdict {
            subject,
            bucket: "b".into(),
            key: key.into(),
            status,
        };
        let report = Report {
            verdicts: vec![
                verdict(Subject::Digest, "d1", Status::Valid),
                verdict(Subject::Log, "l1", Status::HashMismatch),
                verdict(Subject::Log, "l2", Status::Valid),
                verdict(Subject::BackfillDigest, "d2", Status::Valid),
            ],
            gaps: vec![Gap {
                from: T0,
                to: T0 + HOUR,
                position: 3,
            }],
            found: Some((T0, T0 + HOUR)),
            listed: Vec::new(),
        };
        let (out, err) = render_cli(
            &report,
            "arn:aws:cloudtrail:us-east-1:111122223333:trail/t",
            T0,
            T0 + 2 * HOUR,
            false,
        );
        assert_eq!(
            out,
            "Validating log files for trail arn:aws:cloudtrail:us-east-1:111122223333:trail/t between 2026-11-24T00:00:00Z and 2026-11-24T02:00:00Z\n\n\
             Results requested for 2026-11-24T00:00:00Z to 2026-11-24T02:00:00Z\n\
             Results found for 2026-11-24T00:00:00Z to 2026-11-24T01:00:00Z:\n\n\
             1/1 digest files valid\n\
             1/1 backfill digest files valid\n\
             1/2 log files valid, 1/2 log files INVALID\n"
        );
        assert_eq!(
            err,
            "Log file\ts3://b/l1\tINVALID: hash value doesn't match\n\n\
             No log files were delivered by CloudTrail between 2026-11-24T00:00:00Z and 2026-11-24T01:00:00Z\n\n"
        );
        assert_eq!(report.exit_code(), 1);
    }

    #[test]
    fn verbose_output_spaces_lines_as_the_aws_cli_does() {
        // `_write_status`: an error after a line on standard output opens with a blank line;
        // the summary opens with one only when the last line was not an error's.
        let verdict = |key: &str, status| Verdict {
            subject: Subject::Log,
            bucket: "b".into(),
            key: key.into(),
            status,
        };
        let report = |last_valid: bool| Report {
            verdicts: vec![
                verdict("l1", Status::HashMismatch),
                verdict("l2", Status::NotFound),
                verdict("l3", Status::Valid),
                verdict("l4", Status::TrailingData),
            ]
            .into_iter()
            .chain(last_valid.then(|| verdict("l5", Status::Valid)))
            .collect(),
            gaps: Vec::new(),
            found: None,
            listed: Vec::new(),
        };
        let (out, err) = render_cli(&report(false), "t", T0, T0 + HOUR, true);
        assert_eq!(
            err,
            "Log file\ts3://b/l1\tINVALID: hash value doesn't match\n\n\
             Log file\ts3://b/l2\tINVALID: not found\n\n\
             \nLog file\ts3://b/l4\tINVALID: unexpected data after end of compressed stream\n\n"
        );
        assert!(
            out.contains("Log file\ts3://b/l3\tvalid\nResults requested"),
            "{out}"
        );
        let (out, _) = render_cli(&report(true), "t", T0, T0 + HOUR, true);
        assert!(
            out.contains("Log file\ts3://b/l5\tvalid\n\nResults requested"),
            "{out}"
        );
    }
}
