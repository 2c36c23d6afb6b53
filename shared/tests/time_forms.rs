//! The typed times of `validate-logs` against the AWS CLI's own reading of them: the AWS CLI
//! parses `--start-time`/`--end-time` with python-dateutil's `parser.parse` and then
//! `normalize_date` (awscli/customizations/cloudtrail/validation.py). This test runs that
//! parser (pinned in scripts/requirements.txt, installed by scripts/setup) on a table of inputs.

// Test helpers outside #[test] functions: failures should panic the test.
#![allow(clippy::expect_used)]

use std::path::PathBuf;
use std::process::Command;

use trailwatch::arguments::parse_time;

/// What dateutil makes of each line of `inputs`: `naive <epoch>` (no zone: the CLI reads it as
/// UTC), `aware <epoch in UTC> <epoch the CLI uses>` or `error`.
fn dateutil(inputs: &[&str]) -> Vec<String> {
    let python = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../.venv/bin/python");
    assert!(
        python.exists(),
        "{} not found: run scripts/setup to install the pinned tools",
        python.display()
    );
    let script = r#"
import sys, warnings
from dateutil import parser, tz
warnings.simplefilter("ignore")
for line in sys.argv[1:]:
    try:
        parsed = parser.parse(line)
    except (ValueError, OverflowError):
        print("error")
        continue
    as_cli = parsed.replace(tzinfo=tz.tzutc())
    if parsed.tzinfo is None:
        print("naive", int(as_cli.timestamp()))
    else:
        print("aware", int(parsed.timestamp()), int(as_cli.timestamp()))
"#;
    let output = Command::new(python)
        .arg("-c")
        .arg(script)
        .args(inputs)
        .output()
        .expect("python runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(str::to_owned)
        .collect()
}

#[test]
fn every_form_read_here_is_read_as_the_aws_cli_reads_it() {
    let accepted = [
        "2026-11-25",
        "20261125T000000Z",
        "2026-11-25 00:00:00",
        "2026-11-25T00:00:00Z",
        "2026-11-25T10:30:15.250Z",
        "2026-11-25t10:30:15z",
        "2026/11/25",
        "20261125",
        "2026-11-25T10",
        "2026-11-25 10:30",
        "20261125T1030Z",
        "2026-11-25 10:30 UTC",
        "2026-11-25T10:30:00 GMT",
        "Nov 25 2026",
        "November 25, 2026 10:30",
        "25 Nov 2026 10:30:15",
        "2024-02-29T23:59:59Z",
        "2026-2-3",
    ];
    for (input, cli) in accepted.iter().zip(dateutil(&accepted)) {
        let ours = parse_time(input).unwrap_or_else(|e| panic!("{input}: {e}"));
        // The last field is the instant the AWS CLI validates from.
        assert_eq!(
            cli.rsplit(' ').next(),
            Some(ours.to_string().as_str()),
            "{input}: {cli}"
        );
    }
}

#[test]
fn an_offset_is_converted_to_utc_where_the_aws_cli_drops_it() {
    let offsets = [
        "2026-11-25T01:00:00+01:00",
        "2026-11-25T10:00:00-0500",
        "2026-11-25T10:00:00+01",
        "2026-11-25 10:00:00+05:30",
    ];
    for (input, cli) in offsets.iter().zip(dateutil(&offsets)) {
        let ours = parse_time(input).unwrap_or_else(|e| panic!("{input}: {e}"));
        let fields: Vec<&str> = cli.split(' ').collect();
        assert_eq!(fields.first(), Some(&"aware"), "{input}: {cli}");
        // The same instant as dateutil's aware time; the AWS CLI's replace() reads the clock
        // time as UTC instead, a different instant.
        assert_eq!(fields.get(1), Some(&ours.to_string().as_str()), "{input}");
        assert_ne!(fields.get(2), Some(&ours.to_string().as_str()), "{input}");
    }
}

#[test]
fn what_the_aws_cli_guesses_at_is_refused_here_and_what_it_refuses_is_refused() {
    // dateutil reads these, by guessing (month first), ignoring (an unknown zone name) or
    // defaulting (today's date for a bare time); here each is refused with the form to use.
    let guessed = [
        "11/25/2026",
        "25.11.2026",
        "2026-11-25T10:00:00 PST",
        "10:30",
    ];
    for (input, cli) in guessed.iter().zip(dateutil(&guessed)) {
        assert_ne!(cli, "error", "dateutil reads {input}");
        let refused = parse_time(input).expect_err(input);
        assert!(refused.to_string().contains("write it as"), "{refused}");
    }
    let refused = [
        "yesterday",
        "2026-02-30",
        "2026-13-01",
        "2026-11-25T24:00:00",
        "1795608000",
        "",
    ];
    for (input, cli) in refused.iter().zip(dateutil(&refused)) {
        assert_eq!(cli, "error", "dateutil refuses {input:?}");
        let message = parse_time(input).expect_err(input).to_string();
        assert!(
            message.starts_with(&format!("Unable to parse date value: {input}")),
            "{message}"
        );
    }
}
