//! Event selectors as CloudTrail's API writes them (PascalCase), so the output of
//! `aws cloudtrail get-event-selectors`, a bare `EventSelectors` or `AdvancedEventSelectors`
//! array, and the `AWS::CloudTrail::Trail` properties all deserialize directly.
//! Shapes: https://docs.aws.amazon.com/awscloudtrail/latest/APIReference/API_PutEventSelectors.html

use serde::Deserialize;
use serde_json::Value;

use super::error::SelectorError;

/// A basic event selector.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct EventSelector {
    pub read_write_type: Option<String>,
    pub include_management_events: Option<bool>,
    #[serde(default)]
    pub data_resources: Vec<DataResource>,
    #[serde(default)]
    pub exclude_management_event_sources: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DataResource {
    #[serde(rename = "Type")]
    pub resource_type: String,
    #[serde(default)]
    pub values: Vec<String>,
}

/// An advanced event selector.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AdvancedEventSelector {
    pub name: Option<String>,
    #[serde(default)]
    pub field_selectors: Vec<AdvancedFieldSelector>,
}

/// One condition of an advanced selector. `Field` stays a string: validation names it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AdvancedFieldSelector {
    pub field: String,
    pub equals: Option<Vec<String>>,
    pub starts_with: Option<Vec<String>>,
    pub ends_with: Option<Vec<String>>,
    pub not_equals: Option<Vec<String>>,
    pub not_starts_with: Option<Vec<String>>,
    pub not_ends_with: Option<Vec<String>>,
}

/// The selectors of one trail (or route): basic or advanced, never both.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SelectorSet {
    Basic(Vec<EventSelector>),
    Advanced(Vec<AdvancedEventSelector>),
}

/// The object form: `get-event-selectors` output (with `TrailARN`) or trail properties.
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct SelectorObject {
    event_selectors: Option<Vec<EventSelector>>,
    advanced_event_selectors: Option<Vec<AdvancedEventSelector>>,
}

impl SelectorSet {
    /// Reads any of the accepted JSON shapes.
    pub fn from_json(text: &str) -> Result<Self, SelectorError> {
        let value: Value = serde_json::from_str(text)
            .map_err(|e| SelectorError::new(None, None, format!("is not valid JSON: {e}")))?;
        Self::from_value(value)
    }

    pub fn from_value(value: Value) -> Result<Self, SelectorError> {
        let shape = |e: serde_json::Error| {
            SelectorError::new(None, None, format!("has an unexpected shape: {e}"))
        };
        match value {
            Value::Array(items) => {
                // A bare array: advanced selectors have FieldSelectors, basic ones never do.
                let advanced = items
                    .iter()
                    .any(|item| item.get("FieldSelectors").is_some());
                if advanced {
                    serde_json::from_value(Value::Array(items))
                        .map(Self::Advanced)
                        .map_err(shape)
                } else {
                    serde_json::from_value(Value::Array(items))
                        .map(Self::Basic)
                        .map_err(shape)
                }
            }
            Value::Object(_) => {
                let object: SelectorObject = serde_json::from_value(value).map_err(shape)?;
                match (object.event_selectors, object.advanced_event_selectors) {
                    (Some(basic), Some(advanced)) if !basic.is_empty() && !advanced.is_empty() => {
                        Err(SelectorError::new(
                            None,
                            None,
                            "gives both EventSelectors and AdvancedEventSelectors; CloudTrail takes one or the other".to_owned(),
                        ))
                    }
                    (_, Some(advanced)) if !advanced.is_empty() => Ok(Self::Advanced(advanced)),
                    (Some(basic), _) => Ok(Self::Basic(basic)),
                    (None, Some(advanced)) => Ok(Self::Advanced(advanced)),
                    (None, None) => Err(SelectorError::new(
                        None,
                        None,
                        "has neither EventSelectors nor AdvancedEventSelectors".to_owned(),
                    )),
                }
            }
            _ => Err(SelectorError::new(
                None,
                None,
                "must be a JSON object or array".to_owned(),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn get_event_selectors_output_with_basic_selectors() {
        // As printed by `aws cloudtrail get-event-selectors --trail-name management-events`.
        let text = r#"{
            "TrailARN": "arn:aws:cloudtrail:us-east-1:111122223333:trail/management-events",
            "EventSelectors": [
                {
                    "ReadWriteType": "All",
                    "IncludeManagementEvents": true,
                    "DataResources": [
                        { "Type": "AWS::S3::Object", "Values": ["arn:aws:s3:::amzn-s3-demo-bucket/"] }
                    ],
                    "ExcludeManagementEventSources": []
                }
            ]
        }"#;
        let SelectorSet::Basic(selectors) = SelectorSet::from_json(text).unwrap() else {
            panic!("expected basic selectors")
        };
        assert_eq!(selectors[0].read_write_type.as_deref(), Some("All"));
        assert_eq!(
            selectors[0].data_resources[0].values,
            vec!["arn:aws:s3:::amzn-s3-demo-bucket/"]
        );
    }

    #[test]
    fn get_event_selectors_output_with_advanced_selectors() {
        let text = r#"{
            "TrailARN": "arn:aws:cloudtrail:us-east-1:111122223333:trail/data-events",
            "AdvancedEventSelectors": [
                {
                    "Name": "Log all S3 data events on one bucket",
                    "FieldSelectors": [
                        { "Field": "eventCategory", "Equals": ["Data"] },
                        { "Field": "resources.type", "Equals": ["AWS::S3::Object"] },
                        { "Field": "resources.ARN", "StartsWith": ["arn:aws:s3:::amzn-s3-demo-bucket/"] }
                    ]
                }
            ]
        }"#;
        let SelectorSet::Advanced(selectors) = SelectorSet::from_json(text).unwrap() else {
            panic!("expected advanced selectors")
        };
        assert_eq!(selectors[0].field_selectors.len(), 3);
        assert_eq!(
            selectors[0].field_selectors[2]
                .starts_with
                .as_ref()
                .unwrap()
                .len(),
            1
        );
    }

    #[test]
    fn bare_arrays_of_either_kind() {
        let basic = r#"[{"ReadWriteType": "WriteOnly", "IncludeManagementEvents": true}]"#;
        assert!(matches!(
            SelectorSet::from_json(basic).unwrap(),
            SelectorSet::Basic(_)
        ));
        let advanced =
            r#"[{"FieldSelectors": [{"Field": "eventCategory", "Equals": ["Management"]}]}]"#;
        assert!(matches!(
            SelectorSet::from_json(advanced).unwrap(),
            SelectorSet::Advanced(_)
        ));
    }

    #[test]
    fn trail_properties_shape_from_cloudformation() {
        // The EventSelectors / AdvancedEventSelectors properties of AWS::CloudTrail::Trail,
        // converted from YAML to JSON.
        let text = r#"{"AdvancedEventSelectors": [{"Name": "mgmt", "FieldSelectors": [{"Field": "eventCategory", "Equals": ["Management"]}, {"Field": "readOnly", "Equals": ["false"]}]}]}"#;
        assert!(matches!(
            SelectorSet::from_json(text).unwrap(),
            SelectorSet::Advanced(_)
        ));
    }

    #[test]
    fn both_kinds_at_once_is_an_error() {
        let text = r#"{"EventSelectors": [{"ReadWriteType": "All"}], "AdvancedEventSelectors": [{"FieldSelectors": [{"Field": "eventCategory", "Equals": ["Data"]}]}]}"#;
        let error = SelectorSet::from_json(text).unwrap_err();
        assert!(error.to_string().contains("both"), "{error}");
    }

    #[test]
    fn shapes_that_are_not_selectors_are_errors() {
        for text in ["3", "{}", "{not json", r#"[{"ReadWriteType": 5}]"#] {
            assert!(SelectorSet::from_json(text).is_err(), "{text}");
        }
    }
}
