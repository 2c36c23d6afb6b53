//! One CloudTrail record: its text exactly as delivered, and a borrowed view of the fields
//! the product reads. Every field is optional here: Insights and aggregated records lack most
//! of them, and a record is never rejected for a field it does not need.

use std::borrow::Cow;
use std::fmt;

use aws_smithy_types::DateTime;
use aws_smithy_types::date_time::Format;
use std::marker::PhantomData;

use serde::Deserialize;
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

/// The fields of a record that selection, routing and timestamps need.
/// Strings stay open (`Cow<str>`): the vocabularies belong to AWS and grow.
///
/// Read leniently: a field of an unexpected type is ignored (a numeric `errorCode`), booleans
/// may be the strings `"true"` / `"false"` (as `sessionCredentialFromConsole` is written), and
/// of a field written twice (or both `eventID` and `eventId`) the first usable value counts. Only
/// a record that is not a JSON object is refused here; a missing or bad `eventTime` is refused
/// by [`RecordFields::event_time_millis`].
#[derive(Debug, Default)]
pub struct RecordFields<'a> {
    pub event_time: Option<Cow<'a, str>>,
    pub event_version: Option<Cow<'a, str>>,
    pub event_category: Option<Cow<'a, str>>,
    pub event_type: Option<Cow<'a, str>>,
    pub management_event: Option<bool>,
    pub read_only: Option<bool>,
    pub event_source: Option<Cow<'a, str>>,
    pub event_name: Option<Cow<'a, str>>,
    pub aws_region: Option<Cow<'a, str>>,
    pub recipient_account_id: Option<Cow<'a, str>>,
    /// `accountId`: aggregated records name their account here (they have no
    /// `recipientAccountId`).
    pub account_id: Option<Cow<'a, str>>,
    /// `eventID`; aggregated records spell it `eventId`.
    pub event_id: Option<Cow<'a, str>>,
    pub resources: Option<Vec<Resource<'a>>>,
    pub user_identity: Option<UserIdentity<'a>>,
    pub error_code: Option<Cow<'a, str>>,
    pub vpc_endpoint_id: Option<Cow<'a, str>>,
    /// The string `"true"` in real records (present only when true); booleans accepted too.
    pub session_credential_from_console: Option<bool>,
}

#[derive(Debug, Default)]
pub struct Resource<'a> {
    pub resource_type: Option<Cow<'a, str>>,
    pub arn: Option<Cow<'a, str>>,
}

#[derive(Debug, Default)]
pub struct UserIdentity<'a> {
    pub arn: Option<Cow<'a, str>>,
}

/// Why a record's fields cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    #[error("the record is not a JSON object with the expected field types: {0}")]
    Shape(#[source] serde_json::Error),
    #[error("the record has no eventTime (nor, for an aggregated event, timeWindow.windowStart)")]
    MissingEventTime,
    #[error("the record's eventTime (or timeWindow.windowStart) is not an ISO-8601 UTC time")]
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

    /// The record's time for CloudWatch Logs: `eventTime`; for an aggregated event, which has
    /// none, the start of its window (`timeWindow.windowStart`), read from `text` (the record
    /// this view was read from). Aggregated records are 5-minute summaries, few beside the
    /// events: reading their window apart costs the hot path nothing.
    pub fn timestamp_millis(&self, text: &str) -> Result<i64, RecordError> {
        if self.event_time.is_some() || self.category() != EventCategory::Aggregated {
            return self.event_time_millis();
        }
        #[derive(Deserialize)]
        struct Aggregated<'t> {
            #[serde(rename = "timeWindow", borrow)]
            window: Window<'t>,
        }
        #[derive(Deserialize)]
        struct Window<'t> {
            #[serde(rename = "windowStart", borrow)]
            start: Cow<'t, str>,
        }
        let start = serde_json::from_str::<Aggregated<'_>>(text)
            .map_err(|_| RecordError::MissingEventTime)?
            .window
            .start;
        let time = DateTime::from_str(&start, Format::DateTime)
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

/// Visitor methods for the JSON values a lenient field ignores: numbers and null (and booleans
/// with `ignore_scalars!`) become `$value`.
macro_rules! ignore_numbers {
    ($value:expr) => {
        fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
            Ok($value)
        }
        fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
            Ok($value)
        }
        fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
            Ok($value)
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok($value)
        }
    };
}

macro_rules! ignore_scalars {
    ($value:expr) => {
        fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
            Ok($value)
        }
        ignore_numbers!($value);
    };
}

impl<'de: 'a, 'a> Deserialize<'de> for RecordFields<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Fields<'a>(PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for Fields<'a> {
            type Value = RecordFields<'a>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a CloudTrail record (a JSON object)")
            }
            fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<Self::Value, M::Error> {
                let mut record = RecordFields::default();
                while let Some(Text(key)) = map.next_key::<Text<'de>>()? {
                    let text = match key.as_deref() {
                        Some("eventTime") => &mut record.event_time,
                        Some("eventVersion") => &mut record.event_version,
                        Some("eventCategory") => &mut record.event_category,
                        Some("eventType") => &mut record.event_type,
                        Some("eventSource") => &mut record.event_source,
                        Some("eventName") => &mut record.event_name,
                        Some("awsRegion") => &mut record.aws_region,
                        Some("recipientAccountId") => &mut record.recipient_account_id,
                        Some("accountId") => &mut record.account_id,
                        Some("eventID" | "eventId") => &mut record.event_id,
                        Some("errorCode") => &mut record.error_code,
                        Some("vpcEndpointId") => &mut record.vpc_endpoint_id,
                        Some(other) => {
                            let flag = match other {
                                "managementEvent" => &mut record.management_event,
                                "readOnly" => &mut record.read_only,
                                "sessionCredentialFromConsole" => {
                                    &mut record.session_credential_from_console
                                }
                                "resources" => {
                                    let Resources(found) = map.next_value()?;
                                    record.resources = record.resources.or(found);
                                    continue;
                                }
                                "userIdentity" => {
                                    let Identity(found) = map.next_value()?;
                                    record.user_identity = record.user_identity.or(found);
                                    continue;
                                }
                                _ => {
                                    map.next_value::<IgnoredAny>()?;
                                    continue;
                                }
                            };
                            let Flag(value) = map.next_value()?;
                            *flag = flag.or(value);
                            continue;
                        }
                        None => {
                            map.next_value::<IgnoredAny>()?;
                            continue;
                        }
                    };
                    let Text(value) = map.next_value()?;
                    if text.is_none() {
                        *text = value;
                    }
                }
                Ok(record)
            }
        }
        deserializer.deserialize_map(Fields(PhantomData))
    }
}

/// A string, borrowed from the input when it has no escapes; any other JSON value is `None`.
struct Text<'a>(Option<Cow<'a, str>>);

impl<'de: 'a, 'a> Deserialize<'de> for Text<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visit<'a>(PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for Visit<'a> {
            type Value = Text<'a>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_borrowed_str<E: de::Error>(self, value: &'de str) -> Result<Self::Value, E> {
                Ok(Text(Some(Cow::Borrowed(value))))
            }
            fn visit_str<E: de::Error>(self, value: &str) -> Result<Self::Value, E> {
                Ok(Text(Some(Cow::Owned(value.to_owned()))))
            }
            ignore_scalars!(Text(None));
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
                IgnoredAny.visit_seq(seq).map(|_| Text(None))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                IgnoredAny.visit_map(map).map(|_| Text(None))
            }
        }
        deserializer.deserialize_any(Visit(PhantomData))
    }
}

/// A boolean, or the strings `"true"` / `"false"`; any other JSON value is `None`.
struct Flag(Option<bool>);

impl<'de> Deserialize<'de> for Flag {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visit;
        impl<'de> Visitor<'de> for Visit {
            type Value = Flag;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_bool<E: de::Error>(self, value: bool) -> Result<Self::Value, E> {
                Ok(Flag(Some(value)))
            }
            fn visit_str<E: de::Error>(self, value: &str) -> Result<Self::Value, E> {
                Ok(Flag(match value {
                    "true" => Some(true),
                    "false" => Some(false),
                    _ => None,
                }))
            }
            ignore_numbers!(Flag(None));
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
                IgnoredAny.visit_seq(seq).map(|_| Flag(None))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                IgnoredAny.visit_map(map).map(|_| Flag(None))
            }
        }
        deserializer.deserialize_any(Visit)
    }
}

/// `resources`: a list of objects with `type` and `ARN`; anything else is `None`, and an entry
/// that is not an object is a resource with neither.
struct Resources<'a>(Option<Vec<Resource<'a>>>);

impl<'de: 'a, 'a> Deserialize<'de> for Resources<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visit<'a>(PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for Visit<'a> {
            type Value = Resources<'a>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut resources = Vec::new();
                while let Some(Entries(entries)) = seq.next_element::<Entries<'de>>()? {
                    let mut resource = Resource::default();
                    for (key, value) in entries {
                        let slot = match key.as_ref() {
                            "type" => &mut resource.resource_type,
                            "ARN" => &mut resource.arn,
                            _ => continue,
                        };
                        if slot.is_none() {
                            *slot = value;
                        }
                    }
                    resources.push(resource);
                }
                Ok(Resources(Some(resources)))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                IgnoredAny.visit_map(map).map(|_| Resources(None))
            }
            fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
                Ok(Resources(None))
            }
            ignore_scalars!(Resources(None));
        }
        deserializer.deserialize_any(Visit(PhantomData))
    }
}

/// `userIdentity`: an object whose `arn` is read; anything else is `None`.
struct Identity<'a>(Option<UserIdentity<'a>>);

impl<'de: 'a, 'a> Deserialize<'de> for Identity<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let Entries(entries) = Entries::deserialize(deserializer)?;
        let mut identity: Option<UserIdentity<'a>> = None;
        for (key, value) in entries {
            let found = identity.get_or_insert_with(UserIdentity::default);
            if key == "arn" && found.arn.is_none() {
                found.arn = value;
            }
        }
        Ok(Identity(identity))
    }
}

/// The string-valued entries of an object whose keys we read (`type`, `ARN`, `arn`); the other
/// values are skipped. Anything but an object has no entries.
struct Entries<'a>(Vec<(Cow<'a, str>, Option<Cow<'a, str>>)>);

impl<'de: 'a, 'a> Deserialize<'de> for Entries<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visit<'a>(PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for Visit<'a> {
            type Value = Entries<'a>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut entries = Vec::new();
                while let Some(Text(key)) = map.next_key::<Text<'de>>()? {
                    match key {
                        Some(key) if matches!(key.as_ref(), "type" | "ARN" | "arn") => {
                            let Text(value) = map.next_value()?;
                            entries.push((key, value));
                        }
                        _ => {
                            map.next_value::<IgnoredAny>()?;
                        }
                    }
                }
                Ok(Entries(entries))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
                IgnoredAny.visit_seq(seq).map(|_| Entries(Vec::new()))
            }
            fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
                Ok(Entries(Vec::new()))
            }
            ignore_scalars!(Entries(Vec::new()));
        }
        deserializer.deserialize_any(Visit(PhantomData))
    }
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
    }

    #[test]
    fn fields_of_unexpected_types_or_written_twice_are_read_leniently() {
        let fields = RecordFields::parse(
            r#"{"eventTime":"2024-03-01T12:34:56Z","eventTime":"later","managementEvent":"true","errorCode":403,"readOnly":"maybe","eventID":"a","eventId":"b","userIdentity":"root","resources":{"type":"x"},"eventName":["RunInstances"]}"#,
        )
        .unwrap();
        assert_eq!(fields.event_time_millis().unwrap(), 1_709_296_496_000);
        assert_eq!(fields.management_event, Some(true));
        assert_eq!((fields.error_code, fields.read_only), (None, None));
        assert_eq!(fields.event_id.as_deref(), Some("a"));
        assert!(fields.user_identity.is_none() && fields.resources.is_none());
        assert!(fields.event_name.is_none());
        let entries =
            RecordFields::parse(r#"{"resources":[7,{"type":1,"ARN":"arn:x","type":"T"}]}"#)
                .unwrap();
        let resources = entries.resources.unwrap();
        assert_eq!(resources.len(), 2);
        assert_eq!(
            (
                resources[1].resource_type.as_deref(),
                resources[1].arn.as_deref()
            ),
            (Some("T"), Some("arn:x"))
        );
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
