//! Where an event goes: a log group and a log stream.

use std::fmt;
use std::sync::Arc;

use crate::trail::{RecordFields, TrailKey};

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Destination {
    pub log_group: Arc<str>,
    pub log_stream: Arc<str>,
}

impl fmt::Display for Destination {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.log_group, self.log_stream)
    }
}

/// Names streams the way CloudTrail's own CloudWatch Logs integration does:
/// `<account>_CloudTrail_<region>`, with `<o-id>_` in front for organization trails
/// (https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudwatch-log-group-log-stream-naming-for-cloudtrail.html).
/// Account and region come from the record, falling back to the file's key when the record
/// lacks them or holds values that cannot be part of a stream name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CloudTrailStreamNaming {
    organization_id: Option<String>,
    key_account_id: String,
    key_region: String,
}

impl CloudTrailStreamNaming {
    pub fn for_key(key: &TrailKey<'_>) -> Self {
        Self {
            organization_id: key.organization_id.map(str::to_owned),
            key_account_id: key.account_id.to_owned(),
            key_region: key.region.to_owned(),
        }
    }

    /// Writes the record's stream name into `out`, replacing its contents.
    pub fn write_stream_name(&self, record: &RecordFields<'_>, out: &mut String) {
        let account = record
            .recipient_account_id
            .as_deref()
            .filter(|a| a.len() == 12 && a.bytes().all(|b| b.is_ascii_digit()))
            .unwrap_or(&self.key_account_id);
        let region = record
            .aws_region
            .as_deref()
            .filter(|r| !r.is_empty() && r.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'))
            .unwrap_or(&self.key_region);
        out.clear();
        if let Some(organization_id) = &self.organization_id {
            out.push_str(organization_id);
            out.push('_');
        }
        out.push_str(account);
        out.push_str("_CloudTrail_");
        out.push_str(region);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(key: &str, record: &str) -> String {
        let naming = CloudTrailStreamNaming::for_key(&TrailKey::parse(key).unwrap());
        let mut out = String::from("left over");
        naming.write_stream_name(&RecordFields::parse(record).unwrap(), &mut out);
        out
    }

    const KEY: &str = "AWSLogs/111122223333/CloudTrail/us-east-1/2024/01/02/111122223333_CloudTrail_us-east-1_20240102T0305Z_0123456789abcdef.json.gz";
    const ORG_KEY: &str = "AWSLogs/o-aa11bb22cc/111122223333/CloudTrail/us-east-1/2024/01/02/111122223333_CloudTrail_us-east-1_20240102T0305Z_0123456789abcdef.json.gz";

    #[test]
    fn stream_is_named_after_the_records_account_and_region() {
        let record = r#"{"recipientAccountId":"444455556666","awsRegion":"eu-west-1"}"#;
        assert_eq!(name(KEY, record), "444455556666_CloudTrail_eu-west-1");
    }

    #[test]
    fn organization_trails_prefix_the_organization_id() {
        let record = r#"{"recipientAccountId":"111122223333","awsRegion":"us-east-1"}"#;
        assert_eq!(
            name(ORG_KEY, record),
            "o-aa11bb22cc_111122223333_CloudTrail_us-east-1"
        );
    }

    #[test]
    fn missing_or_unusable_record_values_fall_back_to_the_key() {
        assert_eq!(name(KEY, "{}"), "111122223333_CloudTrail_us-east-1");
        let odd = r#"{"recipientAccountId":"12:34","awsRegion":"us*east"}"#;
        assert_eq!(name(KEY, odd), "111122223333_CloudTrail_us-east-1");
    }
}
