//! CloudTrail digest files: the JSON a digest holds, and the string CloudTrail signs.
//! Fields and rules: https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-log-file-validation-digest-file-structure.html
//! and aws-cli's `awscli/customizations/cloudtrail/validation.py`.

use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

/// A digest file's fields. Strings stay as written: `digestEndTime` is signed verbatim.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DigestFile {
    pub aws_account_id: Option<String>,
    pub digest_start_time: Option<String>,
    pub digest_end_time: Option<String>,
    #[serde(rename = "digestS3Bucket")]
    pub digest_s3_bucket: Option<String>,
    #[serde(rename = "digestS3Object")]
    pub digest_s3_object: Option<String>,
    pub digest_public_key_fingerprint: Option<String>,
    pub digest_signature_algorithm: Option<String>,
    pub newest_event_time: Option<String>,
    pub oldest_event_time: Option<String>,
    #[serde(rename = "previousDigestS3Bucket")]
    pub previous_digest_s3_bucket: Option<String>,
    #[serde(rename = "previousDigestS3Object")]
    pub previous_digest_s3_object: Option<String>,
    pub previous_digest_hash_value: Option<String>,
    pub previous_digest_hash_algorithm: Option<String>,
    /// `null` in a starting digest; the string to sign then holds the word `null`.
    pub previous_digest_signature: Option<String>,
    #[serde(default)]
    pub log_files: Vec<DigestLogFile>,
}

/// One log file a digest vouches for.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DigestLogFile {
    #[serde(rename = "s3Bucket")]
    pub s3_bucket: String,
    #[serde(rename = "s3Object")]
    pub s3_object: String,
    /// Lower-case hex SHA-256 of the log file's decompressed bytes.
    pub hash_value: String,
    #[serde(default)]
    pub hash_algorithm: Option<String>,
    #[serde(default)]
    pub newest_event_time: Option<String>,
    #[serde(default)]
    pub oldest_event_time: Option<String>,
}

/// The fields the CLI requires before validating (`required_digest_keys`). The JSON must hold
/// each key, even when its value is null (`previousDigestSignature` of a starting digest).
pub const REQUIRED_KEYS: [&str; 6] = [
    "digestPublicKeyFingerprint",
    "digestS3Bucket",
    "digestS3Object",
    "previousDigestSignature",
    "digestEndTime",
    "digestStartTime",
];

/// The fields the signature covers and the checks before it need, read without building the
/// rest (a digest may list thousands of log files): the signature is checked before the
/// digest's values are parsed. The CLI's required keys must all be present; only
/// `previousDigestSignature` may be null (a starting digest).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SignedFields {
    digest_public_key_fingerprint: Option<String>,
    #[serde(rename = "digestS3Bucket")]
    digest_s3_bucket: Option<String>,
    #[serde(rename = "digestS3Object")]
    digest_s3_object: Option<String>,
    #[serde(default, deserialize_with = "present")]
    previous_digest_signature: Option<Option<String>>,
    digest_end_time: Option<String>,
    digest_start_time: Option<String>,
}

/// `Some(value)` for a key that is present, even as null.
fn present<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(deserializer).map(Some)
}

/// A digest's signed fields, checked before the rest of it is read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DigestHeader {
    pub end_time: String,
    pub start_time: String,
    pub bucket: String,
    pub object: String,
    pub fingerprint: String,
    /// `None` in a starting digest.
    pub previous_signature: Option<String>,
}

impl DigestHeader {
    /// `None`: not JSON, or a required key is missing ("invalid format").
    pub fn parse(inflated: &[u8]) -> Option<Self> {
        let fields: SignedFields = serde_json::from_slice(inflated).ok()?;
        Some(Self {
            end_time: fields.digest_end_time?,
            start_time: fields.digest_start_time?,
            bucket: fields.digest_s3_bucket?,
            object: fields.digest_s3_object?,
            fingerprint: fields.digest_public_key_fingerprint?,
            previous_signature: fields.previous_digest_signature?,
        })
    }

    /// The signed string: `digestEndTime` verbatim, `bucket/object`, the hex SHA-256 of the
    /// decompressed digest bytes as stored, and the previous signature or `null`, joined by
    /// newlines with none at the end.
    pub fn string_to_sign(&self, inflated: &[u8]) -> String {
        format!(
            "{}\n{}/{}\n{}\n{}",
            self.end_time,
            self.bucket,
            self.object,
            hex::encode(Sha256::digest(inflated)),
            self.previous_signature.as_deref().unwrap_or("null")
        )
    }
}

/// A digest's fields after the required ones were checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Digest {
    pub file: DigestFile,
    pub end_time: String,
    pub start_time: String,
    pub bucket: String,
    pub object: String,
    pub fingerprint: String,
}

impl Digest {
    /// Parses the decompressed digest bytes. `None`: not JSON of a digest, or a required key
    /// is missing ("invalid format").
    pub fn parse(inflated: &[u8]) -> Option<Self> {
        Self::complete(DigestHeader::parse(inflated)?, inflated)
    }

    /// The whole digest, once its header was read (and its signature checked).
    pub fn complete(header: DigestHeader, inflated: &[u8]) -> Option<Self> {
        let file: DigestFile = serde_json::from_slice(inflated).ok()?;
        Some(Self {
            end_time: header.end_time,
            start_time: header.start_time,
            bucket: header.bucket,
            object: header.object,
            fingerprint: header.fingerprint,
            file,
        })
    }

    /// The string CloudTrail signed for this digest.
    pub fn string_to_sign(&self, inflated: &[u8]) -> String {
        DigestHeader {
            end_time: self.end_time.clone(),
            start_time: self.start_time.clone(),
            bucket: self.bucket.clone(),
            object: self.object.clone(),
            fingerprint: self.fingerprint.clone(),
            previous_signature: self.file.previous_digest_signature.clone(),
        }
        .string_to_sign(inflated)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn string_to_sign_matches_the_aws_cli_test_vector() {
        // aws-cli tests/unit/customizations/cloudtrail/test_validation.py:
        // endTime "a", bucket "b", object "c", body "abc", no previous signature.
        let digest = Digest {
            file: DigestFile::default(),
            end_time: "a".into(),
            start_time: "s".into(),
            bucket: "b".into(),
            object: "c".into(),
            fingerprint: "f".into(),
        };
        assert_eq!(
            digest.string_to_sign(b"abc"),
            "a\nb/c\nba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad\nnull"
        );
    }

    #[test]
    fn required_keys_must_be_present_even_when_null() {
        let starting = br#"{"digestPublicKeyFingerprint":"f","digestS3Bucket":"b","digestS3Object":"o","previousDigestSignature":null,"digestEndTime":"2026-01-01T01:00:00Z","digestStartTime":"2026-01-01T00:00:00Z","logFiles":[]}"#;
        let digest = Digest::parse(starting).unwrap();
        assert_eq!(digest.file.previous_digest_signature, None);
        assert!(digest.string_to_sign(starting).ends_with("\nnull"));
        let missing = br#"{"digestPublicKeyFingerprint":"f","digestS3Bucket":"b","digestS3Object":"o","digestEndTime":"x","digestStartTime":"y"}"#;
        assert_eq!(Digest::parse(missing), None);
        assert_eq!(Digest::parse(b"not json"), None);
        let null_bucket = br#"{"digestPublicKeyFingerprint":"f","digestS3Bucket":null,"digestS3Object":"o","previousDigestSignature":null,"digestEndTime":"x","digestStartTime":"y"}"#;
        assert_eq!(DigestHeader::parse(null_bucket), None);
    }

    #[test]
    fn the_header_is_read_without_the_log_file_list() {
        // A list of the wrong shape does not stop the header (the signature is checked
        // first); the whole digest then is of invalid format.
        let text = br#"{"digestPublicKeyFingerprint":"f","digestS3Bucket":"b","digestS3Object":"o","previousDigestSignature":"p","digestEndTime":"e","digestStartTime":"s","logFiles":[{"unexpected":[1,2,3]}]}"#;
        let header = DigestHeader::parse(text).unwrap();
        assert_eq!(header.previous_signature.as_deref(), Some("p"));
        assert!(header.string_to_sign(text).starts_with("e\nb/o\n"));
        assert_eq!(Digest::complete(header, text), None);
    }
}
