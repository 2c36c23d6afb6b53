//! The object to read, as a trigger names it.

use crate::trail::decode_notification_key;

/// An S3 object, with its key decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectRef {
    pub bucket: String,
    pub key: String,
    /// Read this version when the notification names one, so a later overwrite is not read.
    pub version_id: Option<String>,
    /// Size from the notification, when known.
    pub size: Option<i64>,
}

/// An object as an S3 event notification names it: the key still form-URL-encoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotifiedObject {
    /// The notification's event name, e.g. `ObjectCreated:Put`, when it has one.
    pub event_name: Option<String>,
    pub bucket: String,
    pub encoded_key: String,
    pub version_id: Option<String>,
    pub size: Option<i64>,
}

/// A notification whose key does not decode.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the notification's object key does not decode to UTF-8")]
pub struct UndecodableKey;

impl NotifiedObject {
    /// Why this notification names nothing to read: only created objects are forwarded.
    pub fn skip_reason(&self) -> Option<String> {
        let name = self.event_name.as_deref()?;
        let name = name.strip_prefix("s3:").unwrap_or(name);
        (!name.starts_with("ObjectCreated:"))
            .then(|| format!("not an ObjectCreated notification ({name})"))
    }

    /// Decodes the key.
    pub fn decode(&self) -> Result<ObjectRef, UndecodableKey> {
        match decode_notification_key(&self.encoded_key) {
            Some(key) => Ok(ObjectRef {
                key: key.into_owned(),
                bucket: self.bucket.clone(),
                version_id: self.version_id.clone().filter(|v| !v.is_empty()),
                size: self.size,
            }),
            None => Err(UndecodableKey),
        }
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
        }
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
    fn only_created_objects_are_read() {
        let mut object = notified("k", None);
        assert_eq!(object.skip_reason(), None);
        object.event_name = Some("s3:ObjectCreated:CompleteMultipartUpload".into());
        assert_eq!(object.skip_reason(), None);
        object.event_name = None;
        assert_eq!(object.skip_reason(), None);
        object.event_name = Some("ObjectRemoved:Delete".into());
        assert_eq!(
            object.skip_reason().as_deref(),
            Some("not an ObjectCreated notification (ObjectRemoved:Delete)")
        );
    }

    #[test]
    fn an_undecodable_key_is_an_error() {
        assert_eq!(notified("bad%FF", None).decode(), Err(UndecodableKey));
    }
}
