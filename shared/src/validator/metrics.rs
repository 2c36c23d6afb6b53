//! The validator's metrics: the invocation's totals, and each account's and region's problems.
//! Written as EMF lines by [`crate::metrics`].

use serde_json::json;

use crate::digest::report::Counts;
use crate::metrics::Metric;

/// The validator's metrics for one invocation; `digests_late`: accounts and regions whose
/// digests stopped coming.
pub(crate) fn validator_metrics(counts: &Counts, digests_late: usize) -> Vec<Metric> {
    let mut metrics = vec![
        ("DigestsValid", "Count", json!(counts.digests_valid)),
        ("DigestsInvalid", "Count", json!(counts.digests_invalid)),
        (
            "BackfillDigestsValid",
            "Count",
            json!(counts.backfill_digests_valid),
        ),
        (
            "BackfillDigestsInvalid",
            "Count",
            json!(counts.backfill_digests_invalid),
        ),
        ("LogFilesValid", "Count", json!(counts.log_files_valid)),
        ("LogFilesInvalid", "Count", json!(counts.log_files_invalid)),
        ("LogFilesMissing", "Count", json!(counts.log_files_missing)),
        (
            "LogFilesUnreferenced",
            "Count",
            json!(counts.log_files_unreferenced),
        ),
        ("ChecksIncomplete", "Count", json!(counts.checks_incomplete)),
        ("DigestsLate", "Count", json!(digests_late)),
    ];
    // Only with the checkpoint table: without it, nothing of the reconciliation appears.
    if let Some(forwarding) = &counts.forwarding {
        metrics.extend([
            (
                "LogFilesNotForwarded",
                "Count",
                json!(forwarding.log_files_not_forwarded),
            ),
            (
                "LogFilesForwardedDiffers",
                "Count",
                json!(forwarding.log_files_forwarded_differs),
            ),
            (
                "LogFilesForwarded",
                "Count",
                json!(forwarding.log_files_forwarded),
            ),
            (
                "LogFilesForwardPending",
                "Count",
                json!(forwarding.log_files_forward_pending),
            ),
            ("RepairsSent", "Count", json!(forwarding.repairs_sent)),
        ]);
    }
    metrics
}

/// The problem metrics of one account and region, with `Account` and `Region` dimensions
/// beside `FunctionName`: only those that are not zero, since each dimension combination
/// published is a custom metric billed for the month (a 1,000-account, 17-region
/// organization would otherwise publish 17,000 of each).
pub(crate) fn validator_part_metrics(counts: &Counts, late: bool) -> Vec<Metric> {
    validator_metrics(counts, usize::from(late))
        .into_iter()
        .filter(|(name, _, value)| {
            !matches!(
                *name,
                "DigestsValid"
                    | "BackfillDigestsValid"
                    | "LogFilesValid"
                    | "LogFilesForwarded"
                    | "LogFilesForwardPending"
                    | "RepairsSent"
            ) && value.as_u64() != Some(0)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;
    use crate::metrics::{declared, emf_line, line_with_dimensions};

    #[test]
    fn the_validator_line_carries_its_counts() {
        let counts = Counts {
            digests_valid: 3,
            log_files_missing: 1,
            ..Counts::default()
        };
        let line: Value =
            serde_json::from_str(&emf_line("n", "v", 5, validator_metrics(&counts, 2), &[]))
                .unwrap();
        assert_eq!(
            declared(&line),
            [
                "DigestsValid",
                "DigestsInvalid",
                "BackfillDigestsValid",
                "BackfillDigestsInvalid",
                "LogFilesValid",
                "LogFilesInvalid",
                "LogFilesMissing",
                "LogFilesUnreferenced",
                "ChecksIncomplete",
                "DigestsLate",
            ]
        );
        assert_eq!(
            (
                line["DigestsValid"].as_u64(),
                line["LogFilesMissing"].as_u64(),
                line["DigestsLate"].as_u64()
            ),
            (Some(3), Some(1), Some(2))
        );
        assert_eq!(
            line["_aws"]["CloudWatchMetrics"][0]["Dimensions"],
            json!([["FunctionName"]])
        );
    }

    #[test]
    fn the_reconciliation_adds_its_problem_metrics_only_with_the_checkpoint_table() {
        let plain = validator_metrics(&Counts::default(), 0);
        assert!(plain.iter().all(|(name, _, _)| !name.contains("Forwarded")));
        let counts = Counts {
            forwarding: Some(crate::digest::report::ForwardingCounts {
                log_files_forwarded: 9,
                log_files_not_forwarded: 2,
                ..Default::default()
            }),
            ..Counts::default()
        };
        let part = validator_part_metrics(&counts, false);
        let names: Vec<&str> = part.iter().map(|(name, _, _)| *name).collect();
        assert_eq!(names, ["LogFilesNotForwarded"]);
        let json = serde_json::to_value(counts).unwrap();
        assert_eq!(
            (
                json["logFilesForwarded"].as_u64(),
                json["repairsSent"].as_u64()
            ),
            (Some(9), Some(0))
        );
        assert!(
            serde_json::to_value(Counts::default())
                .unwrap()
                .get("repairsSent")
                .is_none()
        );
    }

    #[test]
    fn a_part_line_carries_only_its_problems_by_account_and_region() {
        let counts = Counts {
            digests_valid: 24,
            log_files_valid: 300,
            log_files_invalid: 1,
            log_files_missing: 1,
            ..Counts::default()
        };
        let metrics = validator_part_metrics(&counts, true);
        let line: Value = serde_json::from_str(&line_with_dimensions(
            "n",
            &[
                ("FunctionName", "v"),
                ("Account", "111122223333"),
                ("Region", "eu-west-1"),
            ],
            5,
            metrics,
            &[],
        ))
        .unwrap();
        assert_eq!(
            declared(&line),
            ["LogFilesInvalid", "LogFilesMissing", "DigestsLate"]
        );
        assert_eq!(
            line["_aws"]["CloudWatchMetrics"][0]["Dimensions"],
            json!([["FunctionName", "Account", "Region"]])
        );
        assert_eq!(
            (line["Account"].as_str(), line["Region"].as_str()),
            (Some("111122223333"), Some("eu-west-1"))
        );
        assert!(
            validator_part_metrics(
                &Counts {
                    digests_valid: 1,
                    ..Counts::default()
                },
                false
            )
            .is_empty()
        );
    }
}
