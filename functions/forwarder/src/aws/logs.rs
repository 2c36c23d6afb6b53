//! What the backfill's dry run asks CloudWatch Logs: each destination group's class.

use std::collections::BTreeMap;

use aws_config::SdkConfig;
use trailwatch::ForwardSummary;
use trailwatch::dry_run::GroupClass;
use trailwatch::logs::LogGroupClass;

/// Each destination group's class as it is (DescribeLogGroups) or as the forwarder would
/// create it (its configuration; the stack's LogGroupClass for the groups the stack creates).
pub async fn group_classes(
    sdk: &SdkConfig,
    summary: &ForwardSummary,
) -> BTreeMap<String, GroupClass> {
    let client = aws_sdk_cloudwatchlogs::Client::new(sdk);
    let mut classes = BTreeMap::new();
    for entry in &summary.would_forward {
        if classes.contains_key(&entry.log_group) {
            continue;
        }
        let configured = entry.log_group_class;
        let found = client
            .describe_log_groups()
            .log_group_name_prefix(&entry.log_group)
            .send()
            .await;
        let class = match found {
            Ok(found) => found
                .log_groups()
                .iter()
                .find(|group| group.log_group_name() == Some(entry.log_group.as_str()))
                .map_or(GroupClass::WillBeCreated(configured), |group| {
                    GroupClass::Exists(match group.log_group_class() {
                        Some(aws_sdk_cloudwatchlogs::types::LogGroupClass::InfrequentAccess) => {
                            LogGroupClass::InfrequentAccess
                        }
                        _ => LogGroupClass::Standard,
                    })
                }),
            Err(error) => GroupClass::NotChecked(configured, trailwatch::aws::describe(&error)),
        };
        classes.insert(entry.log_group.clone(), class);
    }
    classes
}
