//! Verdicts, worded as `aws cloudtrail validate-logs` prints them:
//! `Digest file\ts3://bucket/key\tvalid` or `… INVALID: <reason>`.

use std::fmt;

use serde::Serialize;

use super::store::FetchError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Subject {
    #[serde(rename = "digest")]
    Digest,
    #[serde(rename = "log")]
    Log,
    /// A backfill digest: printed, as the AWS CLI does, with a `(backfill) ` prefix.
    #[serde(rename = "backfillDigest")]
    BackfillDigest,
}

/// Why a file is invalid, or that it is valid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    Valid,
    NotFound,
    HashMismatch,
    SignatureFailed,
    InvalidFormat,
    Moved,
    PublicKeyNotFound {
        region: String,
        fingerprint: String,
    },
    TrailingData,
    /// Beyond the AWS CLI: larger than any real digest or log file (a bomb); not read further.
    TooLarge {
        limit: u64,
    },
    /// Beyond the AWS CLI: a log file in a validated hour that no digest lists.
    Unreferenced,
    Other(String),
    /// The check did not complete (throttling, 5xx, a timeout, a reset connection, a hashing
    /// task that stopped): neither valid nor invalid, and checked again on the next run.
    NotChecked(String),
}

/// What a file that could not be read says: nothing about its content when the read failed
/// for a reason that may pass (`NotChecked`), never "invalid" for what could not be read yet.
impl From<FetchError> for Status {
    fn from(error: FetchError) -> Self {
        match error {
            FetchError::NotFound => Status::NotFound,
            FetchError::Corrupt => Status::InvalidFormat,
            FetchError::TooLarge { limit } => Status::TooLarge { limit },
            FetchError::Failed(error) if error.is_transient() => {
                Status::NotChecked(error.to_string())
            }
            FetchError::Failed(error) => Status::Other(error.to_string()),
        }
    }
}

impl Status {
    pub fn is_valid(&self) -> bool {
        *self == Status::Valid
    }

    /// Whether the file was found invalid (a completed check that failed).
    pub fn is_invalid(&self) -> bool {
        !self.is_valid() && !self.is_not_checked()
    }

    pub fn is_not_checked(&self) -> bool {
        matches!(self, Status::NotChecked(_))
    }

    /// A short name for metrics and JSON.
    pub fn code(&self) -> &'static str {
        match self {
            Status::Valid => "valid",
            Status::NotFound => "notFound",
            Status::HashMismatch => "hashMismatch",
            Status::SignatureFailed => "signatureFailed",
            Status::InvalidFormat => "invalidFormat",
            Status::Moved => "moved",
            Status::PublicKeyNotFound { .. } => "publicKeyNotFound",
            Status::TrailingData => "trailingData",
            Status::TooLarge { .. } => "tooLarge",
            Status::Unreferenced => "unreferenced",
            Status::Other(_) => "other",
            Status::NotChecked(_) => "notChecked",
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Status::Valid => f.write_str("valid"),
            Status::NotFound => f.write_str("INVALID: not found"),
            Status::HashMismatch => f.write_str("INVALID: hash value doesn't match"),
            Status::SignatureFailed => f.write_str("INVALID: signature verification failed"),
            Status::InvalidFormat => f.write_str("INVALID: invalid format"),
            Status::Moved => f.write_str("INVALID: has been moved from its original location"),
            Status::PublicKeyNotFound {
                region,
                fingerprint,
            } => {
                write!(
                    f,
                    "INVALID: public key not found in region {region} for fingerprint {fingerprint}"
                )
            }
            Status::TrailingData => {
                f.write_str("INVALID: unexpected data after end of compressed stream")
            }
            Status::TooLarge { limit } => write!(f, "INVALID: larger than {limit} bytes"),
            Status::Unreferenced => f.write_str("INVALID: not listed in any digest"),
            Status::Other(message) => write!(f, "INVALID: {message}"),
            Status::NotChecked(reason) => write!(f, "NOT CHECKED: {reason}"),
        }
    }
}

/// One verdict on one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    pub subject: Subject,
    pub bucket: String,
    pub key: String,
    pub status: Status,
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let subject = match self.subject {
            Subject::Digest => "Digest file",
            Subject::Log => "Log file",
            Subject::BackfillDigest => "(backfill) Digest file",
        };
        write!(
            f,
            "{subject}\ts3://{}/{}\t{}",
            self.bucket, self.key, self.status
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ports::CallError;

    #[test]
    fn a_file_that_could_not_be_read_is_invalid_only_for_what_its_read_proved() {
        let throttled = FetchError::Failed(CallError::transient("GetObject", "SlowDown"));
        let denied = FetchError::Failed(CallError::permanent("GetObject", "AccessDenied"));
        assert_eq!(
            Status::from(throttled),
            Status::NotChecked("GetObject failed: SlowDown".into())
        );
        assert_eq!(
            Status::from(denied),
            Status::Other("GetObject failed: AccessDenied".into())
        );
        assert_eq!(Status::from(FetchError::NotFound), Status::NotFound);
        assert_eq!(Status::from(FetchError::Corrupt), Status::InvalidFormat);
        assert_eq!(
            Status::from(FetchError::TooLarge { limit: 9 }),
            Status::TooLarge { limit: 9 }
        );
    }

    fn line(subject: Subject, status: Status) -> String {
        Verdict {
            subject,
            bucket: "b".into(),
            key: "k".into(),
            status,
        }
        .to_string()
    }

    #[test]
    fn lines_read_exactly_as_the_aws_cli_prints_them() {
        assert_eq!(
            line(Subject::Digest, Status::Valid),
            "Digest file\ts3://b/k\tvalid"
        );
        assert_eq!(
            line(Subject::Digest, Status::NotFound),
            "Digest file\ts3://b/k\tINVALID: not found"
        );
        assert_eq!(
            line(Subject::Log, Status::HashMismatch),
            "Log file\ts3://b/k\tINVALID: hash value doesn't match"
        );
        assert_eq!(
            line(Subject::Digest, Status::SignatureFailed),
            "Digest file\ts3://b/k\tINVALID: signature verification failed"
        );
        assert_eq!(
            line(Subject::Log, Status::InvalidFormat),
            "Log file\ts3://b/k\tINVALID: invalid format"
        );
        assert_eq!(
            line(Subject::Digest, Status::Moved),
            "Digest file\ts3://b/k\tINVALID: has been moved from its original location"
        );
        assert_eq!(
            line(
                Subject::Digest,
                Status::PublicKeyNotFound {
                    region: "us-east-1".into(),
                    fingerprint: "ab12".into()
                }
            ),
            "Digest file\ts3://b/k\tINVALID: public key not found in region us-east-1 for fingerprint ab12"
        );
        assert_eq!(
            line(Subject::Log, Status::TrailingData),
            "Log file\ts3://b/k\tINVALID: unexpected data after end of compressed stream"
        );
    }
}
