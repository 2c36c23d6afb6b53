//! One CloudTrail record: its text exactly as delivered, and a borrowed view of the fields
//! the product reads. Every field is optional here: Insights and aggregated records lack most
//! of them, and a record is never rejected for a field it does not need.

use std::borrow::Cow;
use std::fmt;

use aws_smithy_types::DateTime;
use aws_smithy_types::date_time::Format;
use serde::Deserialize;
use serde::de::{self, Deserializer, Visitor};

/// The fields of a record that selection, routing and timestamps need.
/// Strings stay open (`Cow<str>`): the vocabularies belong to AWS and grow.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RecordFields<'a> {
    #[serde(default, borrow, deserialize_with = "borrowed_text")]
    pub event_time: Option<Cow<'a, str>>,
    #[serde(default, borrow, deserialize_with = "borrowed_text")]
    pub event_version: Option<Cow<'a, str>>,
    #[serde(default, borrow, deserialize_with = "borrowed_text")]
    pub event_category: Option<Cow<'a, str>>,
    #[serde(default, borrow, deserialize_with = "borrowed_text")]
    pub event_type: Option<Cow<'a, str>>,
    pub management_event: Option<bool>,
    /// A JSON boolean in log files; `"true"`/`"false"` strings are accepted too.
    #[serde(default, deserialize_with = "lenient_bool")]
    pub read_only: Option<bool>,
    #[serde(default, borrow, deserialize_with = "borrowed_text")]
    pub event_source: Option<Cow<'a, str>>,
    #[serde(default, borrow, deserialize_with = "borrowed_text")]
    pub event_name: Option<Cow<'a, str>>,
    #[serde(default, borrow, deserialize_with = "borrowed_text")]
    pub aws_region: Option<Cow<'a, str>>,
    #[serde(default, borrow, deserialize_with = "borrowed_text")]
    pub recipient_account_id: Option<Cow<'a, str>>,
    /// `eventID`; aggregated records spell it `eventId`.
    #[serde(
        default,
        borrow,
        rename = "eventID",
        alias = "eventId",
        deserialize_with = "borrowed_text"
    )]
    pub event_id: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    pub resources: Option<Vec<Resource<'a>>>,
    #[serde(default, borrow)]
    pub user_identity: Option<UserIdentity<'a>>,
    #[serde(default, borrow, deserialize_with = "borrowed_text")]
    pub error_code: Option<Cow<'a, str>>,
    #[serde(default, borrow, deserialize_with = "borrowed_text")]
    pub vpc_endpoint_id: Option<Cow<'a, str>>,
    /// The string `"true"` in real records (present only when true); booleans accepted too.
    #[serde(default, deserialize_with = "lenient_bool")]
    pub session_credential_from_console: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
pub struct Resource<'a> {
    #[serde(default, borrow, rename = "type", deserialize_with = "borrowed_text")]
    pub resource_type: Option<Cow<'a, str>>,
    #[serde(default, borrow, rename = "ARN", deserialize_with = "borrowed_text")]
    pub arn: Option<Cow<'a, str>>,
}

#[derive(Debug, Default, Deserialize)]
pub struct UserIdentity<'a> {
    #[serde(default, borrow, deserialize_with = "borrowed_text")]
    pub arn: Option<Cow<'a, str>>,
}

/// Why a record's fields cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    #[error("the record is not a JSON object with the expected field types: {0}")]
    Shape(#[source] serde_json::Error),
    #[error("the record has no eventTime")]
    MissingEventTime,
    #[error("the record's eventTime is not an ISO-8601 UTC time")]
    InvalidEventTime,
}

impl<'a> RecordFields<'a> {
    /// Reads the view from one record's JSON text; the view borrows from `text`.
    pub fn parse(text: &'a str) -> Result<Self, RecordError> {
        serde_json::from_str(text).map_err(RecordError::Shape)
    }

    /// `eventTime` in milliseconds since the Unix epoch.
    pub fn event_time_millis(&self) -> Result<i64, RecordError> {
        let text = self
            .event_time
            .as_deref()
            .ok_or(RecordError::MissingEventTime)?;
        let time = DateTime::from_str(text, Format::DateTime)
            .map_err(|_| RecordError::InvalidEventTime)?;
        time.to_millis().map_err(|_| RecordError::InvalidEventTime)
    }

    /// The record's category: `eventCategory` when present, otherwise derived the way
    /// CloudTrail filled it before eventVersion 1.07.
    pub fn category(&self) -> EventCategory {
        if let Some(category) = self.event_category.as_deref() {
            return EventCategory::from_field(category);
        }
        if self.event_type.as_deref() == Some("AwsCloudTrailInsight") {
            EventCategory::Insight
        } else if self.management_event == Some(false) {
            EventCategory::Data
        } else {
            EventCategory::Management
        }
    }
}

/// CloudTrail's event categories. `Other` keeps a value this build does not know.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EventCategory {
    Management,
    Data,
    Insight,
    NetworkActivity,
    Aggregated,
    Other,
}

impl EventCategory {
    pub fn from_field(value: &str) -> Self {
        match value {
            "Management" => Self::Management,
            "Data" => Self::Data,
            "Insight" => Self::Insight,
            "NetworkActivity" => Self::NetworkActivity,
            "Aggregated" => Self::Aggregated,
            _ => Self::Other,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Management => "Management",
            Self::Data => "Data",
            Self::Insight => "Insight",
            Self::NetworkActivity => "NetworkActivity",
            Self::Aggregated => "Aggregated",
            Self::Other => "Other",
        }
    }
}

impl fmt::Display for EventCategory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `Option<Cow<str>>` that borrows from the input when the string has no escapes (serde's
/// derive only borrows a bare `Cow<str>`; inside `Option` it always allocates).
fn borrowed_text<'de: 'a, 'a, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Cow<'a, str>>, D::Error> {
    struct Text;
    impl<'de> Visitor<'de> for Text {
        type Value = Option<Cow<'de, str>>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a string or null")
        }
        fn visit_borrowed_str<E: de::Error>(self, value: &'de str) -> Result<Self::Value, E> {
            Ok(Some(Cow::Borrowed(value)))
        }
        fn visit_str<E: de::Error>(self, value: &str) -> Result<Self::Value, E> {
            Ok(Some(Cow::Owned(value.to_owned())))
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
    }
    deserializer.deserialize_any(Text)
}

fn lenient_bool<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<bool>, D::Error> {
    struct LenientBool;
    impl<'de> Visitor<'de> for LenientBool {
        type Value = Option<bool>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a boolean or the string \"true\" or \"false\"")
        }
        fn visit_bool<E: de::Error>(self, value: bool) -> Result<Self::Value, E> {
            Ok(Some(value))
        }
        fn visit_str<E: de::Error>(self, value: &str) -> Result<Self::Value, E> {
            match value {
                "true" => Ok(Some(true)),
                "false" => Ok(Some(false)),
                _ => Err(E::invalid_value(de::Unexpected::Str(value), &self)),
            }
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
    }
    deserializer.deserialize_any(LenientBool)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MANAGEMENT: &str = r#"{"eventVersion":"1.11","userIdentity":{"type":"AssumedRole","arn":"arn:aws:sts::111122223333:assumed-role/Admin/alice","sessionContext":{"attributes":{"mfaAuthenticated":"false"}}},"eventTime":"2024-03-01T12:34:56Z","eventSource":"ec2.amazonaws.com","eventName":"RunInstances","awsRegion":"us-east-1","sourceIPAddress":"198.51.100.7","requestParameters":{"instanceType":"t3.micro"},"responseElements":null,"requestID":"r","eventID":"e1","readOnly":false,"eventType":"AwsApiCall","managementEvent":true,"recipientAccountId":"111122223333","eventCategory":"Management","sessionCredentialFromConsole":"true","tlsDetails":{"tlsVersion":"TLSv1.3"},"futureField":[1,2,{"x":null}]}"#;

    #[test]
    fn fields_are_read_and_unknown_fields_ignored() {
        let fields = RecordFields::parse(MANAGEMENT).unwrap();
        assert_eq!(fields.event_name.as_deref(), Some("RunInstances"));
        assert_eq!(fields.event_source.as_deref(), Some("ec2.amazonaws.com"));
        assert_eq!(fields.read_only, Some(false));
        assert_eq!(fields.session_credential_from_console, Some(true));
        assert_eq!(
            fields.user_identity.unwrap().arn.as_deref(),
            Some("arn:aws:sts::111122223333:assumed-role/Admin/alice")
        );
        assert_eq!(fields.recipient_account_id.as_deref(), Some("111122223333"));
    }

    #[test]
    fn fields_borrow_from_the_text_when_unescaped() {
        let fields = RecordFields::parse(MANAGEMENT).unwrap();
        assert!(matches!(fields.event_name, Some(Cow::Borrowed(_))));
    }

    #[test]
    fn event_time_is_converted_to_epoch_millis() {
        let fields = RecordFields::parse(MANAGEMENT).unwrap();
        assert_eq!(fields.event_time_millis().unwrap(), 1_709_296_496_000);
        let fractional =
            RecordFields::parse(r#"{"eventTime":"2024-03-01T12:34:56.789Z"}"#).unwrap();
        assert_eq!(fractional.event_time_millis().unwrap(), 1_709_296_496_789);
    }

    #[test]
    fn missing_or_invalid_event_time_is_an_error() {
        let missing = RecordFields::parse(r#"{"eventName":"x"}"#).unwrap();
        assert!(matches!(
            missing.event_time_millis(),
            Err(RecordError::MissingEventTime)
        ));
        let invalid = RecordFields::parse(r#"{"eventTime":"yesterday"}"#).unwrap();
        assert!(matches!(
            invalid.event_time_millis(),
            Err(RecordError::InvalidEventTime)
        ));
    }

    #[test]
    fn a_record_that_is_not_an_object_is_a_shape_error() {
        assert!(matches!(
            RecordFields::parse("[1,2]"),
            Err(RecordError::Shape(_))
        ));
        assert!(matches!(
            RecordFields::parse(r#"{"readOnly":"maybe"}"#),
            Err(RecordError::Shape(_))
        ));
    }

    #[test]
    fn category_comes_from_event_category_when_present() {
        for (value, expected) in [
            ("Management", EventCategory::Management),
            ("Data", EventCategory::Data),
            ("Insight", EventCategory::Insight),
            ("NetworkActivity", EventCategory::NetworkActivity),
            ("Aggregated", EventCategory::Aggregated),
            ("SomethingNew", EventCategory::Other),
        ] {
            let text = format!(r#"{{"eventCategory":"{value}","managementEvent":false}}"#);
            assert_eq!(
                RecordFields::parse(&text).unwrap().category(),
                expected,
                "{value}"
            );
        }
    }

    #[test]
    fn category_is_derived_for_records_before_event_category_existed() {
        let derive = |text: &str| RecordFields::parse(text).unwrap().category();
        assert_eq!(
            derive(r#"{"eventType":"AwsCloudTrailInsight"}"#),
            EventCategory::Insight
        );
        assert_eq!(derive(r#"{"managementEvent":false}"#), EventCategory::Data);
        assert_eq!(
            derive(r#"{"managementEvent":true}"#),
            EventCategory::Management
        );
        assert_eq!(
            derive(r#"{"eventType":"AwsApiCall"}"#),
            EventCategory::Management
        );
    }

    #[test]
    fn resources_and_aggregated_event_id_are_read() {
        let fields = RecordFields::parse(
            r#"{"eventId":"agg-1","resources":[{"type":"AWS::S3::Object","ARN":"arn:aws:s3:::b/k"},{"accountId":"1"}]}"#,
        )
        .unwrap();
        assert_eq!(fields.event_id.as_deref(), Some("agg-1"));
        let resources = fields.resources.unwrap();
        assert_eq!(
            resources[0].resource_type.as_deref(),
            Some("AWS::S3::Object")
        );
        assert_eq!(resources[0].arn.as_deref(), Some("arn:aws:s3:::b/k"));
        assert!(resources[1].arn.is_none());
    }
}
