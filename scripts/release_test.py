"""Checks a release folder that scripts/release wrote (RELEASE_DIR): the zips hold an arm64 ELF
`bootstrap` and nothing else, the templates name only the zips as code, SHA256SUMS covers every
file, and `sam package` against the emulator uploads exactly those zips. scripts/test runs it.
"""

import base64
import hashlib
import json
import os
import socket
import subprocess
import tempfile
import time
import tomllib
import unittest
import zipfile
from pathlib import Path

import yaml
from cfnlint.decode import decode_str

ROOT = Path(__file__).resolve().parent.parent
RELEASE = Path(os.environ.get("RELEASE_DIR", ""))
FUNCTIONS = {"ForwarderFunction": "forwarder", "ValidatorFunction": "validator"}
VERSION = tomllib.loads((ROOT / "Cargo.toml").read_text())["workspace"]["package"]["version"]


def local_code(template):
    """Each function resource's code property: CodeUri (SAM) or Code (Lambda)."""
    found = {}
    for logical_id, resource in template["Resources"].items():
        if resource["Type"] == "AWS::Serverless::Function":
            found[logical_id] = resource["Properties"]["CodeUri"]
        elif resource["Type"] == "AWS::Lambda::Function":
            found[logical_id] = resource["Properties"]["Code"]
    return found


class ReleaseFolder(unittest.TestCase):
    def test_the_folder_is_named_for_the_version(self):
        self.assertEqual(RELEASE.name, f"trailwatch-{VERSION}")

    def test_each_zip_holds_only_an_arm64_elf_bootstrap_executable_with_a_fixed_time(self):
        for name in FUNCTIONS.values():
            with zipfile.ZipFile(RELEASE / f"{name}.zip") as archive:
                entries = archive.infolist()
                self.assertEqual([entry.filename for entry in entries], ["bootstrap"], name)
                entry = entries[0]
                self.assertEqual(entry.date_time, (1980, 1, 1, 0, 0, 0))
                self.assertEqual(entry.external_attr >> 16, 0o100755)
                header = archive.read("bootstrap")[:20]
            self.assertEqual(header[:4], b"\x7fELF", name)
            # e_machine 183 is EM_AARCH64.
            self.assertEqual(int.from_bytes(header[18:20], "little"), 183, name)

    def test_the_sam_template_names_the_zips_and_nothing_to_build(self):
        template = yaml.safe_load((RELEASE / "template.yaml").read_text())
        self.assertEqual(local_code(template), {k: f"{v}.zip" for k, v in FUNCTIONS.items()})
        for logical_id in FUNCTIONS:
            self.assertNotIn("Metadata", template["Resources"][logical_id])
        self.assertEqual(template["Metadata"]["AWS::ServerlessRepo::Application"]["SemanticVersion"],
                         VERSION)

    def test_the_transformed_template_has_no_transform_and_names_the_zips(self):
        template = json.loads((RELEASE / "template-transformed.json").read_text())
        self.assertNotIn("Transform", template)
        types = {resource["Type"] for resource in template["Resources"].values()}
        self.assertFalse({t for t in types if t.startswith("AWS::Serverless::")}, types)
        self.assertEqual(local_code(template), {k: f"{v}.zip" for k, v in FUNCTIONS.items()})

    def test_checksums_cover_every_file(self):
        listed = {}
        for line in (RELEASE / "SHA256SUMS").read_text().splitlines():
            digest, name = line.split("  ", 1)
            listed[name] = digest
        files = sorted(p.relative_to(RELEASE).as_posix() for p in RELEASE.rglob("*")
                       if p.is_file() and p.name != "SHA256SUMS")
        self.assertEqual(sorted(listed), files)
        for name, digest in listed.items():
            self.assertEqual(hashlib.sha256((RELEASE / name).read_bytes()).hexdigest(), digest, name)
        for expected in ["LICENSE", "README.md", "CHANGES.md", "forwarder.cdx.json",
                         "validator.cdx.json",
                         "template.yaml", "template-transformed.json", "docs/integrity.md"]:
            self.assertIn(expected, listed)

    def test_the_changes_are_this_versions_changelog_section(self):
        changes = (RELEASE / "CHANGES.md").read_text()
        self.assertTrue(changes.startswith(f"## {VERSION} - "), changes[:80])
        self.assertIn(changes, (ROOT / "CHANGELOG.md").read_text())

    def test_each_sbom_lists_its_binarys_crates_with_licenses_and_no_build_paths(self):
        for name in FUNCTIONS.values():
            text = (RELEASE / f"{name}.cdx.json").read_text()
            sbom = json.loads(text)
            self.assertEqual(sbom["bomFormat"], "CycloneDX")
            self.assertEqual(sbom["metadata"]["component"]["name"], name)
            names = {component["name"] for component in sbom["components"]}
            for crate in ["trailwatch-shared", "tokio", "aws-sdk-s3", "flate2", "lambda_runtime"]:
                self.assertIn(crate, names, name)
            # Test-only crates are not shipped.
            self.assertNotIn("trailwatch-test-support", names, name)
            self.assertTrue(all(c.get("licenses") for c in sbom["components"]), name)
            self.assertNotIn(str(ROOT), text)


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class PackagedAndDeployedInTheEmulator(unittest.TestCase):
    """The README's deploy from a release, against moto: `sam package` (as
    `aws cloudformation package`) of both templates uploads the zips as they are, the packaged
    templates pass the linters, and CloudFormation creates the stack from the transformed one."""

    @classmethod
    def setUpClass(cls):
        port = free_port()
        cls.endpoint = f"http://127.0.0.1:{port}"
        cls.moto = subprocess.Popen([str(ROOT / ".venv/bin/moto_server"), "-p", str(port)],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.2)
        cls.env = dict(os.environ, AWS_ENDPOINT_URL=cls.endpoint, AWS_ACCESS_KEY_ID="testing",
                       AWS_SECRET_ACCESS_KEY="testing", AWS_DEFAULT_REGION="us-east-1",
                       SAM_CLI_TELEMETRY="0")
        import boto3
        cls.session = boto3.Session(region_name="us-east-1", aws_access_key_id="testing",
                                    aws_secret_access_key="testing")
        cls.s3 = cls.client("s3")
        cls.s3.create_bucket(Bucket="artifacts")
        cls.scratch = tempfile.TemporaryDirectory()
        cls.packaged = {}
        for template_name in ["template.yaml", "template-transformed.json"]:
            output = Path(cls.scratch.name) / f"packaged-{template_name}.yaml"
            subprocess.run([str(ROOT / ".venv/bin/sam"), "package", "--template-file",
                            str(RELEASE / template_name), "--s3-bucket", "artifacts",
                            "--s3-prefix", f"trailwatch/{VERSION}", "--output-template-file",
                            str(output)], env=cls.env, check=True, capture_output=True)
            cls.packaged[template_name] = output

    @classmethod
    def client(cls, service):
        return cls.session.client(service, endpoint_url=cls.endpoint)

    @classmethod
    def tearDownClass(cls):
        cls.moto.terminate()
        cls.moto.wait()
        cls.scratch.cleanup()

    def decoded(self, template_name):
        template, problems = decode_str(self.packaged[template_name].read_text())
        self.assertFalse(problems, template_name)
        return json.loads(json.dumps(template))

    def test_both_templates_package_to_the_zips_bytes_and_pass_the_linters(self):
        for template_name, packaged in self.packaged.items():
            template = self.decoded(template_name)
            for logical_id, name in FUNCTIONS.items():
                code = local_code(template)[logical_id]
                uri = code if isinstance(code, str) else f"s3://{code['S3Bucket']}/{code['S3Key']}"
                bucket, key = uri.removeprefix("s3://").split("/", 1)
                uploaded = self.s3.get_object(Bucket=bucket, Key=key)["Body"].read()
                self.assertEqual(uploaded, (RELEASE / f"{name}.zip").read_bytes(),
                                 f"{template_name} {logical_id}")
            lint = subprocess.run([str(ROOT / ".venv/bin/cfn-lint"), str(packaged)],
                                  capture_output=True, text=True)
            self.assertEqual(lint.returncode, 0, lint.stdout + lint.stderr)
            validate = subprocess.run([str(ROOT / ".venv/bin/sam"), "validate", "--lint",
                                       "--template-file", str(packaged)], env=self.env,
                                      capture_output=True, text=True)
            self.assertEqual(validate.returncode, 0, validate.stdout + validate.stderr)

    def test_cloudformation_creates_the_functions_from_the_zips_with_their_wiring(self):
        import logging

        from moto.cloudformation.parsing import resource_class_from_type

        # Its warning for each type it lacks: the assertion below names them once.
        logging.getLogger("moto").setLevel(logging.ERROR)
        template = self.decoded("template-transformed.json")
        # moto's CloudFormation has no model of these types: it skips them, and fails on an
        # output that reads one of their attributes; it also checks the outputs of conditions
        # that are false. Those outputs are left out here.
        unsupported = {logical_id for logical_id, resource in template["Resources"].items()
                       if not resource_class_from_type(resource["Type"])}
        self.assertEqual(
            sorted({template["Resources"][logical_id]["Type"] for logical_id in unsupported}),
            ["AWS::CloudTrail::Trail", "AWS::CloudWatch::Alarm", "AWS::Logs::MetricFilter",
             "AWS::Logs::QueryDefinition", "AWS::S3::BucketPolicy", "AWS::SNS::Subscription",
             "AWS::SQS::QueuePolicy", "AWS::Scheduler::Schedule"])
        template["Outputs"] = {name: output for name, output in template["Outputs"].items()
                               if "Condition" not in output
                               and not any(f'"{logical_id}"' in json.dumps(output)
                                           for logical_id in unsupported)}
        cloudformation = self.client("cloudformation")
        cloudformation.create_stack(
            StackName="trailwatch", TemplateBody=json.dumps(template),
            Capabilities=["CAPABILITY_IAM"],
            Parameters=[{"ParameterKey": "CreateTrail", "ParameterValue": "true"},
                        {"ParameterKey": "TrailBucketName", "ParameterValue": "org-trail-bucket"}])
        stack = cloudformation.describe_stacks(StackName="trailwatch")["Stacks"][0]
        self.assertEqual(stack["StackStatus"], "CREATE_COMPLETE")
        physical = {r["LogicalResourceId"]: r["PhysicalResourceId"] for r in
                    cloudformation.list_stack_resources(StackName="trailwatch")["StackResourceSummaries"]}

        lambda_ = self.client("lambda")
        sqs = self.client("sqs")
        queue_arn = {logical_id: sqs.get_queue_attributes(
            QueueUrl=physical[logical_id], AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
            for logical_id in ["DeliveryQueue", "DigestQueue"]}
        for logical_id, name in FUNCTIONS.items():
            function = lambda_.get_function(FunctionName=physical[logical_id])["Configuration"]
            zip_sha = base64.b64encode(
                hashlib.sha256((RELEASE / f"{name}.zip").read_bytes()).digest()).decode()
            self.assertEqual(function["CodeSha256"], zip_sha, name)
            self.assertEqual((function["Runtime"], function["Handler"]),
                             ("provided.al2023", "bootstrap"))
            variables = function["Environment"]["Variables"]
            self.assertEqual(variables["CHECKPOINT_TABLE_NAME"], physical["CheckpointTable"], name)
        forwarder = lambda_.get_function(FunctionName=physical["ForwarderFunction"])
        variables = forwarder["Configuration"]["Environment"]["Variables"]
        self.assertEqual(variables["CONTINUATION_QUEUE_URL"], physical["DeliveryQueue"])
        self.assertEqual(variables["LOG_GROUP_NAME"], physical["DestinationLogGroup"])
        mappings = {m["EventSourceArn"]: m for m in lambda_.list_event_source_mappings()["EventSourceMappings"]}
        delivery = mappings[queue_arn["DeliveryQueue"]]
        self.assertTrue(delivery["FunctionArn"].endswith(physical["ForwarderFunction"]))
        self.assertEqual(delivery["FunctionResponseTypes"], ["ReportBatchItemFailures"])
        digests = mappings[queue_arn["DigestQueue"]]
        self.assertTrue(digests["FunctionArn"].endswith(physical["ValidatorFunction"]))
        self.assertEqual(digests["ScalingConfig"], {"MaximumConcurrency": 5})


if __name__ == "__main__":
    unittest.main()
