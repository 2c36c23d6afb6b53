//! What to validate, as asked: a range request (the function's `validateRange` and the
//! command's arguments alike), checked into a trail and a range of epoch seconds.

use serde::{Deserialize, Serialize};

use super::store::CallError;
use crate::arguments::{TimeArgumentError, parse_time};

/// A trail ARN's parts: `arn:<partition>:cloudtrail:<home-region>:<account>:trail/<name>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrailArn {
    pub home_region: String,
    pub account_id: String,
    pub name: String,
}

/// Why a request cannot be validated as asked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RequestError {
    #[error("Invalid trail ARN provided: {0}")]
    TrailArn(String),
    #[error("validateRange needs trailArn")]
    NoTrailArn,
    #[error("validateRange needs startTime (ISO-8601 UTC) or hoursBack")]
    NoStart,
    #[error("validateRange {field}: {source}")]
    BadTime {
        field: &'static str,
        source: TimeArgumentError,
    },
    #[error("Invalid time range specified: start-time must occur before end-time")]
    StartAfterEnd,
    #[error("validateRange hoursBack must be a whole number from 1 to {MAX_HOURS_BACK}, not {0}")]
    HoursBack(i64),
    #[error("validateRange {field} must be between 1970 and 9999: {value}")]
    OutOfRange { field: &'static str, value: String },
    #[error("{0} is not a digest key")]
    NotADigestKey(String),
    #[error("trail {0} not found")]
    TrailNotFound(String),
    /// The AWS CLI's rule: an organization trail's digests are per member account.
    #[error("Missing required parameter for organization trail: '--account-id'")]
    OrganizationAccount,
    /// An audit needs to know where the forwarder writes.
    #[error(
        "auditLogs needs the forwarder's configuration in the validator's environment (LOG_GROUP_NAME or ROUTES, and EVENT_SELECTORS): the template sets it"
    )]
    AuditNotConfigured,
}

/// Why a validation did not produce a report.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ValidationError {
    #[error(transparent)]
    Request(#[from] RequestError),
    #[error(transparent)]
    Call(#[from] CallError),
}

impl TrailArn {
    pub fn parse(arn: &str) -> Result<Self, RequestError> {
        let invalid = || RequestError::TrailArn(arn.to_owned());
        let parts: Vec<&str> = arn.splitn(6, ':').collect();
        if parts.len() != 6 || parts[0] != "arn" || parts[2] != "cloudtrail" || parts[3].is_empty()
        {
            return Err(invalid());
        }
        let name = parts[5]
            .strip_prefix("trail/")
            .filter(|n| !n.is_empty())
            .ok_or_else(invalid)?;
        if parts[4].len() != 12 || !parts[4].bytes().all(|b| b.is_ascii_digit()) {
            return Err(invalid());
        }
        Ok(Self {
            home_region: parts[3].into(),
            account_id: parts[4].into(),
            name: name.into(),
        })
    }
}

/// The longest range a request may name in hours (ten years); CloudTrail keeps no longer.
pub(crate) const MAX_HOURS_BACK: i64 = 10 * 366 * 24;
/// 9999-12-31T23:59:59Z: the last time CloudTrail's four-digit date folders can name.
const LAST_TIME: i64 = 253_402_300_799;

/// A range to validate, as `aws cloudtrail validate-logs` takes it; the function's
/// `validateRange` in JSON (camelCase), the command from its flags. Unset fields are left out
/// when written (the messages a whole-trail range fans out into).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", default)]
pub struct RangeRequest {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trail_arn: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_time: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_time: Option<String>,
    /// Instead of `startTime`: this many hours before the end (the template's schedule).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hours_back: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub s3_bucket: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub s3_prefix: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub organization_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account_id: Option<String>,
    /// The one region to validate; the function validates every region found when unset.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
}

/// A request checked: the trail and the range in epoch seconds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedRange {
    pub trail_arn: String,
    pub trail: TrailArn,
    pub start: i64,
    pub end: i64,
    pub s3_bucket: Option<String>,
    pub s3_prefix: Option<String>,
    pub organization_id: Option<String>,
    pub account_id: Option<String>,
    pub region: Option<String>,
}

impl RangeRequest {
    /// For checks of the present (trail silence): the request's trail and location; its times
    /// are not used.
    pub fn resolve_now(&self, now: i64) -> Result<ResolvedRange, RequestError> {
        let present = RangeRequest {
            start_time: None,
            end_time: None,
            hours_back: Some(1),
            ..self.clone()
        };
        present.resolve(now)
    }

    /// Checks the request; `now` ends a range without `endTime`. Empty strings count as unset.
    pub fn resolve(&self, now: i64) -> Result<ResolvedRange, RequestError> {
        let text = |value: &Option<String>| value.clone().filter(|t| !t.is_empty());
        let time = |field: &'static str, value: String| match parse_time(&value) {
            Ok(seconds) if (0..=LAST_TIME).contains(&seconds) => Ok(seconds),
            Ok(_) => Err(RequestError::OutOfRange { field, value }),
            Err(source) => Err(RequestError::BadTime { field, source }),
        };
        let trail_arn = text(&self.trail_arn).ok_or(RequestError::NoTrailArn)?;
        let trail = TrailArn::parse(&trail_arn)?;
        let end = match text(&self.end_time) {
            Some(end) => time("endTime", end)?,
            None => now,
        };
        let start = match (text(&self.start_time), self.hours_back) {
            (Some(start), _) => time("startTime", start)?,
            (None, Some(hours)) if (1..=MAX_HOURS_BACK).contains(&hours) => end - hours * 3600,
            (None, Some(hours)) => return Err(RequestError::HoursBack(hours)),
            (None, None) => return Err(RequestError::NoStart),
        };
        if start > end {
            return Err(RequestError::StartAfterEnd);
        }
        Ok(ResolvedRange {
            trail_arn,
            trail,
            start,
            end,
            s3_bucket: text(&self.s3_bucket),
            s3_prefix: text(&self.s3_prefix),
            organization_id: text(&self.organization_id),
            account_id: text(&self.account_id),
            region: text(&self.region),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trail_arns_are_read_and_bad_ones_refused() {
        let arn =
            TrailArn::parse("arn:aws:cloudtrail:us-east-1:111122223333:trail/my-trail").unwrap();
        assert_eq!(
            (
                arn.home_region.as_str(),
                arn.account_id.as_str(),
                arn.name.as_str()
            ),
            ("us-east-1", "111122223333", "my-trail")
        );
        for bad in [
            "arn:aws:s3:::b",
            "arn:aws:cloudtrail:us-east-1:1111:trail/x",
            "arn:aws:cloudtrail:us-east-1:111122223333:trail/",
            "trail",
        ] {
            assert!(
                TrailArn::parse(bad)
                    .unwrap_err()
                    .to_string()
                    .starts_with("Invalid trail ARN provided"),
                "{bad}"
            );
        }
    }

    #[test]
    fn a_range_takes_hours_back_from_now_and_names_what_is_wrong_with_it() {
        let arn = "arn:aws:cloudtrail:us-east-1:111122223333:trail/t";
        let request: RangeRequest = serde_json::from_value(
            serde_json::json!({"trailArn": arn, "hoursBack": 25, "s3Bucket": "b", "s3Prefix": ""}),
        )
        .unwrap();
        let range = request.resolve(100_000).unwrap();
        assert_eq!((range.start, range.end), (100_000 - 25 * 3600, 100_000));
        assert_eq!(range.s3_prefix, None, "the template sends an empty prefix");
        for (json, wanted) in [
            (
                serde_json::json!({"hoursBack": 1}),
                RequestError::NoTrailArn,
            ),
            (serde_json::json!({"trailArn": arn}), RequestError::NoStart),
            (
                serde_json::json!({"trailArn": arn, "startTime": "yesterday"}),
                RequestError::BadTime {
                    field: "startTime",
                    source: parse_time("yesterday").unwrap_err(),
                },
            ),
            (
                serde_json::json!({"trailArn": arn, "startTime": "2026-11-25T02:00:00Z", "endTime": "2026-11-25T01:00:00Z"}),
                RequestError::StartAfterEnd,
            ),
            (
                serde_json::json!({"trailArn": arn, "hoursBack": 100_000_000}),
                RequestError::HoursBack(100_000_000),
            ),
            (
                serde_json::json!({"trailArn": arn, "hoursBack": i64::MAX}),
                RequestError::HoursBack(i64::MAX),
            ),
            (
                serde_json::json!({"trailArn": arn, "hoursBack": 0}),
                RequestError::HoursBack(0),
            ),
            (
                serde_json::json!({"trailArn": arn, "startTime": "0001-01-01T00:00:00Z"}),
                RequestError::OutOfRange {
                    field: "startTime",
                    value: "0001-01-01T00:00:00Z".into(),
                },
            ),
        ] {
            let request: RangeRequest = serde_json::from_value(json).unwrap();
            assert_eq!(request.resolve(0).unwrap_err(), wanted);
        }
    }
}
