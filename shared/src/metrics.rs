//! CloudWatch embedded metric format (EMF): one JSON log line per invocation that CloudWatch
//! turns into metrics, so users can alarm on failed objects, rejected records, delivery lag and
//! integrity failures. One builder for both functions.
//! Format: https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html

use serde_json::{Map, Value, json};

use crate::logs::RejectedReasons;
use crate::summary::ForwardSummary;

/// One metric of a line: name, unit, value.
pub(crate) type Metric = (&'static str, &'static str, Value);

/// The EMF line: the metrics under `namespace` with the `FunctionName` dimension, and
/// `properties` as plain fields beside them.
pub(crate) fn emf_line(
    namespace: &str,
    function_name: &str,
    now_millis: i64,
    metrics: Vec<Metric>,
    properties: &[(&str, Value)],
) -> String {
    line_with_dimensions(
        namespace,
        &[("FunctionName", function_name)],
        now_millis,
        metrics,
        properties,
    )
}

/// An EMF line whose metrics carry `dimensions` (names and values), all in one dimension set.
pub(crate) fn line_with_dimensions(
    namespace: &str,
    dimensions: &[(&str, &str)],
    now_millis: i64,
    metrics: Vec<Metric>,
    properties: &[(&str, Value)],
) -> String {
    let mut line = Map::new();
    line.insert(
        "_aws".into(),
        json!({
            "Timestamp": now_millis,
            "CloudWatchMetrics": [{
                "Namespace": namespace,
                "Dimensions": [dimensions.iter().map(|(name, _)| *name).collect::<Vec<_>>()],
                "Metrics": metrics.iter().map(|(name, unit, _)| json!({"Name": name, "Unit": unit})).collect::<Vec<_>>(),
            }],
        }),
    );
    for (name, value) in dimensions {
        line.insert((*name).into(), json!(value));
    }
    for (name, value) in properties {
        line.insert((*name).into(), value.clone());
    }
    for (name, _, value) in metrics {
        line.insert(name.into(), value);
    }
    Value::Object(line).to_string()
}

/// The forwarder's metrics for one invocation. `failed_messages`: SQS messages reported for
/// retry.
pub(crate) fn forwarder_metrics(
    summary: &ForwardSummary,
    failed_messages: usize,
    now_millis: i64,
) -> Vec<Metric> {
    let reasons = summary
        .objects
        .iter()
        .fold(RejectedReasons::default(), |mut all, object| {
            all.add(&object.rejected_reasons);
            all
        });
    let handed_off = summary
        .objects
        .iter()
        .filter(|o| o.handed_off_at.is_some())
        .count();
    let mut metrics: Vec<Metric> = vec![
        ("RecordsIn", "Count", json!(summary.records)),
        ("Forwarded", "Count", json!(summary.forwarded)),
        ("Filtered", "Count", json!(summary.filtered)),
        ("Rejected", "Count", json!(summary.rejected)),
        ("RejectedTooOld", "Count", json!(reasons.too_old)),
        ("RejectedTooNew", "Count", json!(reasons.too_new)),
        ("RejectedExpired", "Count", json!(reasons.expired)),
        ("RejectedTooLarge", "Count", json!(reasons.too_large)),
        (
            "RejectedInvalidRecord",
            "Count",
            json!(reasons.invalid_record),
        ),
        (
            "RejectedNotDelivered",
            "Count",
            json!(reasons.not_delivered),
        ),
        ("RejectedRefused", "Count", json!(reasons.refused)),
        ("ObjectsFailed", "Count", json!(summary.failed_objects)),
        ("ObjectsSkipped", "Count", json!(summary.skipped_objects)),
        ("ObjectsHandedOff", "Count", json!(handed_off)),
        (
            "ObjectsAlreadyForwarded",
            "Count",
            json!(summary.already_forwarded_objects),
        ),
        (
            "ObjectsRewritten",
            "Count",
            json!(summary.rewritten_objects),
        ),
        ("MessagesFailed", "Count", json!(failed_messages)),
        ("BytesRead", "Bytes", json!(summary.bytes_read)),
    ];
    if let Some(oldest) = summary.oldest_event_millis {
        metrics.push((
            "DeliveryLag",
            "Seconds",
            json!((now_millis - oldest).max(0) as f64 / 1000.0),
        ));
    }
    metrics
}

/// The forwarder's EMF line for one invocation.
pub fn forwarder_emf_line(
    summary: &ForwardSummary,
    failed_messages: usize,
    namespace: &str,
    function_name: &str,
    now_millis: i64,
) -> String {
    let dry_run = [("DryRun", json!(true))];
    let properties: &[(&str, Value)] = if summary.dry_run { &dry_run } else { &[] };
    emf_line(
        namespace,
        function_name,
        now_millis,
        forwarder_metrics(summary, failed_messages, now_millis),
        properties,
    )
}

/// The metric names an EMF line declares, in order (for tests of each function's line).
#[cfg(test)]
#[allow(clippy::unwrap_used)]
pub(crate) fn declared(line: &Value) -> Vec<&str> {
    line["_aws"]["CloudWatchMetrics"][0]["Metrics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["Name"].as_str().unwrap())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::summary::ObjectSummary;

    #[test]
    fn the_forwarder_line_declares_and_carries_every_metric() {
        let mut object = ObjectSummary::new("b", "k", crate::trail::FileKind::Log);
        object.records = 10;
        object.forwarded = 7;
        object.add_rejected(&RejectedReasons {
            too_old: 2,
            invalid_record: 1,
            ..Default::default()
        });
        object.bytes_read = 4096;
        object.oldest_event_millis = Some(1_000_000);
        let mut summary = ForwardSummary::default();
        summary.add(object);
        summary.add(ObjectSummary::new("b", "k2", crate::trail::FileKind::Log).failed("boom"));

        let line: Value = serde_json::from_str(&forwarder_emf_line(
            &summary,
            1,
            "trailwatch",
            "fwd",
            1_061_000,
        ))
        .unwrap();

        // The names users' alarms and the template's alarms use.
        assert_eq!(
            declared(&line),
            [
                "RecordsIn",
                "Forwarded",
                "Filtered",
                "Rejected",
                "RejectedTooOld",
                "RejectedTooNew",
                "RejectedExpired",
                "RejectedTooLarge",
                "RejectedInvalidRecord",
                "RejectedNotDelivered",
                "RejectedRefused",
                "ObjectsFailed",
                "ObjectsSkipped",
                "ObjectsHandedOff",
                "ObjectsAlreadyForwarded",
                "ObjectsRewritten",
                "MessagesFailed",
                "BytesRead",
                "DeliveryLag",
            ]
        );
        assert_eq!(
            line["_aws"]["CloudWatchMetrics"][0]["Namespace"],
            "trailwatch"
        );
        assert_eq!(line["_aws"]["Timestamp"], 1_061_000);
        assert_eq!(line["FunctionName"], "fwd");
        assert_eq!(
            (line["RecordsIn"].as_u64(), line["Forwarded"].as_u64()),
            (Some(10), Some(7))
        );
        assert_eq!(
            (
                line["RejectedTooOld"].as_u64(),
                line["RejectedInvalidRecord"].as_u64()
            ),
            (Some(2), Some(1))
        );
        assert_eq!(
            (
                line["ObjectsFailed"].as_u64(),
                line["MessagesFailed"].as_u64()
            ),
            (Some(1), Some(1))
        );
        assert_eq!(line["BytesRead"], 4096);
        assert_eq!(line["DeliveryLag"], 61.0);
        assert!(line.get("DryRun").is_none());
    }

    #[test]
    fn no_delivery_lag_without_forwarded_records() {
        let line: Value = serde_json::from_str(&forwarder_emf_line(
            &ForwardSummary::default(),
            0,
            "n",
            "f",
            5,
        ))
        .unwrap();
        assert!(line.get("DeliveryLag").is_none());
    }
}
