//! The objects every layer speaks of: an object as a trigger names it ([`NotifiedObject`]), the
//! object to read ([`ObjectRef`]), and the continuation that resumes one ([`Continuation`], with
//! its message encoding), and what identifies content ([`ETag`], [`Sha256`]). A leaf: it depends on nothing else of the crate but key decoding.

use serde::{Deserialize, Serialize};

use crate::trail::decode_notification_key;

/// How the key in a message is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum KeyEncoding {
    /// S3 event notifications: form-URL-encoded (`+` is a space).
    #[default]
    Form,
    /// CloudTrail's SNS notification and our continuation messages: the key as stored.
    Plain,
    /// EventBridge: documented without encoding; read as is, and form-decoded if not found.
    PlainThenForm,
}

/// An S3 object's ETag. S3 quotes it in responses and headers and not in notifications, so
/// it is kept bare and compared bare; written quoted (If-Match, continuation messages), and
/// read either way.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ETag(String);

impl ETag {
    /// `None` for an empty ETag (sample events carry `""`).
    pub fn new(text: &str) -> Option<Self> {
        let bare = text.trim_matches('"');
        (!bare.is_empty()).then(|| Self(bare.to_owned()))
    }

    pub fn bare(&self) -> &str {
        &self.0
    }

    /// As S3 writes it in headers: `"…"`.
    pub fn quoted(&self) -> String {
        format!("\"{}\"", self.0)
    }
}

impl TryFrom<String> for ETag {
    type Error = &'static str;

    fn try_from(text: String) -> Result<Self, Self::Error> {
        Self::new(&text).ok_or("an ETag cannot be empty")
    }
}

impl From<ETag> for String {
    fn from(e_tag: ETag) -> Self {
        e_tag.quoted()
    }
}

/// A SHA-256 value: the hash of a log file's decompressed bytes as the forwarder computed it,
/// recorded in the checkpoint table, or as a digest lists it (`hashValue`). Kept as bytes, so
/// two values compare one way whatever the case of the hex they were read from; written as
/// lower-case hex, as CloudTrail writes it.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Sha256([u8; 32]);

impl Sha256 {
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// `None` unless `text` is 64 hex digits (either case).
    pub fn from_hex(text: &str) -> Option<Self> {
        let mut bytes = [0u8; 32];
        hex::decode_to_slice(text, &mut bytes).ok()?;
        Some(Self(bytes))
    }

    /// Whether `hex`, as a digest or a checkpoint records it, names this value.
    pub fn matches(&self, hex: &str) -> bool {
        Self::from_hex(hex).is_some_and(|other| other == *self)
    }
}

impl std::fmt::Display for Sha256 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl std::fmt::Debug for Sha256 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Sha256({self})")
    }
}

impl TryFrom<String> for Sha256 {
    type Error = &'static str;

    fn try_from(text: String) -> Result<Self, Self::Error> {
        Self::from_hex(&text).ok_or("a SHA-256 value is 64 hex digits")
    }
}

impl From<Sha256> for String {
    fn from(hash: Sha256) -> Self {
        hash.to_string()
    }
}

/// Resumes an object where an earlier invocation stopped, sent to `CONTINUATION_QUEUE_URL`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Continuation {
    pub bucket: String,
    /// The key as stored (not encoded).
    pub key: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub e_tag: Option<ETag>,
    /// The first record not yet forwarded.
    pub next_record: u64,
}

/// The body of a continuation message: `{"trailwatchContinuation": {...}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContinuationMessage {
    pub trailwatch_continuation: Continuation,
}

/// The key of a continuation message's body, by which triggers recognise one.
pub(crate) const CONTINUATION_FIELD: &str = "trailwatchContinuation";

impl Continuation {
    /// The SQS message body that carries this continuation.
    pub fn to_message_body(&self) -> Result<String, serde_json::Error> {
        serde_json::to_string(&ContinuationMessage {
            trailwatch_continuation: self.clone(),
        })
    }

    /// Where `object` stands: resume it at `next_record`, pinned to what was read.
    pub fn of(object: &ObjectRef, next_record: u64) -> Self {
        Self {
            bucket: object.bucket.clone(),
            key: object.key.clone(),
            version_id: object.version_id.clone(),
            e_tag: object.e_tag.clone(),
            next_record,
        }
    }
}

/// An S3 object to forward, with its key as stored.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ObjectRef {
    pub bucket: String,
    pub key: String,
    /// Another key to try when `key` is not found (EventBridge keys of unknown encoding).
    pub fallback_key: Option<String>,
    /// Read this version when the notification names one, so a later overwrite is not read.
    pub version_id: Option<String>,
    /// When resuming without a version: read only if the object still has this ETag.
    pub e_tag: Option<ETag>,
    /// Size from the notification, when known.
    pub size: Option<i64>,
    /// Records before this index were forwarded by an earlier invocation.
    pub start_record: u64,
}

impl ObjectRef {
    pub fn new(bucket: impl Into<String>, key: impl Into<String>) -> Self {
        Self {
            bucket: bucket.into(),
            key: key.into(),
            ..Self::default()
        }
    }
}

/// An object as a trigger names it, the key still as the trigger wrote it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NotifiedObject {
    /// What named the object: a notification, or this forwarder's continuation message.
    pub origin: Origin,
    /// The notification's event name, e.g. `ObjectCreated:Put`, when it has one.
    pub event_name: Option<String>,
    pub bucket: String,
    pub encoded_key: String,
    pub key_encoding: KeyEncoding,
    pub version_id: Option<String>,
    pub e_tag: Option<ETag>,
    pub size: Option<i64>,
    pub start_record: u64,
}

/// What named an object to forward.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Origin {
    /// A notification of the trail's bucket (S3, SNS, SQS, EventBridge, CloudTrail's own).
    #[default]
    Notification,
    /// A continuation message: the rest of an object an earlier invocation handed off, from
    /// `start_record` on.
    Continuation,
}

/// A notification whose key does not decode.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the notification's object key does not decode to UTF-8")]
pub struct UndecodableKey;

impl NotifiedObject {
    /// An object named by its stored key (CloudTrail's SNS notification).
    pub fn plain(bucket: &str, key: &str) -> Self {
        Self {
            bucket: bucket.to_owned(),
            encoded_key: key.to_owned(),
            key_encoding: KeyEncoding::Plain,
            ..Self::default()
        }
    }

    pub fn from_continuation(continuation: Continuation) -> Self {
        Self {
            origin: Origin::Continuation,
            event_name: None,
            bucket: continuation.bucket,
            encoded_key: continuation.key,
            key_encoding: KeyEncoding::Plain,
            version_id: continuation.version_id,
            e_tag: continuation.e_tag,
            size: None,
            start_record: continuation.next_record,
        }
    }

    /// The event's name when this notification names nothing to read (a delete, a restore):
    /// only created objects are forwarded.
    pub fn not_created_event(&self) -> Option<&str> {
        let name = self.event_name.as_deref()?;
        let name = name.strip_prefix("s3:").unwrap_or(name);
        (!name.starts_with("ObjectCreated:")).then_some(name)
    }

    /// The object to read, with its key decoded as the trigger encoded it.
    pub fn decode(&self) -> Result<ObjectRef, UndecodableKey> {
        let (key, fallback_key) = match self.key_encoding {
            KeyEncoding::Form => (
                decode_notification_key(&self.encoded_key)
                    .ok_or(UndecodableKey)?
                    .into_owned(),
                None,
            ),
            KeyEncoding::Plain => (self.encoded_key.clone(), None),
            KeyEncoding::PlainThenForm => {
                let decoded = decode_notification_key(&self.encoded_key).map(|k| k.into_owned());
                (
                    self.encoded_key.clone(),
                    decoded.filter(|d| *d != self.encoded_key),
                )
            }
        };
        Ok(ObjectRef {
            bucket: self.bucket.clone(),
            key,
            fallback_key,
            version_id: self.version_id.clone().filter(|v| !v.is_empty()),
            e_tag: self.e_tag.clone(),
            size: self.size,
            start_record: self.start_record,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn notified(key: &str, version: Option<&str>) -> NotifiedObject {
        NotifiedObject {
            event_name: Some("ObjectCreated:Put".into()),
            bucket: "b".into(),
            encoded_key: key.into(),
            version_id: version.map(str::to_owned),
            size: Some(3),
            ..NotifiedObject::default()
        }
    }

    #[test]
    fn a_sha256_compares_by_value_and_is_written_in_lower_case() {
        let lower = "ab".repeat(32);
        let hash = Sha256::from_hex(&lower.to_uppercase()).unwrap();
        assert!(hash.matches(&lower));
        assert!(hash.matches(&lower.to_uppercase()));
        assert!(!hash.matches(&"ac".repeat(32)));
        assert!(!hash.matches("ab"), "too short is no match");
        assert_eq!(hash.to_string(), lower);
        assert_eq!(
            serde_json::to_string(&hash).unwrap(),
            format!("\"{lower}\"")
        );
        assert_eq!(Sha256::from_hex("zz"), None);
    }

    #[test]
    fn keys_are_decoded_and_empty_versions_dropped() {
        let object = notified("a+b%2Bc", Some("")).decode().unwrap();
        assert_eq!(object.key, "a b+c");
        assert_eq!(object.version_id, None);
        assert_eq!(
            notified("k", Some("v1"))
                .decode()
                .unwrap()
                .version_id
                .as_deref(),
            Some("v1")
        );
    }

    #[test]
    fn plain_keys_are_taken_as_they_are() {
        let object = NotifiedObject::plain("b", "a+b%2Bc").decode().unwrap();
        assert_eq!(object.key, "a+b%2Bc");
        assert_eq!(object.fallback_key, None);
    }

    #[test]
    fn eventbridge_keys_fall_back_to_their_decoded_form() {
        let mut object = notified("a+b", None);
        object.key_encoding = KeyEncoding::PlainThenForm;
        let decoded = object.decode().unwrap();
        assert_eq!(
            (decoded.key.as_str(), decoded.fallback_key.as_deref()),
            ("a+b", Some("a b"))
        );
        object.encoded_key = "plain".into();
        assert_eq!(object.decode().unwrap().fallback_key, None);
    }

    #[test]
    fn only_created_objects_are_read() {
        let mut object = notified("k", None);
        assert_eq!(object.not_created_event(), None);
        object.event_name = Some("s3:ObjectCreated:CompleteMultipartUpload".into());
        assert_eq!(object.not_created_event(), None);
        object.event_name = None;
        assert_eq!(object.not_created_event(), None);
        object.event_name = Some("s3:ObjectRemoved:Delete".into());
        assert_eq!(object.not_created_event(), Some("ObjectRemoved:Delete"));
    }

    #[test]
    fn an_undecodable_key_is_an_error() {
        assert_eq!(notified("bad%FF", None).decode(), Err(UndecodableKey));
    }

    #[test]
    fn continuations_resume_at_their_record() {
        let object = NotifiedObject::from_continuation(Continuation {
            bucket: "b".into(),
            key: "a+b".into(),
            version_id: None,
            e_tag: ETag::new("\"abc\""),
            next_record: 812,
        })
        .decode()
        .unwrap();
        assert_eq!((object.key.as_str(), object.start_record), ("a+b", 812));
        assert_eq!(object.e_tag.map(|e| e.quoted()).as_deref(), Some("\"abc\""));
    }

    #[test]
    fn an_etag_is_compared_bare_and_written_quoted() {
        assert_eq!(ETag::new("\"abc\""), ETag::new("abc"));
        assert_eq!(ETag::new(""), None);
        assert_eq!(ETag::new("\"\""), None);
        let continuation = Continuation {
            bucket: "b".into(),
            key: "k".into(),
            version_id: None,
            e_tag: ETag::new("abc"),
            next_record: 1,
        };
        let body = continuation.to_message_body().unwrap();
        assert!(body.contains(r#""eTag":"\"abc\"""#), "{body}");
        let read: ContinuationMessage = serde_json::from_str(&body).unwrap();
        assert_eq!(read.trailwatch_continuation, continuation);
        let unquoted = r#"{"bucket":"b","key":"k","eTag":"abc","nextRecord":1}"#;
        let read: Continuation = serde_json::from_str(unquoted).unwrap();
        assert_eq!(read.e_tag, ETag::new("abc"));
    }
}
