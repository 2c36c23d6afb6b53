//! The calls, sources and user agents generated records are drawn from.

pub(super) const MANAGEMENT_CALLS: &[(&str, &str, bool)] = &[
    ("ec2.amazonaws.com", "DescribeInstances", true),
    ("ec2.amazonaws.com", "RunInstances", false),
    ("ec2.amazonaws.com", "AuthorizeSecurityGroupIngress", false),
    ("iam.amazonaws.com", "ListRoles", true),
    ("iam.amazonaws.com", "CreateUser", false),
    ("iam.amazonaws.com", "AttachRolePolicy", false),
    ("sts.amazonaws.com", "AssumeRole", true),
    ("s3.amazonaws.com", "ListBuckets", true),
    ("s3.amazonaws.com", "PutBucketPolicy", false),
    ("kms.amazonaws.com", "Decrypt", true),
    ("kms.amazonaws.com", "GenerateDataKey", true),
    ("lambda.amazonaws.com", "ListFunctions20150331", true),
    ("cloudtrail.amazonaws.com", "LookupEvents", true),
    ("monitoring.amazonaws.com", "PutMetricAlarm", false),
    ("signin.amazonaws.com", "ConsoleLogin", false),
];

pub(super) const DATA_CALLS: &[(&str, &str, bool, &str)] = &[
    ("s3.amazonaws.com", "GetObject", true, "AWS::S3::Object"),
    ("s3.amazonaws.com", "PutObject", false, "AWS::S3::Object"),
    ("s3.amazonaws.com", "DeleteObject", false, "AWS::S3::Object"),
    (
        "lambda.amazonaws.com",
        "Invoke",
        false,
        "AWS::Lambda::Function",
    ),
    (
        "dynamodb.amazonaws.com",
        "GetItem",
        true,
        "AWS::DynamoDB::Table",
    ),
    (
        "dynamodb.amazonaws.com",
        "PutItem",
        false,
        "AWS::DynamoDB::Table",
    ),
];

pub(super) const NETWORK_SOURCES: &[&str] = &[
    "ec2.amazonaws.com",
    "kms.amazonaws.com",
    "secretsmanager.amazonaws.com",
    "cloudtrail.amazonaws.com",
];

pub(super) const USER_AGENTS: &[&str] = &[
    "aws-cli/2.15.30 Python/3.11.8 Linux/6.1.0 exe/x86_64.amzn.2023 prompt/off command/ec2.describe-instances",
    "Boto3/1.34.69 md/Botocore#1.34.69 ua/2.0 os/linux#5.10.213 md/arch#x86_64 lang/python#3.12.2",
    "aws-sdk-go-v2/1.26.1 os/linux lang/go#1.22.1 md/GOOS#linux md/GOARCH#amd64 api/s3#1.53.1",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/123.0.0.0 Safari/537.36",
    "AWS Internal",
];
