"""Checks on template.yaml that cfn-lint cannot make: least privilege, every environment variable a
function reads set by the template and documented, every binary present in the workspace, the
delivery wiring, and (with SAM_BUILD_DIR) that `sam build` produced arm64 bootstraps.

Run by scripts/test with the pinned cfn-lint's template decoder:
    .venv/bin/python -m unittest scripts/template_test.py
"""

import json
import os
import re
import unittest
from pathlib import Path

from cfnlint.decode import decode_str

ROOT = Path(__file__).resolve().parent.parent
FUNCTIONS = {"ForwarderFunction": "forwarder", "ValidatorFunction": "validator"}

# Read by the code, deliberately not set by the template.
NOT_FOR_LAMBDA = {
    # The validator command's offline key file; in Lambda the keys come from ListPublicKeys.
    "TRAIL_PUBLIC_KEYS_FILE",
    # A recreated group's retention: the deployed forwarder holds no logs:PutRetentionPolicy
    # (with it, it could shorten an audit group's retention), so its recreated groups keep
    # their events forever.
    "RETENTION_IN_DAYS",
}

# Actions that support no resource-level permissions (Service Authorization Reference).
RESOURCE_STAR_ALLOWED = {"cloudtrail:ListPublicKeys", "cloudtrail:DescribeTrails", "organizations:DescribeOrganization"}


def load_template():
    template, problems = decode_str((ROOT / "template.yaml").read_text())
    assert not problems, problems
    return template


def text(value):
    """An intrinsic-laden value as one string, for containment checks."""
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True)


def statements(role):
    """Every Allow statement of a role's inline policies, with both branches of an !If."""
    found = []

    def walk(node):
        if isinstance(node, dict) and set(node) == {"Fn::If"}:
            _, yes, no = node["Fn::If"]
            walk(yes)
            walk(no)
        elif isinstance(node, dict) and node.get("Effect") == "Allow":
            found.append(node)
        elif isinstance(node, dict) and node.get("Ref") == "AWS::NoValue":
            pass
        else:
            raise AssertionError(f"unexpected policy statement {node!r}")

    assert set(role["Properties"]) == {"AssumeRolePolicyDocument", "Policies"}, (
        "only inline policies are reviewed here: no managed policy, boundary or path"
    )
    for policy in role["Properties"]["Policies"]:
        for statement in policy["PolicyDocument"]["Statement"]:
            walk(statement)
    return found


def actions(statement):
    value = statement["Action"]
    return [value] if isinstance(value, str) else list(value)


def env_vars_read(paths):
    """Names a crate reads with std::env::var, directly or through a `const NAME: &str`."""
    names = set()
    shared_names = self_named_consts((ROOT / "shared/src/config.rs").read_text())
    for path in paths:
        source = path.read_text()
        consts = dict(re.findall(r'const ([A-Z_]+): &str = "([A-Z_]+)";', source))
        names.update(re.findall(r'env::var\("([A-Z_]+)"\)', source))
        names.update(consts[c] for c in re.findall(r"env::var\(([A-Z_]+)\)", source) if c in consts)
        # Each function's configuration (shared/src/config.rs, shared/src/digest/config.rs) is
        # read through a lookup of these constants, some named in the forwarder's and imported.
        if path.name == "config.rs":
            names.update(self_named_consts(source))
            for imported in re.findall(r"use crate::config::\{([^}]*)\}", source):
                names.update(set(re.findall(r"[A-Z_]+", imported)) & shared_names)
    return names


def self_named_consts(source):
    """The `const NAME: &str = "NAME"` of a source: the environment variables it names."""
    return {value for name, value in re.findall(r'const ([A-Z_]+): &str = "([A-Z_]+)";', source) if name == value}


class TemplateCase(unittest.TestCase):
    """The template and the README, read once per test class."""

    @classmethod
    def setUpClass(cls):
        cls.template = load_template()
        cls.resources = cls.template["Resources"]
        cls.readme = (ROOT / "README.md").read_text()


class Template(TemplateCase):

    def function(self, logical_id):
        return self.resources[logical_id]

    def role(self, function_id):
        """The explicit role a function runs as."""
        role_id, attribute = self.function(function_id)["Properties"]["Role"]["Fn::GetAtt"]
        self.assertEqual(attribute, "Arn")
        return self.resources[role_id]

    def test_each_function_runs_as_its_own_role_with_no_managed_policy(self):
        # SAM's generated role would add AWSLambdaBasicExecutionRole: logs:PutLogEvents on *.
        for logical_id in FUNCTIONS:
            properties = self.function(logical_id)["Properties"]
            self.assertNotIn("Policies", properties, logical_id)
            role = self.role(logical_id)
            self.assertEqual(role["Type"], "AWS::IAM::Role")
            self.assertNotIn("ManagedPolicyArns", role["Properties"], logical_id)
            self.assertEqual(text(role["Properties"]["AssumeRolePolicyDocument"]).count("lambda.amazonaws.com"), 1)

    def test_each_function_writes_log_events_only_to_its_own_group_and_the_groups_it_is_for(self):
        own = {"ForwarderFunction": "ForwarderFunctionLogGroup", "ValidatorFunction": "ValidatorFunctionLogGroup"}
        for logical_id in FUNCTIONS:
            writes = [s for s in statements(self.role(logical_id)) if "logs:PutLogEvents" in actions(s)]
            resources = [text(s["Resource"]) for s in writes]
            self.assertIn(text({"Fn::GetAtt": [own[logical_id], "Arn"]}), resources, logical_id)
            others = [r for r in resources if own[logical_id] not in r]
            self.assertEqual(len(others), 1, f"{logical_id}: {resources}")
            for other_function, group in own.items():
                if other_function != logical_id:
                    self.assertFalse(any(group in r for r in resources), f"{logical_id} writes {group}")
            if logical_id == "ForwarderFunction":
                self.assertNotIn("IntegrityLogGroup", others[0])
            else:
                self.assertIn("IntegrityLogGroup", others[0])
                self.assertNotIn("DestinationLogGroup", others[0])

    def test_every_function_is_an_arm64_cargo_lambda_build_of_a_workspace_binary(self):
        workspace = (ROOT / "Cargo.toml").read_text()
        globals_ = self.template["Globals"]["Function"]
        self.assertEqual(globals_["Architectures"], ["arm64"])
        self.assertEqual(globals_["Runtime"], "provided.al2023")
        for logical_id, binary in FUNCTIONS.items():
            function = self.function(logical_id)
            self.assertEqual(function["Metadata"]["BuildMethod"], "rust-cargolambda")
            self.assertEqual(function["Metadata"]["BuildProperties"]["Binary"], binary)
            self.assertEqual(function["Properties"]["CodeUri"], "./")
            manifest = ROOT / "functions" / binary / "Cargo.toml"
            self.assertTrue(manifest.is_file(), f"no crate for binary {binary}")
            self.assertRegex(manifest.read_text(), rf'(?m)^name = "{binary}"$')
            self.assertTrue((ROOT / "functions" / binary / "src" / "main.rs").is_file())
            self.assertTrue('"functions/*"' in workspace or f'"functions/{binary}"' in workspace)
        built = {r["Metadata"]["BuildProperties"]["Binary"] for r in self.resources.values()
                 if r["Type"] == "AWS::Serverless::Function"}
        self.assertEqual(built, set(FUNCTIONS.values()))

    def test_every_environment_variable_read_is_set_by_the_template_and_documented(self):
        read_by = {
            "ForwarderFunction": env_vars_read([ROOT / "shared/src/config.rs"])
            | env_vars_read((ROOT / "functions/forwarder/src").glob("*.rs")),
            "ValidatorFunction": env_vars_read([ROOT / "shared/src/digest/config.rs"])
            | env_vars_read((ROOT / "functions/validator/src").glob("*.rs")),
        }
        self.assertIn("LOG_GROUP_NAME", read_by["ForwarderFunction"])
        self.assertIn("INTEGRITY_LOG_GROUP_NAME", read_by["ValidatorFunction"])
        for logical_id, names in read_by.items():
            set_vars = set(self.function(logical_id)["Properties"]["Environment"]["Variables"])
            for name in names - NOT_FOR_LAMBDA:
                self.assertIn(name, set_vars, f"{logical_id} reads {name}; the template does not set it")
            self.assertLessEqual(set_vars, names, f"{logical_id} sets variables nothing reads")
            for name in names:
                self.assertIn(f"| `{name}` |", self.readme, f"{name} is not in README's Configuration")

    def test_forwarder_reads_only_trail_log_files_and_writes_only_its_destinations(self):
        for statement in statements(self.role("ForwarderFunction")):
            resource = text(statement["Resource"])
            for action in actions(statement):
                service = action.split(":")[0]
                if service == "s3":
                    self.assertIn(action, {"s3:GetObject", "s3:GetObjectVersion"})
                    self.assertRegex(resource, r"TrailBucketName\}/\$\{Prefix\}AWSLogs/\*")
                elif service == "kms":
                    self.assertEqual(action, "kms:Decrypt")
                    self.assertIn("TrailKey", resource)
                    self.assertIn("ExistingKmsKeyArn", resource)
                elif service == "logs" and statement["Sid"] == "OwnLogs":
                    self.assertIn(action, {"logs:CreateLogStream", "logs:PutLogEvents"})
                    self.assertEqual(statement["Resource"], {"Fn::GetAtt": ["ForwarderFunctionLogGroup", "Arn"]})
                elif service == "logs":
                    # No PutRetentionPolicy: the forwarder can never shorten an audit group's
                    # retention.
                    self.assertIn(action, {"logs:CreateLogGroup", "logs:CreateLogStream",
                                           "logs:PutLogEvents", "logs:GetLogEvents"})
                    self.assertNotIn("IntegrityLogGroup", resource)
                    self.assertIn("DestinationLogGroup", resource)
                    self.assertIn("RouteLogGroupNames", resource)
                elif service == "sqs":
                    self.assertIn(action, {"sqs:SendMessage", "sqs:ChangeMessageVisibility", "sqs:GetQueueUrl",
                                           "sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"})
                    allowed = [{"Fn::GetAtt": ["DeliveryQueue", "Arn"]}]
                    if action == "sqs:SendMessage":
                        allowed.append({"Fn::GetAtt": ["DeadLetterQueue", "Arn"]})
                    self.assertIn(statement["Resource"], allowed)
                elif service == "dynamodb":
                    self.assertIn(action, {"dynamodb:GetItem", "dynamodb:PutItem"})
                    self.assertEqual(statement["Resource"], {"Fn::GetAtt": ["CheckpointTable", "Arn"]})
                else:
                    self.fail(f"forwarder has an unexpected action {action}")
            self.assertNotEqual(statement["Resource"], "*")

    def test_forwarder_decrypts_only_when_the_trail_has_a_key(self):
        policy = self.role("ForwarderFunction")["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
        for statement in policy:
            if "kms:Decrypt" in text(statement):
                self.assertEqual(statement["Fn::If"][0], "TrailKey")
                self.assertEqual(statement["Fn::If"][2], {"Ref": "AWS::NoValue"})

    def test_validator_reads_and_lists_trail_files_and_writes_only_verdicts(self):
        seen = set()
        for statement in statements(self.role("ValidatorFunction")):
            resource = text(statement["Resource"])
            for action in actions(statement):
                seen.add(action)
                if statement["Resource"] == "*":
                    self.assertIn(action, RESOURCE_STAR_ALLOWED)
                elif action == "s3:GetObject":
                    self.assertRegex(resource, r"TrailBucketName\}/\$\{Prefix\}AWSLogs/\*")
                elif action == "s3:ListBucket":
                    self.assertIn("AWSLogs/*", text(statement["Condition"]["StringLike"]["s3:prefix"]))
                elif action == "kms:Decrypt":
                    self.assertIn("TrailKey", resource)
                elif action.startswith("logs:") and statement["Sid"] == "OwnLogs":
                    self.assertIn(action, {"logs:CreateLogStream", "logs:PutLogEvents"})
                    self.assertEqual(statement["Resource"], {"Fn::GetAtt": ["ValidatorFunctionLogGroup", "Arn"]})
                elif action == "logs:GetLogEvents":
                    # The audit reads the forwarder's groups back, and nothing else.
                    self.assertEqual(statement["Sid"], "ReadForwardedGroups")
                    self.assertIn("DestinationLogGroup", resource)
                    self.assertIn("RouteLogGroupNames", resource)
                elif action.startswith("logs:"):
                    self.assertIn(action, {"logs:CreateLogStream", "logs:PutLogEvents"})
                    self.assertIn("IntegrityLogGroup", resource)
                    self.assertNotIn("DestinationLogGroup", resource)
                elif action in ("sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"):
                    self.assertEqual(statement["Resource"], {"Fn::GetAtt": ["DigestQueue", "Arn"]})
                elif action == "sqs:SendMessage":
                    # Its own fan-out, and repairs of files not forwarded to the delivery queue.
                    self.assertIn(statement["Resource"], [{"Fn::GetAtt": ["DigestQueue", "Arn"]},
                                                          {"Fn::GetAtt": ["DeliveryQueue", "Arn"]}])
                elif action in ("dynamodb:GetItem", "dynamodb:BatchGetItem"):
                    self.assertEqual(statement["Resource"], {"Fn::GetAtt": ["CheckpointTable", "Arn"]})
                else:
                    self.fail(f"validator has an unexpected action {action}")
        self.assertLessEqual(
            {"cloudtrail:ListPublicKeys", "cloudtrail:DescribeTrails", "organizations:DescribeOrganization",
             "sqs:SendMessage", "dynamodb:BatchGetItem"},
            seen,
        )

    def test_the_validator_reconciles_with_the_forwarders_table_and_repairs_through_its_queue(self):
        variables = self.function("ValidatorFunction")["Properties"]["Environment"]["Variables"]
        self.assertEqual(variables["CHECKPOINT_TABLE_NAME"], {"Ref": "CheckpointTable"})
        self.assertEqual(variables["REPAIR_QUEUE_URL"], {"Ref": "DeliveryQueue"})
        self.assertEqual(variables["FORWARD_GRACE_MINUTES"], "60")
        forwarder = self.function("ForwarderFunction")["Properties"]["Environment"]["Variables"]
        self.assertEqual(forwarder["CHECKPOINT_TABLE_NAME"], variables["CHECKPOINT_TABLE_NAME"])
        # The delivery queue's Deny excepts the validator's role, or its repairs are refused.
        deny = self.bucket_statements("DeliveryQueuePolicy")["OnlyTheTrailAndTheForwarder"]
        self.assertIn("ValidatorFunctionRole", text(deny["Condition"]["ArnNotLike"]["aws:PrincipalArn"]))
        alarm = text(self.resources["ForwardingIncomplete"]["Properties"])
        for metric in ("LogFilesNotForwarded", "LogFilesForwardedDiffers"):
            self.assertIn(metric, alarm)

    def test_the_validator_fans_out_to_its_own_queue_and_checks_for_silence_every_hour(self):
        validator = self.function("ValidatorFunction")["Properties"]
        self.assertEqual(validator["Environment"]["Variables"]["DIGEST_QUEUE_URL"], {"Ref": "DigestQueue"})
        queue_events = [e for e in validator["Events"].values() if e["Type"] == "SQS"]
        self.assertEqual([e["Properties"]["Queue"] for e in queue_events], [{"Fn::GetAtt": ["DigestQueue", "Arn"]}])
        late = validator["Events"]["HourlyDigestsLate"]["Properties"]
        self.assertEqual(late["ScheduleExpression"], "rate(1 hour)")
        self.assertIn('checkDigestsLate', text(late["Input"]))
        self.assertEqual(self.resources["DigestsLate"]["Properties"]["MetricName"], "DigestsLate")

    def test_only_the_digest_rule_and_the_validator_send_to_the_digest_queue_and_its_concurrency_is_bounded(self):
        deny = self.bucket_statements("DigestQueuePolicy")["OnlyTheTrailAndTheValidator"]
        self.assertEqual((deny["Effect"], deny["Principal"], deny["Action"]), ("Deny", "*", "sqs:SendMessage"))
        with_rule, without_rule = deny["Condition"]["Fn::If"][1:]
        self.assertEqual(with_rule["ArnNotLike"]["aws:SourceArn"], {"Fn::GetAtt": ["DigestDeliveries", "Arn"]})
        for condition in (with_rule, without_rule):
            self.assertEqual(condition["ArnNotLike"]["aws:PrincipalArn"], {"Fn::GetAtt": ["ValidatorFunctionRole", "Arn"]})
        self.assertNotIn("Condition", self.resources["DigestQueuePolicy"], "the Deny holds in every deployment")
        event = self.function("ValidatorFunction")["Properties"]["Events"]["DigestDeliveries"]["Properties"]
        self.assertEqual(event["ScalingConfig"]["MaximumConcurrency"], {"Ref": "ValidatorMaximumConcurrency"})

    def test_the_daily_audit_is_an_option_of_the_day_before_with_the_forwarders_configuration(self):
        validator = self.function("ValidatorFunction")["Properties"]
        audit = validator["Events"]["DailyAudit"]["Properties"]
        self.assertEqual(audit["ScheduleExpression"], "cron(30 0 * * ? *)")
        self.assertEqual(audit["State"], {"Fn::If": ["AuditDailyOn", "ENABLED", "DISABLED"]})
        self.assertIn('{"auditLogs": {"trailArn": "${Arn}", "hoursBack": 27', audit["Input"]["Fn::If"][1]["Fn::Sub"][0])
        self.assertEqual(self.template["Parameters"]["AuditDaily"]["Default"], "false")
        variables = validator["Environment"]["Variables"]
        forwarder = self.function("ForwarderFunction")["Properties"]["Environment"]["Variables"]
        for name in ("LOG_GROUP_NAME", "EVENT_SELECTORS", "ROUTES", "ALLOWED_ACCOUNT_IDS"):
            self.assertEqual(variables[name], forwarder[name], name)
        alarm = self.resources["AuditFindings"]["Properties"]
        expression = next(m["Expression"] for m in alarm["Metrics"] if "Expression" in m)
        self.assertEqual(expression, "recordsMissing + recordsDuplicated + eventsUnsigned")
        self.assertIn("| `AuditDaily` |", self.readme)
        self.assertIn("| `AuditFindings` |", self.readme)

    def test_no_wildcard_action_is_allowed_to_a_function(self):
        for logical_id in FUNCTIONS:
            for statement in statements(self.role(logical_id)):
                for action in actions(statement):
                    self.assertNotIn("*", action, f"{logical_id}: {action}")

    def test_new_bucket_is_private_versioned_tls_only_and_notifies_the_delivery_queue(self):
        bucket = self.resources["TrailBucket"]["Properties"]
        self.assertTrue(all(bucket["PublicAccessBlockConfiguration"].values()))
        self.assertEqual(bucket["VersioningConfiguration"]["Status"], "Enabled")
        queues = bucket["NotificationConfiguration"]["QueueConfigurations"]
        # New content only: a copy in place (re-encryption) is not a delivery.
        self.assertEqual({q["Event"] for q in queues},
                         {"s3:ObjectCreated:Put", "s3:ObjectCreated:CompleteMultipartUpload"})
        for queue in queues:
            self.assertEqual(queue["Queue"], {"Fn::GetAtt": ["DeliveryQueue", "Arn"]})
        rule = self.resources["LogFileDeliveries"]["Properties"]["EventPattern"]["detail"]
        self.assertEqual(rule["reason"], ["PutObject", "CompleteMultipartUpload"])
        self.assertTrue(bucket["NotificationConfiguration"]["EventBridgeConfiguration"]["EventBridgeEnabled"])
        policy = self.resources["TrailBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"]
        deny = next(s for s in policy if isinstance(s, dict) and s.get("Sid") == "DenyInsecureTransport")
        self.assertEqual(deny["Condition"], {"Bool": {"aws:SecureTransport": "false"}})
        # Every CloudTrail grant is tied to this trail or to the listed accounts.
        for statement in json.loads(json.dumps(policy)):
            if "Fn::If" in statement:
                statement = statement["Fn::If"][1]
            if statement.get("Principal") == {"Service": "cloudtrail.amazonaws.com"}:
                keys = set(statement["Condition"]["StringEquals"])
                self.assertTrue(keys & {"aws:SourceArn", "aws:SourceAccount"}, statement["Sid"])

    def test_deliveries_reach_the_right_function_and_failures_the_dead_letter_queue(self):
        events = self.function("ForwarderFunction")["Properties"]["Events"]
        self.assertEqual(events["Deliveries"]["Properties"]["Queue"], {"Fn::GetAtt": ["DeliveryQueue", "Arn"]})
        self.assertEqual(events["Deliveries"]["Properties"]["FunctionResponseTypes"], ["ReportBatchItemFailures"])
        validator = self.function("ValidatorFunction")["Properties"]["Events"]
        self.assertEqual(validator["DigestDeliveries"]["Properties"]["Queue"], {"Fn::GetAtt": ["DigestQueue", "Arn"]})
        digest_keys = text(self.resources["DigestDeliveries"]["Properties"]["EventPattern"])
        self.assertIn("CloudTrail-Digest/", digest_keys)
        log_keys = text(self.resources["LogFileDeliveries"]["Properties"]["EventPattern"])
        self.assertNotIn("Digest", log_keys)
        for queue in ("DeliveryQueue", "DigestQueue"):
            redrive = self.resources[queue]["Properties"]["RedrivePolicy"]
            self.assertEqual(redrive["deadLetterTargetArn"], {"Fn::GetAtt": ["DeadLetterQueue", "Arn"]})

    def test_the_forwarder_checkpoints_every_object_in_an_encrypted_expiring_table(self):
        table = self.resources["CheckpointTable"]["Properties"]
        self.assertEqual(table["BillingMode"], "PAY_PER_REQUEST")
        self.assertEqual(table["KeySchema"], [{"AttributeName": "object", "KeyType": "HASH"}])
        self.assertEqual(table["TimeToLiveSpecification"], {"AttributeName": "expiresAt", "Enabled": True})
        self.assertTrue(table["SSESpecification"]["SSEEnabled"])
        variables = self.function("ForwarderFunction")["Properties"]["Environment"]["Variables"]
        self.assertEqual(variables["CHECKPOINT_TABLE_NAME"], {"Ref": "CheckpointTable"})
        events = self.function("ForwarderFunction")["Properties"]["Events"]["Deliveries"]["Properties"]
        self.assertEqual(events["ScalingConfig"]["MaximumConcurrency"], {"Ref": "MaximumConcurrency"})
        # The attribute names the adapter writes are the ones the table declares.
        adapter = (ROOT / "shared/src/aws/checkpoints.rs").read_text()
        self.assertIn('const OBJECT: &str = "object";', adapter)
        self.assertIn('"expiresAt"', adapter)

    def test_each_queue_hides_a_message_for_six_times_its_function_timeout(self):
        # Lambda's guidance for SQS event sources, so a slow batch is not delivered twice.
        default = self.template["Globals"]["Function"]["Timeout"]
        for logical_id, queue in (("ForwarderFunction", "DeliveryQueue"), ("ValidatorFunction", "DigestQueue")):
            timeout = self.function(logical_id)["Properties"].get("Timeout", default)
            self.assertGreaterEqual(self.resources[queue]["Properties"]["VisibilityTimeout"], 6 * timeout, queue)

    def test_alarm_topic_is_not_under_the_aws_managed_sns_key(self):
        # CloudWatch alarms cannot publish to a topic encrypted with alias/aws/sns.
        self.assertNotIn("alias/aws/sns", text(self.resources["AlarmTopic"]["Properties"]))

    def test_every_log_group_has_retention_and_each_function_logs_to_its_own(self):
        groups = {k for k, r in self.resources.items() if r["Type"] == "AWS::Logs::LogGroup"}
        # Destination, integrity, the two functions' own, and five route group slots.
        self.assertEqual(len(groups), 9)
        for group in groups:
            self.assertEqual(self.resources[group]["Properties"]["RetentionInDays"], {"Ref": "RetentionInDays"})
        for logical_id in FUNCTIONS:
            group = self.function(logical_id)["Properties"]["LoggingConfig"]["LogGroup"]["Ref"]
            self.assertIn(group, groups)

    def test_every_log_group_names_its_data_source_and_record_groups_share_one(self):
        # CloudWatch Logs' custom data sources: the tags cw:datasource:name/type, a name not
        # starting with aws or amazon.
        sources = {}
        for logical_id, resource in self.resources.items():
            if resource["Type"] != "AWS::Logs::LogGroup":
                continue
            tags = {t["Key"]: t["Value"] for t in resource["Properties"]["Tags"]}
            name, kind = tags["cw:datasource:name"], tags["cw:datasource:type"]
            self.assertFalse(name.lower().startswith(("aws", "amazon")), logical_id)
            sources[logical_id] = (name, kind)
        records = ("trailwatch_cloudtrail", "events")
        self.assertEqual(sources["DestinationLogGroup"], records)
        for slot in range(1, 6):
            self.assertEqual(sources[f"RouteLogGroup{slot}"], records)
        self.assertEqual(sources["IntegrityLogGroup"], ("trailwatch", "integrity"))
        self.assertEqual(sources["ForwarderFunctionLogGroup"], ("trailwatch", "forwarder"))
        self.assertEqual(sources["ValidatorFunctionLogGroup"], ("trailwatch", "validator"))

    def bucket_statements(self, logical_id):
        found = {}
        for statement in self.resources[logical_id]["Properties"]["PolicyDocument"]["Statement"]:
            if isinstance(statement, dict) and set(statement) == {"Fn::If"}:
                statement = statement["Fn::If"][1]
            found[statement["Sid"]] = statement
        return found

    def test_by_default_only_cloudtrail_writes_under_awslogs_of_a_created_bucket(self):
        statement = next(
            s for s in self.resources["TrailBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"]
            if "OnlyCloudTrailWritesTrailFiles" in text(s))
        condition, deny, otherwise = statement["Fn::If"]
        self.assertEqual(condition, "OnlyCloudTrailWrites")
        self.assertEqual(otherwise, {"Ref": "AWS::NoValue"})
        self.assertEqual((deny["Effect"], deny["Principal"], deny["Action"]), ("Deny", "*", "s3:PutObject"))
        self.assertIn("AWSLogs/*", text(deny["Resource"]))
        self.assertEqual(deny["Condition"], {"StringNotEqualsIfExists": {"aws:PrincipalServiceName": "cloudtrail.amazonaws.com"}})
        self.assertEqual(self.template["Parameters"]["TrailFilesOnlyFromCloudTrail"]["Default"], "true")
        self.assertIn("| `TrailFilesOnlyFromCloudTrail` |", self.readme)

    def test_writer_accounts_write_and_encrypt_only_from_their_own_trails(self):
        bucket = self.bucket_statements("TrailBucketPolicy")
        key = {}
        for statement in self.resources["TrailKey"]["Properties"]["KeyPolicy"]["Statement"]:
            if set(statement) == {"Fn::If"}:
                statement = statement["Fn::If"][1]
            key[statement["Sid"]] = statement
        for statement in (bucket["WriterAccountsAclCheck"], bucket["WriterAccountsWrite"], key["CloudTrailEncryptsWriterAccounts"]):
            condition = statement["Condition"]
            self.assertEqual(condition["StringEquals"]["aws:SourceAccount"], {"Ref": "WriterAccountIds"})
            trails = text(condition["ArnLike"]["aws:SourceArn"])
            self.assertIn("WriterAccountIds", trails)
            self.assertIn(":trail/*", trails)
        self.assertEqual(
            text(key["CloudTrailEncryptsWriterAccounts"]["Condition"]["StringLike"]["kms:EncryptionContext:aws:cloudtrail:arn"]),
            text(key["CloudTrailEncryptsWriterAccounts"]["Condition"]["ArnLike"]["aws:SourceArn"]),
        )
        self.assertRegex(text(bucket["WriterAccountsWrite"]["Resource"]), r"AWSLogs/\*")

    def test_only_the_trail_and_the_forwarder_may_send_to_the_delivery_queue(self):
        statements = self.bucket_statements("DeliveryQueuePolicy")
        deny = statements["OnlyTheTrailAndTheForwarder"]
        self.assertEqual((deny["Effect"], deny["Principal"], deny["Action"]), ("Deny", "*", "sqs:SendMessage"))
        self.assertEqual(deny["Resource"], {"Fn::GetAtt": ["DeliveryQueue", "Arn"]})
        sources = text(deny["Condition"]["ArnNotLike"]["aws:SourceArn"])
        for allowed in ("arn:${AWS::Partition}:s3:::${TrailBucketName}", "LogFileDeliveries", "ExistingTrailSnsTopicArn"):
            self.assertIn(allowed, sources)
        principals = text(deny["Condition"]["ArnNotLike"]["aws:PrincipalArn"])
        self.assertIn("ForwarderFunctionRole", principals)
        self.assertIn("QueueSenderArns", principals)
        # Every Allow is from a source the Deny excepts.
        for sid, statement in statements.items():
            if statement["Effect"] == "Allow":
                source = text(statement["Condition"].get("ArnLike", statement["Condition"].get("ArnEquals")))
                self.assertTrue(any(part in source for part in ("TrailBucketName", "LogFileDeliveries", "ExistingTrailSnsTopicArn")), sid)

    def test_access_logging_goes_to_a_private_bucket_of_its_own(self):
        trail_bucket = self.resources["TrailBucket"]["Properties"]
        logging = trail_bucket["LoggingConfiguration"]["Fn::If"]
        self.assertEqual(logging[0], "LogBucketAccess")
        self.assertEqual(logging[1]["DestinationBucketName"], {"Ref": "AccessLogBucket"})
        self.assertEqual(logging[2], {"Ref": "AWS::NoValue"})
        log_bucket = self.resources["AccessLogBucket"]
        self.assertEqual(log_bucket["Condition"], "LogBucketAccess")
        self.assertTrue(all(log_bucket["Properties"]["PublicAccessBlockConfiguration"].values()))
        statements = self.bucket_statements("AccessLogBucketPolicy")
        self.assertIn("DenyInsecureTransport", statements)
        writer = statements["S3ServerAccessLogs"]
        self.assertEqual(writer["Principal"], {"Service": "logging.s3.amazonaws.com"})
        self.assertIn("TrailBucketName", text(writer["Condition"]["ArnLike"]["aws:SourceArn"]))

    def test_every_check_checkov_skips_has_its_reason(self):
        lines = (ROOT / "scripts/checkov.yaml").read_text().splitlines()
        skipped = [i for i, line in enumerate(lines) if line.strip().startswith("- CKV_")]
        self.assertTrue(skipped)
        for index in skipped:
            # Up past the ids sharing one reason, then the reason's comment lines.
            line = index - 1
            while lines[line].strip().startswith("- CKV_"):
                line -= 1
            reason = ""
            while lines[line].strip().startswith("#"):
                reason = lines[line].strip() + reason
                line -= 1
            self.assertGreater(len(reason), 30, lines[index])

    def test_each_function_installs_the_subscriber_that_keeps_the_sdk_quiet(self):
        for binary in ("forwarder", "validator"):
            entry = (ROOT / "functions" / binary / "src" / "entry.rs").read_text()
            self.assertIn("trailwatch::aws::logging::init_subscriber", entry, binary)
            self.assertNotIn("init_default_subscriber", entry, binary)

    def test_the_stack_creates_each_route_group_as_it_creates_the_destination_group(self):
        destination = self.resources["DestinationLogGroup"]["Properties"]
        self.assertEqual(destination["LogGroupClass"], {"Ref": "LogGroupClass"})
        conditions = self.template["Conditions"]
        for slot in range(1, 6):
            group = self.resources[f"RouteLogGroup{slot}"]
            self.assertEqual(group["Condition"], f"HasRouteGroup{slot}")
            for setting in ("RetentionInDays", "KmsKeyId", "LogGroupClass"):
                self.assertEqual(group["Properties"][setting], destination[setting], setting)
            name = group["Properties"]["LogGroupName"]["Fn::Select"]
            self.assertEqual(name[0], slot - 1)
            self.assertIn("RouteLogGroupNames", text(name[1]))
            # The slot exists only with Routes and a name in that position.
            condition = text(conditions[f"HasRouteGroup{slot}"])
            self.assertIn("HasRoutes", condition)
            self.assertIn(text(name[1]), condition)
        variables = self.function("ForwarderFunction")["Properties"]["Environment"]["Variables"]
        self.assertEqual(variables["LOG_GROUP_CLASS"], {"Ref": "LogGroupClass"})
        # Not set: a recreated group keeps its events forever, and the forwarder holds no
        # PutRetentionPolicy to shorten any group's retention.
        self.assertNotIn("RETENTION_IN_DAYS", variables)

    def test_alarms_watch_dead_letters_errors_rejections_and_integrity_and_notify_the_topic(self):
        alarms = {k: r["Properties"] for k, r in self.resources.items() if r["Type"] == "AWS::CloudWatch::Alarm"}
        watched = {m for a in alarms.values() for m in re.findall(r'"MetricName": "(\w+)"', text(a))}
        watched |= {a["MetricName"] for a in alarms.values() if "MetricName" in a}
        self.assertLessEqual(
            {"ApproximateNumberOfMessagesVisible", "Errors", "Rejected", "ObjectsFailed",
             "DigestsInvalid", "BackfillDigestsInvalid", "LogFilesInvalid", "ChecksIncomplete",
             "ObjectsRewritten", "DigestsLate", "LogFilesNotForwarded", "LogFilesForwardedDiffers",
             "RecordsMissing", "RecordsDuplicated", "EventsUnsigned"},
            watched,
        )
        for alarm in alarms.values():
            self.assertEqual(alarm["AlarmActions"], [{"Ref": "AlarmTopic"}])

    def test_one_missing_log_file_counts_once_in_integrity_failures(self):
        alarm = self.resources["IntegrityFailures"]["Properties"]
        expression = next(m["Expression"] for m in alarm["Metrics"] if "Expression" in m)
        # LogFilesInvalid already counts the missing files (shared/src/digest/report.rs).
        self.assertEqual(expression, "digestsInvalid + backfillDigestsInvalid + logFilesInvalid")
        self.assertNotIn("LogFilesMissing", text(alarm))

    def test_with_routes_the_forwarder_may_still_write_the_destination_group(self):
        statement = next(s for s in statements(self.role("ForwarderFunction"))
                         if s.get("Sid") == "WriteDestinationGroups")
        condition, with_routes, without = statement["Resource"]["Fn::If"]
        self.assertEqual(condition, "HasRoutes")
        self.assertIn('"Destination": {"Ref": "DestinationLogGroup"}', text(with_routes))
        self.assertIn("log-group:${Destination}:*", text(with_routes))
        self.assertIn("RouteLogGroupNames", text(with_routes))
        self.assertIn("log-group:${DestinationLogGroup}:*", text(without))

    def test_every_parameter_is_in_a_group_and_create_trail_must_be_chosen(self):
        grouped = [p for g in self.template["Metadata"]["AWS::CloudFormation::Interface"]["ParameterGroups"]
                   for p in g["Parameters"]]
        self.assertEqual(sorted(grouped), sorted(self.template["Parameters"]))
        self.assertEqual(len(grouped), len(set(grouped)), "a parameter in two groups")
        self.assertNotIn("Default", self.template["Parameters"]["CreateTrail"])

    def test_the_deploy_prints_what_it_leaves_undone(self):
        warnings = self.template["Outputs"]["Warnings"]
        self.assertEqual(warnings["Condition"], "HasWarnings")
        said = text(warnings["Value"])
        for part in ("AlarmEmail is empty", "ExistingTrailArn is empty", "DryRun is true"):
            self.assertIn(part, said)
        conditions = text(self.template["Conditions"]["HasWarnings"])
        for condition in ("HasAlarmEmail", "ValidateDaily", "DryRunOn"):
            self.assertIn(condition, conditions)

    def test_emitted_metric_names_are_the_ones_the_alarms_watch(self):
        emitted = "".join((ROOT / path).read_text() for path in (
            "shared/src/metrics.rs", "shared/src/validator/metrics.rs", "shared/src/validator/outcome.rs"))
        for name in ("Rejected", "ObjectsFailed", "DigestsInvalid", "BackfillDigestsInvalid",
                     "RecordsMissing", "RecordsDuplicated", "EventsUnsigned",
                     "LogFilesInvalid", "LogFilesMissing",
                     "ChecksIncomplete", "ObjectsRewritten", "DigestsLate", "LogFilesNotForwarded",
                     "LogFilesForwardedDiffers"):
            self.assertIn(f'"{name}"', emitted)

    @unittest.skipUnless(os.environ.get("SAM_BUILD_DIR"), "scripts/test sets SAM_BUILD_DIR after sam build")
    def test_sam_build_produced_an_arm64_bootstrap_per_function(self):
        build = Path(os.environ["SAM_BUILD_DIR"])
        for logical_id in FUNCTIONS:
            bootstrap = build / logical_id / "bootstrap"
            header = bootstrap.read_bytes()[:20]
            self.assertEqual(header[:4], b"\x7fELF", bootstrap)
            # e_machine 183 is EM_AARCH64.
            self.assertEqual(int.from_bytes(header[18:20], "little"), 183, bootstrap)
            self.assertTrue(os.access(bootstrap, os.X_OK))


class AfterSamTransform(TemplateCase):
    """The template as CloudFormation receives it, after SAM's transform (the translator
    `sam validate` and `sam deploy` use): what SAM adds is reviewed too."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        from samtranslator.translator.transform import transform

        class NoManagedPolicies:
            def load(self):
                return {}

        template = json.loads(json.dumps(cls.template))
        for logical_id in FUNCTIONS:
            # As `sam package` leaves it.
            template["Resources"][logical_id]["Properties"]["CodeUri"] = "s3://bucket/code.zip"
        os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
        cls.transformed = transform(template, {}, NoManagedPolicies())["Resources"]

    def test_no_role_has_a_managed_policy_and_each_function_runs_as_its_own(self):
        roles = {k: r for k, r in self.transformed.items() if r["Type"] == "AWS::IAM::Role"}
        for logical_id, role in roles.items():
            self.assertNotIn("ManagedPolicyArns", role["Properties"], logical_id)
        self.assertNotIn("AWSLambdaBasicExecutionRole", json.dumps(self.transformed))
        for logical_id in FUNCTIONS:
            self.assertEqual(self.transformed[logical_id]["Properties"]["Role"],
                             {"Fn::GetAtt": [f"{logical_id}Role", "Arn"]})

    def test_only_the_functions_write_log_events_and_each_only_its_own_groups(self):
        writers = {}
        for logical_id, resource in self.transformed.items():
            if resource["Type"] not in ("AWS::IAM::Role", "AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
                continue
            for match in re.finditer(r'"logs:PutLogEvents"', json.dumps(resource)):
                writers.setdefault(logical_id, 0)
                writers[logical_id] += 1
        self.assertEqual(sorted(writers), ["ForwarderFunctionRole", "ValidatorFunctionRole"])
        def writes(role):
            found = []
            for policy in self.transformed[role]["Properties"]["Policies"]:
                for statement in json.loads(json.dumps(policy["PolicyDocument"]["Statement"])):
                    if isinstance(statement, dict) and set(statement) == {"Fn::If"}:
                        statement = statement["Fn::If"][1]
                    if "logs:PutLogEvents" in json.dumps(statement.get("Action", "")):
                        found.append(json.dumps(statement["Resource"]))
            return " ".join(found)
        forwarder, validator = writes("ForwarderFunctionRole"), writes("ValidatorFunctionRole")
        self.assertNotIn("IntegrityLogGroup", forwarder)
        self.assertNotIn("ValidatorFunctionLogGroup", forwarder)
        self.assertNotIn("DestinationLogGroup", validator)
        self.assertNotIn("ForwarderFunctionLogGroup", validator)
        roles = json.dumps(self.transformed["ForwarderFunctionRole"]) + json.dumps(self.transformed["ValidatorFunctionRole"])
        self.assertNotIn("PutRetentionPolicy", roles)


if __name__ == "__main__":
    unittest.main()


# The CIS AWS Foundations Benchmark patterns exactly as Security Hub publishes them for
# CloudWatch.1-14 (https://docs.aws.amazon.com/securityhub/latest/userguide/cloudwatch-controls.html;
# its checks fail a filter that differs), each with a record it must match and one it must not.
CIS_PATTERNS = {
    "RootUsage": ('{$.userIdentity.type="Root" && $.userIdentity.invokedBy NOT EXISTS && $.eventType !="AwsServiceEvent"}',
                  {"userIdentity": {"type": "Root"}, "eventType": "AwsApiCall", "eventName": "CreateUser"},
                  {"userIdentity": {"type": "Root", "invokedBy": "s3.amazonaws.com"}, "eventType": "AwsApiCall"}),
    "UnauthorizedApiCalls": ('{($.errorCode="*UnauthorizedOperation") || ($.errorCode="AccessDenied*")}',
                             {"errorCode": "Client.UnauthorizedOperation"},
                             {"errorCode": "ThrottlingException"}),
    "ConsoleSignInWithoutMfa": ('{ ($.eventName = "ConsoleLogin") && ($.additionalEventData.MFAUsed != "Yes") && ($.userIdentity.type = "IAMUser") && ($.responseElements.ConsoleLogin = "Success") }',
                                {"eventName": "ConsoleLogin", "additionalEventData": {"MFAUsed": "No"}, "userIdentity": {"type": "IAMUser"}, "responseElements": {"ConsoleLogin": "Success"}},
                                {"eventName": "ConsoleLogin", "additionalEventData": {"MFAUsed": "Yes"}, "userIdentity": {"type": "IAMUser"}, "responseElements": {"ConsoleLogin": "Success"}}),
    "IamPolicyChanges": ('{($.eventName=DeleteGroupPolicy) || ($.eventName=DeleteRolePolicy) || ($.eventName=DeleteUserPolicy) || ($.eventName=PutGroupPolicy) || ($.eventName=PutRolePolicy) || ($.eventName=PutUserPolicy) || ($.eventName=CreatePolicy) || ($.eventName=DeletePolicy) || ($.eventName=CreatePolicyVersion) || ($.eventName=DeletePolicyVersion) || ($.eventName=AttachRolePolicy) || ($.eventName=DetachRolePolicy) || ($.eventName=AttachUserPolicy) || ($.eventName=DetachUserPolicy) || ($.eventName=AttachGroupPolicy) || ($.eventName=DetachGroupPolicy)}',
                         {"eventName": "PutRolePolicy"}, {"eventName": "GetRolePolicy"}),
    "CloudTrailConfigurationChanges": ('{($.eventName=CreateTrail) || ($.eventName=UpdateTrail) || ($.eventName=DeleteTrail) || ($.eventName=StartLogging) || ($.eventName=StopLogging)}',
                                       {"eventName": "StopLogging"}, {"eventName": "LookupEvents"}),
    "ConsoleAuthenticationFailures": ('{($.eventName=ConsoleLogin) && ($.errorMessage="Failed authentication")}',
                                      {"eventName": "ConsoleLogin", "errorMessage": "Failed authentication"},
                                      {"eventName": "ConsoleLogin", "responseElements": {"ConsoleLogin": "Success"}}),
    "KmsKeyDisablingOrDeletion": ('{($.eventSource=kms.amazonaws.com) && (($.eventName=DisableKey) || ($.eventName=ScheduleKeyDeletion))}',
                                  {"eventSource": "kms.amazonaws.com", "eventName": "ScheduleKeyDeletion"},
                                  {"eventSource": "kms.amazonaws.com", "eventName": "Decrypt"}),
    "S3BucketPolicyChanges": ('{($.eventSource=s3.amazonaws.com) && (($.eventName=PutBucketAcl) || ($.eventName=PutBucketPolicy) || ($.eventName=PutBucketCors) || ($.eventName=PutBucketLifecycle) || ($.eventName=PutBucketReplication) || ($.eventName=DeleteBucketPolicy) || ($.eventName=DeleteBucketCors) || ($.eventName=DeleteBucketLifecycle) || ($.eventName=DeleteBucketReplication))}',
                              {"eventSource": "s3.amazonaws.com", "eventName": "PutBucketPolicy"},
                              {"eventSource": "s3.amazonaws.com", "eventName": "GetObject"}),
    "ConfigChanges": ('{($.eventSource=config.amazonaws.com) && (($.eventName=StopConfigurationRecorder) || ($.eventName=DeleteDeliveryChannel) || ($.eventName=PutDeliveryChannel) || ($.eventName=PutConfigurationRecorder))}',
                      {"eventSource": "config.amazonaws.com", "eventName": "StopConfigurationRecorder"},
                      {"eventSource": "config.amazonaws.com", "eventName": "DescribeConfigRules"}),
    "SecurityGroupChanges": ('{($.eventName=AuthorizeSecurityGroupIngress) || ($.eventName=AuthorizeSecurityGroupEgress) || ($.eventName=RevokeSecurityGroupIngress) || ($.eventName=RevokeSecurityGroupEgress) || ($.eventName=CreateSecurityGroup) || ($.eventName=DeleteSecurityGroup)}',
                             {"eventName": "AuthorizeSecurityGroupIngress"}, {"eventName": "DescribeSecurityGroups"}),
    "NetworkAclChanges": ('{($.eventName=CreateNetworkAcl) || ($.eventName=CreateNetworkAclEntry) || ($.eventName=DeleteNetworkAcl) || ($.eventName=DeleteNetworkAclEntry) || ($.eventName=ReplaceNetworkAclEntry) || ($.eventName=ReplaceNetworkAclAssociation)}',
                          {"eventName": "CreateNetworkAclEntry"}, {"eventName": "DescribeNetworkAcls"}),
    "NetworkGatewayChanges": ('{($.eventName=CreateCustomerGateway) || ($.eventName=DeleteCustomerGateway) || ($.eventName=AttachInternetGateway) || ($.eventName=CreateInternetGateway) || ($.eventName=DeleteInternetGateway) || ($.eventName=DetachInternetGateway)}',
                              {"eventName": "AttachInternetGateway"}, {"eventName": "DescribeInternetGateways"}),
    "RouteTableChanges": ('{($.eventName=CreateRoute) || ($.eventName=CreateRouteTable) || ($.eventName=ReplaceRoute) || ($.eventName=ReplaceRouteTableAssociation) || ($.eventName=DeleteRouteTable) || ($.eventName=DeleteRoute) || ($.eventName=DisassociateRouteTable)}',
                          {"eventName": "CreateRoute"}, {"eventName": "DescribeRouteTables"}),
    "VpcChanges": ('{($.eventName=CreateVpc) || ($.eventName=DeleteVpc) || ($.eventName=ModifyVpcAttribute) || ($.eventName=AcceptVpcPeeringConnection) || ($.eventName=CreateVpcPeeringConnection) || ($.eventName=DeleteVpcPeeringConnection) || ($.eventName=RejectVpcPeeringConnection) || ($.eventName=AttachClassicLinkVpc) || ($.eventName=DetachClassicLinkVpc) || ($.eventName=DisableVpcClassicLink) || ($.eventName=EnableVpcClassicLink)}',
                   {"eventName": "ModifyVpcAttribute"}, {"eventName": "DescribeVpcs"}),
}

# CloudTrail record fields the saved queries may name (record contents:
# https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-event-reference-record-contents.html;
# aggregated events: .../cloudtrail-event-reference-aggregated-events.html), and Logs Insights'
# own @-fields.
RECORD_FIELDS = {
    "eventTime", "eventSource", "eventName", "awsRegion", "sourceIPAddress", "userAgent", "errorCode",
    "errorMessage", "readOnly", "eventCategory", "eventType", "recipientAccountId", "userIdentity.type",
    "userIdentity.arn", "additionalEventData.MFAUsed", "responseElements.ConsoleLogin",
    "requestParameters.keyId", "timeWindow.windowStart", "summary.primaryDimension.dimension",
}
INSIGHTS_WORDS = {"fields", "filter", "stats", "count", "as", "by", "sort", "desc", "asc", "limit", "and", "or",
                  "like", "in", "not"}


def metric_filter_matches(pattern, record):
    """A JSON metric filter pattern (the subset the CIS patterns use: $.field, = and != with quoted
    or bare values and * wildcards, NOT EXISTS, &&, ||, parentheses) against one record: the
    semantics of CloudWatch Logs' filter and pattern syntax for JSON log events."""
    tokens = re.findall(r'\$\.[A-Za-z0-9_.]+|"[^"]*"|&&|\|\||!=|=|NOT EXISTS|[(){}]|[A-Za-z0-9_.*:-]+', pattern)
    position = 0

    def peek():
        return tokens[position] if position < len(tokens) else None

    def take():
        nonlocal position
        position += 1
        return tokens[position - 1]

    def value_of(path):
        node = record
        for part in path[2:].split("."):
            if not isinstance(node, dict) or part not in node:
                return None
            node = node[part]
        return node

    def equals(actual, wanted):
        wanted = wanted.strip('"')
        if actual is None:
            return False
        text = actual if isinstance(actual, str) else json.dumps(actual)
        return re.fullmatch(".*".join(re.escape(p) for p in wanted.split("*")), text) is not None

    def term():
        if peek() == "(":
            take()
            result = either()
            assert take() == ")"
            return result
        field = take()
        operator = take()
        if operator == "NOT EXISTS":
            return value_of(field) is None
        wanted = take()
        actual = value_of(field)
        if operator == "=":
            return equals(actual, wanted)
        return actual is not None and not equals(actual, wanted)

    def both():
        result = term()
        while peek() == "&&":
            take()
            result = term() and result
        return result

    def either():
        result = both()
        while peek() == "||":
            take()
            result = both() or result
        return result

    assert take() == "{"
    matched = either()
    assert take() == "}" and peek() is None, pattern
    return matched


class CisAlarmsQueriesAndIndexes(TemplateCase):

    def test_the_fourteen_cis_filters_are_the_published_patterns_each_with_its_alarm(self):
        filters = {k: r for k, r in self.resources.items() if r["Type"] == "AWS::Logs::MetricFilter"}
        self.assertEqual(sorted(filters), sorted(f"Cis{name}Filter" for name in CIS_PATTERNS))
        for name, (pattern, _, _) in CIS_PATTERNS.items():
            metric_filter = filters[f"Cis{name}Filter"]
            self.assertEqual(metric_filter["Condition"], "CisAlarmsOn")
            properties = metric_filter["Properties"]
            self.assertEqual(properties["FilterPattern"], pattern, name)
            self.assertEqual(text(properties["LogGroupName"]),
                             text({"Fn::If": ["HasCisGroup", {"Ref": "CisAlarmsLogGroupName"}, {"Ref": "DestinationLogGroup"}]}))
            transformation = properties["MetricTransformations"][0]
            self.assertEqual(transformation, {"MetricNamespace": {"Ref": "CisMetricsNamespace"}, "MetricName": name, "MetricValue": "1"})
            alarm = self.resources[f"Cis{name}Alarm"]
            self.assertEqual(alarm["Condition"], "CisAlarmsOn")
            a = alarm["Properties"]
            self.assertEqual((a["MetricName"], a["Namespace"], a["Statistic"], a["Period"], a["EvaluationPeriods"]),
                             (name, {"Ref": "CisMetricsNamespace"}, "Sum", 300, 1))
            self.assertEqual((a["Threshold"], a["ComparisonOperator"], a["TreatMissingData"]),
                             (1, "GreaterThanOrEqualToThreshold", "notBreaching"))
            self.assertEqual(a["AlarmActions"], [{"Ref": "AlarmTopic"}])
        self.assertEqual(self.template["Parameters"]["CisAlarms"]["Default"], "false")
        self.assertEqual(self.template["Parameters"]["CisMetricsNamespace"]["Default"], "CISBenchmark")

    def test_each_cis_pattern_matches_what_it_watches_and_not_its_near_miss(self):
        for name, (pattern, matching, near_miss) in CIS_PATTERNS.items():
            self.assertTrue(metric_filter_matches(pattern, matching), name)
            self.assertFalse(metric_filter_matches(pattern, near_miss), name)
            # A record of plain reads matches none.
            self.assertFalse(metric_filter_matches(pattern, {"eventName": "GetObject", "eventSource": "s3.amazonaws.com",
                                                             "userIdentity": {"type": "AssumedRole"}}), name)

    def test_an_infrequent_access_group_is_refused_for_cis_alarms_with_the_reason(self):
        rule = self.template["Rules"]["CisAlarmsNeedStandardGroup"]
        self.assertEqual(rule["RuleCondition"], {"Fn::Equals": [{"Ref": "CisAlarms"}, "true"]})
        said = text(rule["Assertions"])
        for part in ("INFREQUENT_ACCESS", "LogGroupClass", "CisAlarmsLogGroupName", "RouteLogGroupNames",
                     "cannot hold any", "STANDARD"):
            self.assertIn(part, said)

    def test_saved_queries_sit_in_one_folder_over_the_forwarded_groups_and_name_real_fields(self):
        queries = {k: r["Properties"] for k, r in self.resources.items() if r["Type"] == "AWS::Logs::QueryDefinition"}
        self.assertEqual(len(queries), 7)
        for name, query in queries.items():
            self.assertTrue(query["Name"].startswith("trailwatch/"), name)
            self.assertIn("DestinationLogGroup", text(query["LogGroupNames"]))
            self.assertIn("RouteLogGroupNames", text(query["LogGroupNames"]))
            body = re.sub(r'"[^"]*"|/[^/]*/', " ", query["QueryString"])
            aliases = set(re.findall(r"\bas\s+(\w+)", body))
            for word in re.findall(r"(?<![@\w.])[A-Za-z][A-Za-z0-9]*(?:\.[A-Za-z][A-Za-z0-9]*)*", body):
                if word in INSIGHTS_WORDS or word in aliases:
                    continue
                self.assertIn(word, RECORD_FIELDS, f"{name}: {word}")
        asked = " ".join(q["Name"] for q in queries.values())
        for topic in ("root", "MFA", "access denied", "IAM and CloudTrail", "API callers", "KMS", "aggregated"):
            self.assertIn(topic, asked)

    def test_field_indexes_are_on_standard_groups_unless_turned_off(self):
        condition = text(self.template["Conditions"]["FieldIndexesOn"])
        self.assertIn('"FieldIndexes"', condition)
        self.assertIn('"STANDARD"', condition)
        for name in ["DestinationLogGroup"] + [f"RouteLogGroup{i}" for i in range(1, 6)]:
            policies = self.resources[name]["Properties"]["FieldIndexPolicies"]["Fn::If"]
            self.assertEqual(policies[0], "FieldIndexesOn")
            self.assertEqual(policies[1], [{"Fields": ["eventName", "eventSource", "userIdentity.arn",
                                                       "sourceIPAddress", "errorCode"]}])

    def test_aggregated_events_files_reach_the_forwarder_from_an_existing_bucket(self):
        rule = text(self.resources["LogFileDeliveries"]["Properties"]["EventPattern"])
        for folder in ("CloudTrail", "CloudTrail-Insight", "CloudTrail-Aggregated"):
            self.assertIn(f"AWSLogs/*/{folder}/*.json.gz", rule)


def emitted_metrics():
    """The metric names the code emits, by function: read from the EMF code, not retyped."""
    pattern = re.compile(r'\(\s*"([A-Z][A-Za-z]+)",\s*"(?:Count|Bytes|Seconds)"')
    def names(*paths):
        return {name for path in paths for name in pattern.findall((ROOT / path).read_text())}
    return {
        "forwarder": names("shared/src/metrics.rs"),
        "validator": names("shared/src/validator/metrics.rs", "shared/src/validator/outcome.rs"),
    }


class Dashboards(TemplateCase):
    """The dashboards' bodies as CloudWatch receives them (PutDashboard): valid JSON, widgets on
    the 24-column grid, and every metric of ours one the code emits, under the function that
    emits it."""

    PLACEHOLDERS = {"AWS::Region": "us-east-1", "Namespace": "trailwatch", "Forwarder": "fwd",
                    "Validator": "val", "DeliveryQueueName": "delivery", "DeadLetterQueueName": "dlq",
                    "Sources": "/trailwatch/cloudtrail' | SOURCE '/trailwatch/data"}
    DASHBOARDS = {"PipelineDashboard": "forwarder", "IntegrityDashboard": "validator"}

    def body(self, logical_id):
        resource = self.resources[logical_id]
        self.assertEqual(resource["Condition"], "DashboardsOn")
        body, variables = resource["Properties"]["DashboardBody"]["Fn::Sub"]
        for name in re.findall(r"\$\{([^}]+)\}", body):
            self.assertTrue(name == "AWS::Region" or name in variables, f"{logical_id}: ${{{name}}}")
        for name, value in self.PLACEHOLDERS.items():
            body = body.replace("${" + name + "}", value)
        self.assertLess(len(body.encode()), 1_000_000)
        return json.loads(body)

    def test_dashboards_are_on_by_default(self):
        self.assertEqual(self.template["Parameters"]["Dashboards"]["Default"], "true")
        self.assertEqual(self.template["Conditions"]["DashboardsOn"],
                         {"Fn::Equals": [{"Ref": "Dashboards"}, "true"]})

    def test_every_metric_of_ours_is_emitted_by_the_function_it_names_and_each_is_shown(self):
        emitted = emitted_metrics()
        shown = {function: set() for function in emitted}
        function_of = {"fwd": "forwarder", "val": "validator"}
        for logical_id, function in self.DASHBOARDS.items():
            for widget in self.body(logical_id)["widgets"]:
                self.assertIn(widget["type"], {"metric", "log", "text"})
                self.assertLessEqual(widget["x"] + widget["width"], 24, widget)
                for metric in widget["properties"].get("metrics", []):
                    namespace, name, dimension, value = metric[:4]
                    self.assertEqual(dimension, {"AWS/SQS": "QueueName"}.get(namespace, "FunctionName"))
                    if namespace == "AWS/Lambda":
                        self.assertEqual(function_of[value], function, metric)
                    if namespace != "trailwatch":
                        continue
                    self.assertIn(name, emitted[function_of[value]], f"{logical_id}: {name}")
                    self.assertEqual(function_of[value], function, metric)
                    shown[function].add(name)
        self.assertEqual(shown, emitted, "every emitted metric on a dashboard")

    def test_the_security_dashboard_runs_the_saved_queries_over_the_record_groups(self):
        saved = {r["Properties"]["QueryString"] for r in self.resources.values()
                 if r["Type"] == "AWS::Logs::QueryDefinition"}
        widgets = self.body("SecurityDashboard")["widgets"]
        source = "SOURCE '/trailwatch/cloudtrail' | SOURCE '/trailwatch/data' | "
        shown = set()
        for widget in widgets:
            self.assertEqual(widget["type"], "log")
            self.assertLessEqual(widget["x"] + widget["width"], 24, widget)
            query = widget["properties"]["query"]
            self.assertTrue(query.startswith(source), query)
            shown.add(query.removeprefix(source))
        # Each is a saved query, whose fields the CloudTrail record has (tested with them).
        self.assertEqual(shown, saved)
        sources = self.resources["SecurityDashboard"]["Properties"]["DashboardBody"]["Fn::Sub"][1]["Sources"]
        self.assertEqual(sources["Fn::If"][0], "HasRoutes")
        self.assertIn("RouteLogGroupNames", json.dumps(sources["Fn::If"][1]))
        self.assertEqual(sources["Fn::If"][2], {"Ref": "DestinationLogGroup"})


class ReadmeAgreesWithTheTemplate(TemplateCase):
    """README's Parameters and Alarms tables say what the template does."""

    def rows(self):
        """Each table row's first-cell names (`A`, `B` share a row) and its second cell."""
        found = {}
        for names, cell in re.findall(r"^\| (`[A-Za-z0-9]+`(?:, `[A-Za-z0-9]+`)*) \| ([^|]*) \|",
                                      self.readme, re.M):
            for name in re.findall(r"`([A-Za-z0-9]+)`", names):
                found[name] = cell
        return found

    def test_every_parameter_has_a_row_with_its_default(self):
        rows = self.rows()
        for name, parameter in self.template["Parameters"].items():
            self.assertIn(name, rows, f"{name} has no row in README")
            default = parameter.get("Default")
            if default not in (None, ""):
                self.assertIn(f"`{default}`", rows[name], f"{name}'s default in README")

    def test_every_alarm_has_a_row(self):
        rows = self.rows()
        for logical_id, resource in self.resources.items():
            if resource["Type"] == "AWS::CloudWatch::Alarm" and not logical_id.startswith("Cis"):
                self.assertIn(logical_id, rows, f"the alarm {logical_id} has no row in README")
