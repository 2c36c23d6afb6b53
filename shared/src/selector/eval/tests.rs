use super::*;
use crate::generate::TrailSpec;

const MGMT_WRITE: &str = r#"{"eventTime":"2024-01-01T00:00:00Z","eventCategory":"Management","managementEvent":true,"eventSource":"ec2.amazonaws.com","eventName":"RunInstances","eventType":"AwsApiCall","readOnly":false,"sessionCredentialFromConsole":"true","userIdentity":{"type":"AssumedRole","arn":"arn:aws:sts::111122223333:assumed-role/Admin/alice"}}"#;
const MGMT_READ_KMS: &str = r#"{"eventTime":"2024-01-01T00:00:00Z","eventCategory":"Management","managementEvent":true,"eventSource":"kms.amazonaws.com","eventName":"Decrypt","eventType":"AwsApiCall","readOnly":true,"userIdentity":{"type":"AWSService"}}"#;
const S3_GET: &str = r#"{"eventTime":"2024-01-01T00:00:00Z","eventCategory":"Data","managementEvent":false,"eventSource":"s3.amazonaws.com","eventName":"GetObject","eventType":"AwsApiCall","readOnly":true,"resources":[{"type":"AWS::S3::Object","ARN":"arn:aws:s3:::bucket-1/logs/a.txt"},{"accountId":"111122223333","type":"AWS::S3::Bucket","ARN":"arn:aws:s3:::bucket-1"}]}"#;
const S3_PUT_OTHER: &str = r#"{"eventTime":"2024-01-01T00:00:00Z","eventCategory":"Data","managementEvent":false,"eventSource":"s3.amazonaws.com","eventName":"PutObject","readOnly":false,"resources":[{"type":"AWS::S3::Object","ARN":"arn:aws:s3:::bucket-2/data/b.txt"},{"type":"AWS::S3::Bucket","ARN":"arn:aws:s3:::bucket-2"}]}"#;
const LAMBDA_HELLO: &str = r#"{"eventTime":"2024-01-01T00:00:00Z","eventCategory":"Data","managementEvent":false,"eventSource":"lambda.amazonaws.com","eventName":"Invoke","readOnly":false,"resources":[{"type":"AWS::Lambda::Function","ARN":"arn:aws:lambda:us-east-1:111122223333:function:helloworld"}]}"#;
const LAMBDA_HELLO2: &str = r#"{"eventTime":"2024-01-01T00:00:00Z","eventCategory":"Data","managementEvent":false,"eventSource":"lambda.amazonaws.com","eventName":"Invoke","readOnly":false,"resources":[{"type":"AWS::Lambda::Function","ARN":"arn:aws:lambda:us-east-1:111122223333:function:helloworld2"}]}"#;
const DYNAMODB: &str = r#"{"eventTime":"2024-01-01T00:00:00Z","eventCategory":"Data","managementEvent":false,"eventSource":"dynamodb.amazonaws.com","eventName":"GetItem","readOnly":true,"resources":[{"type":"AWS::DynamoDB::Table","ARN":"arn:aws:dynamodb:us-east-1:111122223333:table/Orders"}]}"#;
const NET_DENIED: &str = r#"{"eventTime":"2024-01-01T00:00:00Z","eventCategory":"NetworkActivity","managementEvent":false,"eventSource":"kms.amazonaws.com","eventName":"ListKeys","eventType":"AwsVpceEvent","errorCode":"VpceAccessDenied","vpcEndpointId":"vpce-0123456789abcdef0"}"#;
const INSIGHT: &str = r#"{"eventTime":"2024-01-01T00:00:00Z","eventType":"AwsCloudTrailInsight","eventCategory":"Insight"}"#;
/// Before eventVersion 1.07: no eventCategory, derived as Management.
const OLD_MGMT: &str = r#"{"eventTime":"2015-01-01T00:00:00Z","eventSource":"iam.amazonaws.com","eventName":"CreateUser","readOnly":false}"#;

const ALL_RECORDS: [(&str, &str); 10] = [
    ("MGMT_WRITE", MGMT_WRITE),
    ("MGMT_READ_KMS", MGMT_READ_KMS),
    ("S3_GET", S3_GET),
    ("S3_PUT_OTHER", S3_PUT_OTHER),
    ("LAMBDA_HELLO", LAMBDA_HELLO),
    ("LAMBDA_HELLO2", LAMBDA_HELLO2),
    ("DYNAMODB", DYNAMODB),
    ("NET_DENIED", NET_DENIED),
    ("INSIGHT", INSIGHT),
    ("OLD_MGMT", OLD_MGMT),
];

/// The names of the records the selectors select.
fn selected(selectors: &str) -> Vec<&'static str> {
    let compiled = Selectors::from_json(selectors).unwrap_or_else(|e| panic!("{e}"));
    ALL_RECORDS
        .iter()
        .filter(|(_, text)| compiled.selects(&RecordFields::parse(text).unwrap()))
        .map(|(name, _)| *name)
        .collect()
}

fn one(field: &str, op: &str, values: &[&str]) -> String {
    let values = serde_json::to_string(values).unwrap();
    format!(r#"[{{"FieldSelectors":[{{"Field":"{field}","{op}":{values}}}]}}]"#)
}

// Examples from the CloudTrail user guide ("Logging data events", "Logging management events",
// "Logging network activity events").

#[test]
fn doc_example_s3_data_events_of_one_bucket_prefix() {
    let advanced = r#"[{"Name":"S3 objects under bucket-1/logs/","FieldSelectors":[
        {"Field":"eventCategory","Equals":["Data"]},
        {"Field":"resources.type","Equals":["AWS::S3::Object"]},
        {"Field":"resources.ARN","StartsWith":["arn:aws:s3:::bucket-1/logs/"]}]}]"#;
    assert_eq!(selected(advanced), vec!["S3_GET"]);
    let basic = r#"[{"ReadWriteType":"All","IncludeManagementEvents":false,"DataResources":[{"Type":"AWS::S3::Object","Values":["arn:aws:s3:::bucket-1/logs/"]}]}]"#;
    assert_eq!(selected(basic), vec!["S3_GET"]);
}

#[test]
fn doc_example_all_s3_buckets_with_arn_aws_s3() {
    let basic = r#"[{"IncludeManagementEvents":false,"DataResources":[{"Type":"AWS::S3::Object","Values":["arn:aws:s3"]}]}]"#;
    assert_eq!(selected(basic), vec!["S3_GET", "S3_PUT_OTHER"]);
}

#[test]
fn doc_example_exclude_kms_events() {
    let basic = r#"[{"ReadWriteType":"All","IncludeManagementEvents":true,"ExcludeManagementEventSources":["kms.amazonaws.com"]}]"#;
    assert_eq!(selected(basic), vec!["MGMT_WRITE", "OLD_MGMT"]);
    let advanced = r#"[{"Name":"Management events except KMS","FieldSelectors":[
        {"Field":"eventCategory","Equals":["Management"]},
        {"Field":"eventSource","NotEquals":["kms.amazonaws.com"]}]}]"#;
    assert_eq!(selected(advanced), vec!["MGMT_WRITE", "OLD_MGMT"]);
}

#[test]
fn doc_example_write_only_management_events() {
    let basic = r#"[{"ReadWriteType":"WriteOnly","IncludeManagementEvents":true}]"#;
    assert_eq!(selected(basic), vec!["MGMT_WRITE", "OLD_MGMT"]);
    let advanced = r#"[{"FieldSelectors":[{"Field":"eventCategory","Equals":["Management"]},{"Field":"readOnly","Equals":["false"]}]}]"#;
    assert_eq!(selected(advanced), vec!["MGMT_WRITE", "OLD_MGMT"]);
}

#[test]
fn doc_example_lambda_function_arn_is_exact_and_arn_aws_lambda_is_all() {
    let one_function = r#"[{"IncludeManagementEvents":false,"DataResources":[{"Type":"AWS::Lambda::Function","Values":["arn:aws:lambda:us-east-1:111122223333:function:helloworld"]}]}]"#;
    assert_eq!(selected(one_function), vec!["LAMBDA_HELLO"]);
    let all_functions = r#"[{"IncludeManagementEvents":false,"DataResources":[{"Type":"AWS::Lambda::Function","Values":["arn:aws:lambda"]}]}]"#;
    assert_eq!(
        selected(all_functions),
        vec!["LAMBDA_HELLO", "LAMBDA_HELLO2"]
    );
    let all_tables = r#"[{"IncludeManagementEvents":false,"DataResources":[{"Type":"AWS::DynamoDB::Table","Values":["arn:aws:dynamodb"]}]}]"#;
    assert_eq!(selected(all_tables), vec!["DYNAMODB"]);
}

#[test]
fn doc_example_network_activity_denied_by_vpc_endpoint_policy() {
    let advanced = r#"[{"Name":"Audit AccessDenied KMS network events","FieldSelectors":[
        {"Field":"eventCategory","Equals":["NetworkActivity"]},
        {"Field":"eventSource","Equals":["kms.amazonaws.com"]},
        {"Field":"errorCode","Equals":["VpceAccessDenied"]}]}]"#;
    assert_eq!(selected(advanced), vec!["NET_DENIED"]);
}

#[test]
fn basic_read_write_type_applies_to_data_events() {
    let read_only = r#"[{"ReadWriteType":"ReadOnly","IncludeManagementEvents":true,"DataResources":[{"Type":"AWS::S3::Object","Values":["arn:aws:s3"]}]}]"#;
    assert_eq!(selected(read_only), vec!["MGMT_READ_KMS", "S3_GET"]);
}

#[test]
fn basic_selectors_never_select_insights_or_network_activity() {
    let everything = r#"[{"ReadWriteType":"All","IncludeManagementEvents":true,"DataResources":[{"Type":"AWS::S3::Object","Values":["arn:aws:s3"]},{"Type":"AWS::Lambda::Function","Values":["arn:aws:lambda"]},{"Type":"AWS::DynamoDB::Table","Values":["arn:aws:dynamodb"]}]}]"#;
    let chosen = selected(everything);
    assert!(!chosen.contains(&"INSIGHT") && !chosen.contains(&"NET_DENIED"));
    assert_eq!(chosen.len(), 8);
}

#[test]
fn any_selector_matching_selects_the_record() {
    let two = r#"[{"FieldSelectors":[{"Field":"eventCategory","Equals":["Insight"]}]},{"FieldSelectors":[{"Field":"eventName","Equals":["Decrypt"]}]}]"#;
    assert_eq!(selected(two), vec!["MGMT_READ_KMS", "INSIGHT"]);
}

#[test]
fn every_operator_on_every_single_valued_field() {
    // (field, operator, values, records selected)
    let table: &[(&str, &str, &[&str], &[&str])] = &[
        (
            "eventCategory",
            "Equals",
            &["Management"],
            &["MGMT_WRITE", "MGMT_READ_KMS", "OLD_MGMT"],
        ),
        (
            "eventCategory",
            "Equals",
            &["Insight", "NetworkActivity"],
            &["NET_DENIED", "INSIGHT"],
        ),
        (
            "eventSource",
            "Equals",
            &["kms.amazonaws.com"],
            &["MGMT_READ_KMS", "NET_DENIED"],
        ),
        (
            "eventSource",
            "StartsWith",
            &["lambda."],
            &["LAMBDA_HELLO", "LAMBDA_HELLO2"],
        ),
        (
            "eventSource",
            "EndsWith",
            &["b.amazonaws.com"],
            &["DYNAMODB"],
        ),
        (
            "eventName",
            "NotEquals",
            &["Invoke", "GetObject"],
            &[
                "MGMT_WRITE",
                "MGMT_READ_KMS",
                "S3_PUT_OTHER",
                "DYNAMODB",
                "NET_DENIED",
                "INSIGHT",
                "OLD_MGMT",
            ],
        ),
        (
            "eventName",
            "NotStartsWith",
            &["Get", "Put", "Invoke", "List"],
            &["MGMT_WRITE", "MGMT_READ_KMS", "INSIGHT", "OLD_MGMT"],
        ),
        (
            "eventName",
            "NotEndsWith",
            &["Object", "Item"],
            &[
                "MGMT_WRITE",
                "MGMT_READ_KMS",
                "LAMBDA_HELLO",
                "LAMBDA_HELLO2",
                "NET_DENIED",
                "INSIGHT",
                "OLD_MGMT",
            ],
        ),
        ("eventType", "Equals", &["AwsVpceEvent"], &["NET_DENIED"]),
        (
            "readOnly",
            "Equals",
            &["true"],
            &["MGMT_READ_KMS", "S3_GET", "DYNAMODB"],
        ),
        (
            "readOnly",
            "Equals",
            &["false"],
            &[
                "MGMT_WRITE",
                "S3_PUT_OTHER",
                "LAMBDA_HELLO",
                "LAMBDA_HELLO2",
                "OLD_MGMT",
            ],
        ),
        (
            "sessionCredentialFromConsole",
            "Equals",
            &["true"],
            &["MGMT_WRITE"],
        ),
        (
            "userIdentity.arn",
            "StartsWith",
            &["arn:aws:sts::111122223333:assumed-role/Admin/"],
            &["MGMT_WRITE"],
        ),
        (
            "userIdentity.arn",
            "NotEndsWith",
            &["/alice"],
            &[
                "MGMT_READ_KMS",
                "S3_GET",
                "S3_PUT_OTHER",
                "LAMBDA_HELLO",
                "LAMBDA_HELLO2",
                "DYNAMODB",
                "NET_DENIED",
                "INSIGHT",
                "OLD_MGMT",
            ],
        ),
        (
            "errorCode",
            "Equals",
            &["VpceAccessDenied"],
            &["NET_DENIED"],
        ),
        (
            "vpcEndpointId",
            "StartsWith",
            &["vpce-0123"],
            &["NET_DENIED"],
        ),
        (
            "vpcEndpointId",
            "NotEquals",
            &["vpce-0123456789abcdef0"],
            &[
                "MGMT_WRITE",
                "MGMT_READ_KMS",
                "S3_GET",
                "S3_PUT_OTHER",
                "LAMBDA_HELLO",
                "LAMBDA_HELLO2",
                "DYNAMODB",
                "INSIGHT",
                "OLD_MGMT",
            ],
        ),
    ];
    for (field, op, values, expected) in table {
        assert_eq!(
            selected(&one(field, op, values)),
            *expected,
            "{field} {op} {values:?}"
        );
    }
}

#[test]
fn resource_conditions_match_against_the_records_resources() {
    let table: &[(&str, &str, &[&str], &[&str])] = &[
        (
            "resources.type",
            "Equals",
            &["AWS::S3::Object"],
            &["S3_GET", "S3_PUT_OTHER"],
        ),
        (
            "resources.type",
            "Equals",
            &["AWS::S3::Bucket", "AWS::DynamoDB::Table"],
            &["S3_GET", "S3_PUT_OTHER", "DYNAMODB"],
        ),
        (
            "resources.ARN",
            "Equals",
            &["arn:aws:s3:::bucket-1"],
            &["S3_GET"],
        ),
        (
            "resources.ARN",
            "StartsWith",
            &["arn:aws:lambda:"],
            &["LAMBDA_HELLO", "LAMBDA_HELLO2"],
        ),
        (
            "resources.ARN",
            "EndsWith",
            &[".txt"],
            &["S3_GET", "S3_PUT_OTHER"],
        ),
        // Excluded when any resource matches; records without resources pass.
        (
            "resources.ARN",
            "NotStartsWith",
            &["arn:aws:s3:::bucket-1"],
            &[
                "MGMT_WRITE",
                "MGMT_READ_KMS",
                "S3_PUT_OTHER",
                "LAMBDA_HELLO",
                "LAMBDA_HELLO2",
                "DYNAMODB",
                "NET_DENIED",
                "INSIGHT",
                "OLD_MGMT",
            ],
        ),
    ];
    for (field, op, values, expected) in table {
        assert_eq!(
            selected(&one(field, op, values)),
            *expected,
            "{field} {op} {values:?}"
        );
    }
}

#[test]
fn resources_arn_is_tested_on_the_resources_of_the_selected_type() {
    // bucket-1's bucket ARN does not start with "bucket-1/": only the object resource counts.
    let objects_outside_prefix = r#"[{"FieldSelectors":[
        {"Field":"eventCategory","Equals":["Data"]},
        {"Field":"resources.type","Equals":["AWS::S3::Object"]},
        {"Field":"resources.ARN","NotStartsWith":["arn:aws:s3:::bucket-1/"]}]}]"#;
    assert_eq!(selected(objects_outside_prefix), vec!["S3_PUT_OTHER"]);
    let bucket_level = r#"[{"FieldSelectors":[
        {"Field":"resources.type","Equals":["AWS::S3::Bucket"]},
        {"Field":"resources.ARN","Equals":["arn:aws:s3:::bucket-2"]}]}]"#;
    assert_eq!(selected(bucket_level), vec!["S3_PUT_OTHER"]);
}

#[test]
fn several_operators_on_one_field_must_all_hold() {
    let both = r#"[{"FieldSelectors":[{"Field":"eventName","StartsWith":["Get","Put"],"NotEndsWith":["Item"]}]}]"#;
    assert_eq!(selected(both), vec!["S3_GET", "S3_PUT_OTHER"]);
}

#[test]
fn missing_fields_fail_positive_and_pass_negative_operators() {
    // INSIGHT has no eventSource; OLD_MGMT has no eventType.
    assert!(!selected(&one("eventSource", "EndsWith", &["amazonaws.com"])).contains(&"INSIGHT"));
    assert!(selected(&one("eventSource", "NotEquals", &["x"])).contains(&"INSIGHT"));
    assert!(!selected(&one("eventType", "EndsWith", &["Call"])).contains(&"OLD_MGMT"));
    assert!(selected(&one("eventType", "NotEndsWith", &["Call"])).contains(&"OLD_MGMT"));
    assert!(!selected(&one("readOnly", "Equals", &["true"])).contains(&"NET_DENIED"));
    assert!(!selected(&one("readOnly", "Equals", &["false"])).contains(&"NET_DENIED"));
}

#[test]
fn absent_session_credential_from_console_counts_as_false() {
    let not_console = selected(&one("sessionCredentialFromConsole", "Equals", &["false"]));
    assert!(!not_console.contains(&"MGMT_WRITE"));
    assert_eq!(not_console.len(), ALL_RECORDS.len() - 1);
    assert_eq!(
        selected(&one("sessionCredentialFromConsole", "NotEquals", &["true"])),
        not_console
    );
}

#[test]
fn may_select_tells_which_categories_a_route_can_take() {
    let insight_only = Selectors::from_json(&one("eventCategory", "Equals", &["Insight"])).unwrap();
    assert!(insight_only.may_select(EventCategory::Insight));
    assert!(!insight_only.may_select(EventCategory::Management));
    let by_name = Selectors::from_json(&one("eventName", "Equals", &["x"])).unwrap();
    assert!(by_name.may_select(EventCategory::Insight));
    let basic = Selectors::from_json(r#"[{"IncludeManagementEvents":true}]"#).unwrap();
    assert!(basic.may_select(EventCategory::Management));
    assert!(!basic.may_select(EventCategory::Insight));
    assert!(!basic.may_select(EventCategory::Data));
    assert!(Selectors::All.may_select(EventCategory::Insight));
}

/// A selector and its negation-operator twin partition any set of records.
#[test]
fn a_selector_and_its_negation_twin_partition_records() {
    let records: Vec<String> = TrailSpec::recent(17)
        .records()
        .take(400)
        .map(|r| r.text)
        .collect();
    let mut rng = fastrand::Rng::with_seed(23);
    let fields = [
        "eventSource",
        "eventName",
        "eventType",
        "userIdentity.arn",
        "errorCode",
        "vpcEndpointId",
        "resources.ARN",
    ];
    let pairs = [
        ("Equals", "NotEquals"),
        ("StartsWith", "NotStartsWith"),
        ("EndsWith", "NotEndsWith"),
    ];
    for round in 0..200 {
        let field = fields[rng.usize(..fields.len())];
        let (positive, negative) = pairs[rng.usize(..pairs.len())];
        // Values cut from real values of the generated records, so both outcomes occur.
        let values: Vec<String> = (0..rng.usize(1..4))
            .map(|_| {
                let source = &records[rng.usize(..records.len())];
                let value = sample_value(source, field).unwrap_or_else(|| "absent".to_owned());
                let cut = rng.usize(1..=value.len().max(1)).min(value.len());
                match positive {
                    "StartsWith" => value[..cut].to_owned(),
                    "EndsWith" => value[value.len() - cut..].to_owned(),
                    _ => value,
                }
            })
            .filter(|v| !v.is_empty())
            .collect();
        if values.is_empty() {
            continue;
        }
        let values: Vec<&str> = values.iter().map(String::as_str).collect();
        let keep = Selectors::from_json(&one(field, positive, &values)).unwrap();
        let drop = Selectors::from_json(&one(field, negative, &values)).unwrap();
        let mut kept = 0;
        for text in &records {
            let record = RecordFields::parse(text).unwrap();
            assert_ne!(
                keep.selects(&record),
                drop.selects(&record),
                "round {round}: {field} {positive} {values:?}"
            );
            kept += usize::from(keep.selects(&record));
        }
        assert!(kept <= records.len());
    }
}

fn sample_value(text: &str, field: &str) -> Option<String> {
    let value: serde_json::Value = serde_json::from_str(text).ok()?;
    let found = match field {
        "userIdentity.arn" => value.get("userIdentity")?.get("arn"),
        "resources.ARN" => value.get("resources")?.get(0)?.get("ARN"),
        other => value.get(other),
    };
    found?.as_str().map(str::to_owned)
}

// Validation at load.

fn error_of(selectors: &str) -> String {
    Selectors::from_json(selectors).unwrap_err().to_string()
}

#[test]
fn validation_names_the_selector_and_field() {
    let cases: &[(String, &[&str])] = &[
        (
            one("eventTime", "Equals", &["x"]),
            &["AdvancedEventSelectors[0]", "\"eventTime\" is not one of"],
        ),
        (
            one("readOnly", "NotEquals", &["true"]),
            &[
                "readOnly",
                "operator NotEquals is not allowed",
                "takes only Equals",
            ],
        ),
        (
            one("eventCategory", "StartsWith", &["Man"]),
            &["eventCategory", "operator StartsWith"],
        ),
        (
            one("resources.type", "NotEquals", &["AWS::S3::Object"]),
            &["resources.type", "operator NotEquals"],
        ),
        (
            one("sessionCredentialFromConsole", "StartsWith", &["t"]),
            &["takes only Equals, NotEquals"],
        ),
        (
            one("eventName", "Equals", &[]),
            &["eventName", "empty value list"],
        ),
        (one("eventName", "Equals", &[""]), &["values are 1 to 2048"]),
        (
            one("eventName", "Equals", &[&"x".repeat(2049)]),
            &["2049 characters"],
        ),
        (
            one("readOnly", "Equals", &["yes"]),
            &["\"yes\" is not one of true, false"],
        ),
        (
            one("eventCategory", "Equals", &["Management", "Other"]),
            &["\"Other\" is not one of"],
        ),
        (
            r#"[{"Name":"mine","FieldSelectors":[]}]"#.to_owned(),
            &["AdvancedEventSelectors[0] (\"mine\")", "no FieldSelectors"],
        ),
        (
            r#"[{"FieldSelectors":[{"Field":"eventName"}]}]"#.to_owned(),
            &["eventName", "has no operator"],
        ),
        (
            r#"[{"ReadWriteType":"Sometimes"}]"#.to_owned(),
            &["EventSelectors[0]", "ReadWriteType", "\"Sometimes\""],
        ),
        (
            r#"[{"ExcludeManagementEventSources":["s3.amazonaws.com"]}]"#.to_owned(),
            &["ExcludeManagementEventSources", "cannot be excluded"],
        ),
        (
            r#"[{"DataResources":[{"Type":"AWS::SNS::Topic","Values":["arn:aws:sns"]}]}]"#
                .to_owned(),
            &["DataResources", "AWS::SNS::Topic", "use advanced selectors"],
        ),
        (
            r#"[{"DataResources":[{"Type":"AWS::S3::Object","Values":[]}]}]"#.to_owned(),
            &["empty Values list"],
        ),
        (
            r#"[{},{},{},{},{},{}]"#.to_owned(),
            &["6 EventSelectors", "at most 5"],
        ),
    ];
    for (selectors, expected) in cases {
        let message = error_of(selectors);
        for part in *expected {
            assert!(message.contains(part), "{message:?} lacks {part:?}");
        }
    }
}

#[test]
fn value_limits_count_across_selectors() {
    let values: Vec<String> = (0..501).map(|i| format!("arn:aws:s3:::b/{i}")).collect();
    let values: Vec<&str> = values.iter().map(String::as_str).collect();
    assert!(error_of(&one("resources.ARN", "StartsWith", &values)).contains("501 values"));
    assert!(Selectors::from_json(&one("resources.ARN", "StartsWith", &values[..500])).is_ok());

    let data: Vec<String> = (0..251)
        .map(|i| format!("arn:aws:s3:::bucket-{i}/"))
        .collect();
    let basic = format!(
        r#"[{{"DataResources":[{{"Type":"AWS::S3::Object","Values":{}}}]}}]"#,
        serde_json::to_string(&data).unwrap()
    );
    assert!(error_of(&basic).contains("251 data resource values"));
    let with_all = format!(
        r#"[{{"DataResources":[{{"Type":"AWS::S3::Object","Values":{}}},{{"Type":"AWS::Lambda::Function","Values":["arn:aws:lambda"]}}]}}]"#,
        serde_json::to_string(&data[..250]).unwrap()
    );
    assert!(Selectors::from_json(&with_all).is_ok());
}

// Outputs printed by `aws cloudtrail put-event-selectors` / `get-event-selectors` in the AWS
// CLI's documented examples (aws/aws-cli, awscli/examples/cloudtrail/*.rst), pasted as is
// (the documented basic output's stray trailing commas removed: the CLI prints valid JSON).

const CLI_ADVANCED_OUTPUT: &str = r#"{
    "TrailARN": "arn:aws:cloudtrail:us-east-1:123456789012:trail/myTrail",
    "AdvancedEventSelectors": [
        {"Name": "Log all management events",
         "FieldSelectors": [{"Field": "eventCategory", "Equals": ["Management"]}]},
        {"Name": "Log PutObject and DeleteObject events for all but one bucket",
         "FieldSelectors": [
            {"Field": "eventCategory", "Equals": ["Data"]},
            {"Field": "resources.type", "Equals": ["AWS::S3::Object"]},
            {"Field": "eventName", "Equals": ["PutObject", "DeleteObject"]},
            {"Field": "resources.ARN", "NotStartsWith": ["arn:aws:s3:::sample_bucket_name/"]}]},
        {"Name": "Log data events for a specific Lambda function",
         "FieldSelectors": [
            {"Field": "eventCategory", "Equals": ["Data"]},
            {"Field": "resources.type", "Equals": ["AWS::Lambda::Function"]},
            {"Field": "resources.ARN", "Equals": ["arn:aws:lambda:us-east-1:123456789012:function:myFunction"]}]},
        {"Name": "Log all Publish API calls on a specific SNS topic",
         "FieldSelectors": [
            {"Field": "eventCategory", "Equals": ["Data"]},
            {"Field": "resources.type", "Equals": ["AWS::SNS::Topic"]},
            {"Field": "eventName", "Equals": ["Publish"]},
            {"Field": "resources.ARN", "Equals": ["arn:aws:sns:us-east-1:123456789012:myTopic.fifo"]}]}
    ]
}"#;

const CLI_BASIC_OUTPUT: &str = r#"{
    "EventSelectors": [
        {
            "IncludeManagementEvents": true,
            "DataResources": [
                {"Values": ["arn:aws:s3:::mybucket/prefix", "arn:aws:s3:::mybucket2/prefix2"], "Type": "AWS::S3::Object"},
                {"Values": ["arn:aws:lambda:us-west-2:123456789012:function:hello-world-python-function"], "Type": "AWS::Lambda::Function"}
            ],
            "ReadWriteType": "All"
        }
    ],
    "TrailARN": "arn:aws:cloudtrail:us-east-2:123456789012:trail/TrailName"
}"#;

const CLI_DEFAULT_OUTPUT: &str = r#"{
    "EventSelectors": [{"IncludeManagementEvents": true, "DataResources": [], "ReadWriteType": "All"}],
    "TrailARN": "arn:aws:cloudtrail:us-east-1:123456789012:trail/Trail1"
}"#;

fn data_event(source: &str, name: &str, resource_type: &str, arn: &str) -> String {
    format!(
        r#"{{"eventTime":"2024-01-01T00:00:00Z","eventCategory":"Data","eventSource":"{source}","eventName":"{name}","readOnly":false,"resources":[{{"type":"{resource_type}","ARN":"{arn}"}}]}}"#
    )
}

fn selects(selectors: &Selectors, record: &str) -> bool {
    selectors.selects(&RecordFields::parse(record).unwrap())
}

#[test]
fn cli_example_advanced_output_selects_as_documented() {
    let selectors = Selectors::from_json(CLI_ADVANCED_OUTPUT).unwrap();
    let s3 = "s3.amazonaws.com";
    assert!(selects(&selectors, MGMT_READ_KMS));
    assert!(selects(
        &selectors,
        &data_event(s3, "PutObject", "AWS::S3::Object", "arn:aws:s3:::other/k")
    ));
    assert!(!selects(
        &selectors,
        &data_event(
            s3,
            "PutObject",
            "AWS::S3::Object",
            "arn:aws:s3:::sample_bucket_name/k"
        )
    ));
    assert!(!selects(
        &selectors,
        &data_event(s3, "GetObject", "AWS::S3::Object", "arn:aws:s3:::other/k")
    ));
    let lambda = "lambda.amazonaws.com";
    assert!(selects(
        &selectors,
        &data_event(
            lambda,
            "Invoke",
            "AWS::Lambda::Function",
            "arn:aws:lambda:us-east-1:123456789012:function:myFunction"
        )
    ));
    assert!(!selects(
        &selectors,
        &data_event(
            lambda,
            "Invoke",
            "AWS::Lambda::Function",
            "arn:aws:lambda:us-east-1:123456789012:function:myFunction2"
        )
    ));
    let topic = "arn:aws:sns:us-east-1:123456789012:myTopic.fifo";
    assert!(selects(
        &selectors,
        &data_event("sns.amazonaws.com", "Publish", "AWS::SNS::Topic", topic)
    ));
    assert!(!selects(&selectors, NET_DENIED));
}

#[test]
fn cli_example_basic_output_selects_as_documented() {
    let selectors = Selectors::from_json(CLI_BASIC_OUTPUT).unwrap();
    let s3 = "s3.amazonaws.com";
    assert!(selects(&selectors, MGMT_WRITE) && selects(&selectors, MGMT_READ_KMS));
    assert!(selects(
        &selectors,
        &data_event(
            s3,
            "GetObject",
            "AWS::S3::Object",
            "arn:aws:s3:::mybucket/prefix/a"
        )
    ));
    assert!(selects(
        &selectors,
        &data_event(
            s3,
            "GetObject",
            "AWS::S3::Object",
            "arn:aws:s3:::mybucket2/prefix2x"
        )
    ));
    assert!(!selects(
        &selectors,
        &data_event(
            s3,
            "GetObject",
            "AWS::S3::Object",
            "arn:aws:s3:::mybucket/other"
        )
    ));
    let function = "arn:aws:lambda:us-west-2:123456789012:function:hello-world-python-function";
    assert!(selects(
        &selectors,
        &data_event(
            "lambda.amazonaws.com",
            "Invoke",
            "AWS::Lambda::Function",
            function
        )
    ));
    assert!(!selects(&selectors, INSIGHT) && !selects(&selectors, NET_DENIED));
}

#[test]
fn cli_example_default_trail_logs_management_events_only() {
    assert_eq!(
        selected(CLI_DEFAULT_OUTPUT),
        vec!["MGMT_WRITE", "MGMT_READ_KMS", "OLD_MGMT"]
    );
}
