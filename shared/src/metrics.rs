//! CloudWatch embedded metric format (EMF): one JSON log line per invocation that CloudWatch
//! turns into metrics, so users can alarm on failed objects, rejected records and delivery lag.
//! Format: https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html

use serde_json::{Map, Value, json};

use crate::summary::ForwardSummary;

/// The EMF line for one invocation. `failed_messages`: SQS messages reported for retry.
pub fn emf_line(
    summary: &ForwardSummary,
    failed_messages: usize,
    namespace: &str,
    function_name: &str,
    now_millis: i64,
) -> String {
    let reasons = summary.objects.iter().fold(
        crate::summary::RejectedReasons::default(),
        |mut all, object| {
            all.add(&object.rejected_reasons);
            all
        },
    );
    let handed_off = summary
        .objects
        .iter()
        .filter(|o| o.handed_off_at.is_some())
        .count();
    let mut metrics: Vec<(&str, &str, Value)> = vec![
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
        ("ObjectsFailed", "Count", json!(summary.failed_objects)),
        ("ObjectsSkipped", "Count", json!(summary.skipped_objects)),
        ("ObjectsHandedOff", "Count", json!(handed_off)),
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
    let mut line = Map::new();
    line.insert(
        "_aws".into(),
        json!({
            "Timestamp": now_millis,
            "CloudWatchMetrics": [{
                "Namespace": namespace,
                "Dimensions": [["FunctionName"]],
                "Metrics": metrics.iter().map(|(name, unit, _)| json!({"Name": name, "Unit": unit})).collect::<Vec<_>>(),
            }],
        }),
    );
    line.insert("FunctionName".into(), json!(function_name));
    if summary.dry_run {
        line.insert("DryRun".into(), json!(true));
    }
    for (name, _, value) in metrics {
        line.insert(name.into(), value);
    }
    Value::Object(line).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::summary::{ObjectSummary, RejectedReasons};

    #[test]
    fn the_line_declares_and_carries_every_metric() {
        let mut object = ObjectSummary::new("b", "k", "log");
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
        summary.add(ObjectSummary::new("b", "k2", "log").failed("boom"));

        let line: Value =
            serde_json::from_str(&emf_line(&summary, 1, "trailwatch", "fwd", 1_061_000)).unwrap();

        let declared: Vec<&str> = line["_aws"]["CloudWatchMetrics"][0]["Metrics"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["Name"].as_str().unwrap())
            .collect();
        for name in &declared {
            assert!(line.get(*name).is_some(), "{name} declared but missing");
        }
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
    }

    #[test]
    fn no_delivery_lag_without_forwarded_records() {
        let line: Value =
            serde_json::from_str(&emf_line(&ForwardSummary::default(), 0, "n", "f", 5)).unwrap();
        assert!(line.get("DeliveryLag").is_none());
    }
}
