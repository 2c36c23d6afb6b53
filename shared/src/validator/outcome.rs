//! What one invocation found, built whole once its checks are done: each validation with its
//! reconciliation, the late regions, and what could not be read. The answer, the summary and
//! the metrics are all read from it.

use serde_json::{Value, json};

use super::metrics::{validator_metrics, validator_part_metrics};
use super::reconcile::Reconciled;
use super::request::RequestError;
use crate::audit::{Audit, Finding};
use crate::digest::locate::TrailDigests;
use crate::digest::provenance::count as count_forwarding;
use crate::digest::report::Counts;
use crate::digest::request::ValidationError;
use crate::digest::silence::Lateness;
use crate::digest::validate::Validated;
use crate::metrics::{Metric, emf_line, line_with_dimensions};
use crate::ports::CallError;

/// One validation and, with the checkpoint table, its files reconciled.
#[derive(Debug, Clone)]
pub struct Checked {
    pub validated: Validated,
    pub reconciled: Option<Reconciled>,
    /// A recheck of a validated digest's pending files: its S3 verdicts were counted and
    /// written when the digest was validated, so only its reconciliation counts.
    pub recheck: bool,
}

impl Checked {
    /// Its counts: the S3 verdicts', and the reconciliation's (a file whose reconciliation did
    /// not complete is a check that did not complete).
    pub fn counts(&self) -> Counts {
        let mut counts = if self.recheck {
            Counts::default()
        } else {
            self.validated.report.counts()
        };
        if let Some(reconciled) = &self.reconciled {
            let (mut forwarding, not_checked) = count_forwarding(&reconciled.verdicts);
            forwarding.repairs_sent = reconciled.repairs_sent;
            counts.forwarding = Some(forwarding);
            counts.checks_incomplete += not_checked;
        }
        counts
    }

    /// The lines of what is not valid: reconciliations first, then S3 verdicts.
    pub fn problems(&self) -> impl Iterator<Item = String> + '_ {
        let reconciled = self.reconciled.iter().flat_map(|r| &r.verdicts);
        let forwarding = reconciled
            .filter(|v| v.forwarding.is_problem())
            .map(ToString::to_string);
        let verdicts = self.validated.report.verdicts.iter();
        forwarding.chain(
            verdicts
                .filter(|v| !v.status.is_valid())
                .map(ToString::to_string),
        )
    }
}

/// What one invocation did.
#[derive(Debug, Default)]
pub struct Outcome {
    pub checked: Vec<Checked>,
    /// `auditLogs`: each account's and region's audit of its log groups.
    pub audits: Vec<Audit>,
    /// The newest digest of each account and region, judged (the hourly check).
    pub lateness: Vec<Lateness>,
    /// Range messages sent, one per account and region.
    pub fanned_out: usize,
    /// Rechecks sent: pending files to reconcile again once the grace has passed (or a
    /// recheck whose time had not come, sent on).
    pub rechecks_sent: usize,
    /// Messages (or entries) that named no object to validate: logged and counted.
    pub unreadable: usize,
    pub errors: Vec<ValidationError>,
}

/// Why an invocation fails, so that its trigger delivers it again.
#[derive(Debug, thiserror::Error)]
pub enum InvocationError {
    #[error(transparent)]
    Request(#[from] RequestError),
    #[error("writing verdicts: {0}")]
    Verdicts(#[source] CallError),
    #[error("{}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    Validations(Vec<ValidationError>),
    #[error(
        "{incomplete} checks did not complete (NOT CHECKED); the verdicts written so far stand, the rest is retried"
    )]
    Incomplete { incomplete: u64 },
}

impl Outcome {
    /// The counts of every validation.
    pub fn counts(&self) -> Counts {
        let mut counts = Counts::default();
        for checked in &self.checked {
            counts.add(&checked.counts());
        }
        counts
    }

    pub fn late(&self) -> impl Iterator<Item = &Lateness> {
        self.lateness.iter().filter(|l| l.late)
    }

    /// The EMF lines: each account's and region's problems (with `Account` and `Region`
    /// dimensions), then the invocation's totals.
    pub fn metric_lines(&self, namespace: &str, function_name: &str, now: i64) -> Vec<String> {
        let part_line = |trail: &TrailDigests, metrics| {
            let dimensions = [
                ("FunctionName", function_name),
                ("Account", trail.account_id.as_str()),
                ("Region", trail.source_region.as_str()),
            ];
            line_with_dimensions(namespace, &dimensions, now * 1000, metrics, &[])
        };
        let mut lines = Vec::new();
        for checked in &self.checked {
            let problems = validator_part_metrics(&checked.counts(), false);
            if !problems.is_empty() {
                lines.push(part_line(&checked.validated.scope.trail, problems));
            }
        }
        for lateness in self.late() {
            let metrics = validator_part_metrics(&Counts::default(), true);
            lines.push(part_line(&lateness.trail, metrics));
        }
        for audit in self.audits.iter().filter(|a| !a.findings.is_empty()) {
            lines.push(part_line(
                &audit.validated.scope.trail,
                audit_metrics(audit),
            ));
        }
        let mut metrics = validator_metrics(&self.counts(), self.late().count());
        metrics.push(("MessagesUnreadable", "Count", json!(self.unreadable)));
        metrics.push(("RechecksSent", "Count", json!(self.rechecks_sent)));
        // Only with an audit: without one, nothing of it appears.
        if !self.audits.is_empty() {
            let all = self.audits.iter().flat_map(audit_metrics);
            let mut totals: Vec<Metric> = Vec::new();
            for (name, unit, value) in all {
                match totals.iter_mut().find(|(n, _, _)| *n == name) {
                    Some((_, _, total)) => {
                        *total = json!(total.as_u64().unwrap_or(0) + value.as_u64().unwrap_or(0));
                    }
                    None => totals.push((name, unit, value)),
                }
            }
            metrics.extend(totals);
        }
        lines.push(emf_line(namespace, function_name, now * 1000, metrics, &[]));
        lines
    }

    /// The function's answer: the summary, or why the invocation must run again (a check that
    /// did not complete proves nothing, so SQS delivers the digest again).
    pub fn answer(self, now: i64) -> Result<Value, InvocationError> {
        let counts = self.counts();
        if !self.errors.is_empty() {
            return Err(InvocationError::Validations(self.errors));
        }
        let incomplete =
            counts.checks_incomplete + self.audits.iter().map(Audit::incomplete).sum::<u64>();
        if incomplete > 0 {
            return Err(InvocationError::Incomplete { incomplete });
        }
        let validated: Vec<&str> = self
            .checked
            .iter()
            .map(|c| c.validated.what.as_str())
            .collect();
        let invalid: Vec<String> = self.checked.iter().flat_map(Checked::problems).collect();
        let late: Vec<String> = self.late().map(|l| l.line(now)).collect();
        let audits: Vec<Value> = self.audits.iter().map(audit_summary).collect();
        Ok(json!({
            "validated": validated,
            "counts": counts,
            "invalid": invalid,
            "fannedOut": self.fanned_out,
            "rechecksSent": self.rechecks_sent,
            "unreadableMessages": self.unreadable,
            "late": late,
            "checkedForLateness": self.lateness.len(),
            "audits": audits,
        }))
    }
}

/// One audit's metrics: what it found, and what it could not do.
fn audit_metrics(audit: &Audit) -> Vec<Metric> {
    let count = |wanted: fn(&Finding) -> bool| audit.findings.iter().filter(|f| wanted(f)).count();
    vec![
        (
            "RecordsMissing",
            "Count",
            json!(count(|f| matches!(f, Finding::Missing { .. }))),
        ),
        (
            "RecordsDuplicated",
            "Count",
            json!(count(|f| matches!(f, Finding::Duplicated { .. }))),
        ),
        (
            "EventsUnsigned",
            "Count",
            json!(count(|f| matches!(f, Finding::Unsigned { .. }))),
        ),
        ("AuditIncomplete", "Count", json!(audit.incomplete())),
    ]
}

/// One audit in the answer: what it covered, its summary line, and every finding's line.
fn audit_summary(audit: &Audit) -> Value {
    let lines: Vec<String> = audit
        .findings
        .iter()
        .map(ToString::to_string)
        .chain(audit.not_audited.iter().map(ToString::to_string))
        .collect();
    json!({
        "validated": audit.validated.what,
        "summary": audit.summary(),
        "signedEvents": audit.signed_events,
        "exactlyOnce": audit.exactly_once,
        "findings": lines,
    })
}
