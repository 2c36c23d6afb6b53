"""The demo's steps, run by scripts/demo inside the pinned virtual environment."""

import argparse
import collections
import datetime
import gzip
import hashlib
import json
import os
import pathlib
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.parse

import boto3

ROOT = pathlib.Path(__file__).resolve().parent.parent
WORK = ROOT / ".demo"
BUCKET = "trailwatch-demo-trail"
LOG_GROUP = "/trailwatch/demo"
CHECKPOINT_TABLE = "trailwatch-demo-checkpoints"
REGION = "us-east-1"
# The template for the demo's generated events.
SAMPLE_EVENT = ROOT / "events" / "s3-put-cloudtrail-log.json"
# The day every sample in events/ is written on. The demo moves them to a recent day (demo_day),
# so what it forwards and validates is within CloudWatch Logs' 14 days and the checkpoint table's
# 15-day TTL whatever day it runs.
SAMPLE_DAY = datetime.date(2026, 11, 25)


def demo_day():
    """The latest day whose 13:00 UTC, where the signed trail ends, is at least two hours past:
    the samples' digest is then delivered, and its region late by the hourly check's rule."""
    return (datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(hours=15)).date()


def on_day(text, day):
    """A sample's text moved from SAMPLE_DAY to `day`: its dates in each form keys and times use,
    and its epoch-millisecond times of that day."""
    for form in ("%Y-%m-%d", "%Y/%m/%d", "%Y%m%d"):
        text = text.replace(SAMPLE_DAY.strftime(form), day.strftime(form))
    start = int(datetime.datetime.combine(SAMPLE_DAY, datetime.time(), datetime.timezone.utc).timestamp() * 1000)
    shift = (day - SAMPLE_DAY).days * 86_400_000

    def moved(match):
        millis = int(match.group())
        return str(millis + shift) if start <= millis < start + 86_400_000 else match.group()
    return re.sub(r"\b1\d{12}\b", moved, text)


def samples_on_day(folder, day):
    """Copies of the samples in `folder` moved to `day`, under WORK; their paths."""
    copies = []
    for path in sorted(folder.glob("*.json")):
        copy = WORK / path.relative_to(ROOT)
        copy.parent.mkdir(parents=True, exist_ok=True)
        copy.write_text(on_day(path.read_text(), day))
        copies.append(copy)
    return copies


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port, what, process, seconds=120):
    deadline = time.time() + seconds
    while time.time() < deadline:
        if process.poll() is not None:
            sys.exit(f"demo: {what} exited before it listened on port {port} (see {WORK})")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    sys.exit(f"demo: {what} did not start on port {port}")


def trailgen(*args):
    """Runs the generator; returns the keys it wrote under WORK/bucket."""
    binary = ROOT / "target" / "debug" / "trailgen"
    out = subprocess.run([binary, "--out", WORK / "bucket", *args], check=True, capture_output=True, text=True)
    return out.stdout.split()


def trailgen_list(event):
    """The keys of the objects an event names, decoded as the forwarder decodes them."""
    binary = ROOT / "target" / "debug" / "trailgen"
    out = subprocess.run([binary, "--list-objects", event], check=True, capture_output=True, text=True)
    return out.stdout.split("\n")[:-1]


def deliver(s3, key, seed, min_bytes=300_000):
    """Puts an object at `key` the way CloudTrail would have; returns its size."""
    if "/CloudTrail-Digest/" in key:
        # The forwarder only needs to see that it is a digest; the validator reads real ones.
        body = gzip.compress(b"{}")
    else:
        trailgen("--key", key, "--seed", str(seed), "--bytes", str(min_bytes))
        body = (WORK / "bucket" / key).read_bytes()
    s3.put_object(Bucket=BUCKET, Key=key, Body=body)
    return len(body)


def s3_event(bucket, key, size):
    event = json.loads(SAMPLE_EVENT.read_text())
    record = event["Records"][0]
    record["s3"]["bucket"]["name"] = bucket
    record["s3"]["object"]["key"] = urllib.parse.quote_plus(key, safe="/")
    record["s3"]["object"]["size"] = size
    # The sample's made-up version names no object here (with_real_etags sets a real one).
    record["s3"]["object"].pop("versionId", None)
    return event


def with_real_etags(value, s3):
    """The event with each named object's ETag (and version, where the sample names one) as S3
    reports it, as a real notification has (the samples' are made up; the checkpoint compares
    the ETag with what it read, and a version pins the read). SQS bodies and SNS messages are
    JSON inside strings: patched inside."""
    if isinstance(value, list):
        return [with_real_etags(v, s3) for v in value]
    if isinstance(value, str) and value.startswith("{"):
        try:
            inner = json.loads(value)
        except ValueError:
            return value
        return json.dumps(with_real_etags(inner, s3))
    if not isinstance(value, dict):
        return value
    value = {k: with_real_etags(v, s3) for k, v in value.items()}
    if isinstance(value.get("body"), str) and "md5OfBody" in value:
        # A patched SQS body gets its MD5 again, as SQS computes it.
        value["md5OfBody"] = hashlib.md5(value["body"].encode()).hexdigest()
    for holder, bucket_of, key_field, etag_field, decode in (
            ("s3", lambda v: v["s3"]["bucket"]["name"], "key", "eTag", urllib.parse.unquote_plus),
            ("detail", lambda v: v["detail"]["bucket"]["name"], "key", "etag", lambda k: k)):
        obj = value.get(holder, {}).get("object") if isinstance(value.get(holder), dict) else None
        if isinstance(obj, dict) and etag_field in obj and key_field in obj:
            try:
                head = s3.head_object(Bucket=bucket_of(value), Key=decode(obj[key_field]))
                obj[etag_field] = head["ETag"].strip('"')
                # The template's bucket is versioned: a sample naming a version gets the real one.
                if "versionId" in obj and head.get("VersionId"):
                    obj["versionId"] = head["VersionId"]
            except Exception:
                pass  # not delivered (a deleted or missing object in the sample): as written
    return value


def functions_env(endpoint, routes, dry_run):
    """The functions' environment, as an env file for cargo lambda watch (it serves both)."""
    lines = [f"AWS_ENDPOINT_URL={endpoint}", "AWS_ACCESS_KEY_ID=testing", "AWS_SECRET_ACCESS_KEY=testing", f"AWS_REGION={REGION}", "AWS_LAMBDA_LOG_FORMAT=JSON", "RUST_LOG=info",
             # The validator: moto has no ListPublicKeys, so the signed trail's keys come from a file.
             f"INTEGRITY_LOG_GROUP_NAME={INTEGRITY_GROUP}", f"TRAIL_PUBLIC_KEYS_FILE={WORK / 'signed' / 'public-keys.json'}",
             # Exactly once: the table the template creates, here in the emulator.
             f"CHECKPOINT_TABLE_NAME={CHECKPOINT_TABLE}"]
    if routes:
        # Single quotes keep the JSON literal in the env file.
        lines.append(f"ROUTES='{json.dumps(json.loads(routes.read_text()))}'")
    else:
        lines.append(f"LOG_GROUP_NAME={LOG_GROUP}")
    if dry_run:
        lines.append("DRY_RUN=true")
    return "\n".join(lines) + "\n"


INTEGRITY_BUCKET = "trailwatch-demo-integrity"
INTEGRITY_GROUP = "/trailwatch/integrity"


def invoke(function, path, port, env):
    """`cargo lambda invoke` with a sample event; returns the function's JSON answer."""
    shown = path.relative_to(ROOT)
    print(f"\n$ cargo lambda invoke {function} --data-file {shown}")
    result = subprocess.run(["cargo", "lambda", "invoke", function, "--invoke-address", "127.0.0.1", "--invoke-port", str(port), "--data-file", path, "--output-format", "json"], cwd=ROOT, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        print(result.stdout + result.stderr)
        sys.exit(f"demo: invoking {function} with {shown} failed (its log: {WORK / 'functions.log'})")
    return json.loads(result.stdout)


def recheck_signed_file(path, signed, signed_logs, day):
    """The recheck sample, naming a log file of the demo's signed trail that its 13:00 digest
    lists, with the hash that digest signed (SHA-256 of the decompressed file)."""
    event = json.loads(path.read_text())
    body = json.loads(event["Records"][0]["body"])
    key = next(k for k in signed_logs if f"{day:%Y%m%d}T12" in k and "/us-east-1/" in k)
    digest_hash = hashlib.sha256(gzip.decompress((signed / key).read_bytes())).hexdigest()
    body["recheckForwarding"]["files"] = [{"s3Bucket": INTEGRITY_BUCKET, "s3ObjectKey": key, "hashValue": digest_hash, "digestEnd": f"{day.isoformat()}T13:00:00Z"}]
    event["Records"][0]["body"] = json.dumps(body)
    path.write_text(json.dumps(event, indent=2))


def integrity_demo(session, endpoint, env, invoke_port, day):
    """Validates a signed trail with the validator function and command, tampers with one log
    file, and validates again."""
    print("\ndemo: log file integrity validation")
    # The signed trail ends where the samples in events/validator/, moved to `day`, expect it.
    signed_trail_end = f"{day.isoformat()}T13:00:00Z"
    s3 = session.client("s3", endpoint_url=endpoint)
    s3.create_bucket(Bucket=INTEGRITY_BUCKET)
    signed = WORK / "signed"
    out = subprocess.run([ROOT / "target" / "debug" / "trailgen", "--signed-trail", signed, INTEGRITY_BUCKET, "3", signed_trail_end], check=True, capture_output=True, text=True)
    arn, start, end = out.stdout.split()
    manifest = json.loads((signed / "manifest.json").read_text())
    for entry in manifest:
        s3.put_object(Bucket=INTEGRITY_BUCKET, Key=entry["key"], Body=(signed / entry["key"]).read_bytes(), Metadata=entry["metadata"])
    print(f"  delivered {len(manifest)} signed files (3 hours of log files and digests) to s3://{INTEGRITY_BUCKET}")
    # Provenance: the forwarder reads the signed log files (recording each one's hash in the
    # checkpoint table), so the validator can show the forwarder sent what CloudTrail signed.
    signed_logs = [e["key"] for e in manifest if "/CloudTrail/" in e["key"]]
    notification = {"Records": [s3_event(INTEGRITY_BUCKET, key, (signed / key).stat().st_size)["Records"][0] for key in signed_logs]}
    notification_path = WORK / "events" / "signed-trail-log-files.json"
    notification_path.parent.mkdir(parents=True, exist_ok=True)
    notification_path.write_text(json.dumps(notification, indent=2))
    forwarded = invoke("forwarder", notification_path, invoke_port, env)
    print(f"  forwarded the {len(signed_logs)} signed log files: {forwarded.get('forwarded', 0)} records; each one's SHA-256 is in {CHECKPOINT_TABLE}")
    for path in samples_on_day(ROOT / "events" / "validator", day):
        if path.name == "sqs-recheck-forwarding.json":
            recheck_signed_file(path, signed, signed_logs, day)
        answer = invoke("validator", path, invoke_port, env)
        if answer.get("checkedForLateness"):
            print(f"  {path.name}: checked {answer['checkedForLateness']} account and region(s) for late digests; late: {answer['late'] or 'none'}")
            continue
        print(f"  {path.name}: validated {', '.join(answer['validated'])}\n  counts {json.dumps(answer['counts'])}; invalid: {answer['invalid'] or 'none'}")
    logs = session.client("logs", endpoint_url=endpoint)
    for stream in logs.describe_log_streams(logGroupName=INTEGRITY_GROUP)["logStreams"]:
        verdicts = logs.get_log_events(logGroupName=INTEGRITY_GROUP, logStreamName=stream["logStreamName"], startFromHead=True)["events"]
        statuses = collections.Counter(json.loads(e["message"])["status"] for e in verdicts)
        print(f"log group {INTEGRITY_GROUP}\n  stream {stream['logStreamName']}: {len(verdicts)} verdicts ({', '.join(f'{s} {n}' for s, n in sorted(statuses.items()))})")
    print("\ndemo: what the validator function concluded, at a glance")
    print(f"\n$ validator status --trail-arn {arn} --log-group {INTEGRITY_GROUP}")
    status = subprocess.run([ROOT / "target" / "debug" / "validator", "status", "--trail-arn", arn, "--log-group", INTEGRITY_GROUP],
                            env=dict(env, AWS_ENDPOINT_URL=endpoint), capture_output=True, text=True)
    for line in (status.stdout + status.stderr).splitlines():
        print(f"  {line}")
    print(f"  (exit status {status.returncode})")
    print("\ndemo: the validator as a command, like aws cloudtrail validate-logs")
    command = [ROOT / "target" / "debug" / "validator", "validate-logs", "--trail-arn", arn, "--start-time", start, "--end-time", end,
               "--s3-bucket", INTEGRITY_BUCKET, "--public-keys-file", signed / "public-keys.json"]

    def validate(label, extra):
        shown = " ".join(str(c) for c in command[1:]).replace(str(ROOT) + "/", "")
        print(f"\n$ validator {shown}{' ' + ' '.join(extra) if extra else ''}   # {label}")
        result = subprocess.run(command + extra, env=dict(env, AWS_ENDPOINT_URL=endpoint), capture_output=True, text=True)
        for line in (result.stdout + result.stderr).splitlines():
            print(f"  {line}")
        print(f"  (exit status {result.returncode})")

    validate("untouched", ["--verbose"])
    validate("what the forwarder sent against what CloudTrail signed", ["--checkpoint-table", CHECKPOINT_TABLE])
    victim = next(e["key"] for e in manifest if "/CloudTrail/" in e["key"])
    text = gzip.decompress(s3.get_object(Bucket=INTEGRITY_BUCKET, Key=victim)["Body"].read()).decode()
    s3.put_object(Bucket=INTEGRITY_BUCKET, Key=victim, Body=gzip.compress(text.replace('"eventName":"', '"eventName":"Tampered', 1).encode()))
    print(f"\ndemo: tampered with s3://{INTEGRITY_BUCKET}/{victim} (one eventName changed)")
    validate("after tampering", [])
    validate("after tampering: CloudWatch Logs still holds what was signed", ["--checkpoint-table", CHECKPOINT_TABLE])


def main():
    parser = argparse.ArgumentParser(description="trailwatch demo against a local emulator")
    parser.add_argument("--routes", type=pathlib.Path, help="a ROUTES JSON file, e.g. events/config/routes-three-groups.json (default: everything to /trailwatch/demo)")
    parser.add_argument("--dry-run", action="store_true", help="set DRY_RUN=true: write nothing, report what would be forwarded")
    args = parser.parse_args()
    shutil.rmtree(WORK, ignore_errors=True)
    (WORK / "events").mkdir(parents=True)
    moto_port, invoke_port = free_port(), free_port()
    endpoint = f"http://127.0.0.1:{moto_port}"
    env = dict(os.environ, AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing", AWS_REGION=REGION)
    env["PATH"] = f"{ROOT / '.venv' / 'bin'}{os.pathsep}{env['PATH']}"
    processes = []
    try:
        print(f"demo: starting moto server on {endpoint}")
        moto_log = open(WORK / "moto.log", "w")
        processes.append(subprocess.Popen([ROOT / ".venv" / "bin" / "moto_server", "-H", "127.0.0.1", "-p", str(moto_port)], stdout=moto_log, stderr=subprocess.STDOUT))
        wait_for_port(moto_port, "moto server", processes[-1])

        session = boto3.session.Session(aws_access_key_id="testing", aws_secret_access_key="testing", region_name=REGION)
        s3 = session.client("s3", endpoint_url=endpoint)
        logs = session.client("logs", endpoint_url=endpoint)
        s3.create_bucket(Bucket=BUCKET)
        # Versioned, as template.yaml's TrailBucket: notifications then carry a versionId.
        s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
        # As template.yaml's CheckpointTable: partition key `object`, on-demand, TTL on expiresAt.
        dynamodb = session.client("dynamodb", endpoint_url=endpoint)
        dynamodb.create_table(TableName=CHECKPOINT_TABLE, BillingMode="PAY_PER_REQUEST",
                              AttributeDefinitions=[{"AttributeName": "object", "AttributeType": "S"}],
                              KeySchema=[{"AttributeName": "object", "KeyType": "HASH"}])
        dynamodb.update_time_to_live(TableName=CHECKPOINT_TABLE, TimeToLiveSpecification={"AttributeName": "expiresAt", "Enabled": True})
        print(f"demo: created the checkpoint table {CHECKPOINT_TABLE}")

        day = demo_day()
        print(f"demo: delivering generated trail files for every sample in events/, moved from {SAMPLE_DAY} to {day}")
        events = samples_on_day(ROOT / "events", day)
        seeds = iter(range(100, 1000))
        for path in events:
            for key in trailgen_list(path):
                deliver(s3, key, next(seeds))
        # The samples with the ETags S3 gave the delivered objects, as real notifications carry.
        for path in events:
            path.write_text(json.dumps(with_real_etags(json.loads(path.read_text()), s3), indent=2))
        # One more, larger file, to show several PutLogEvents batches for one object.
        large = trailgen("--seed", "21", "--bytes", "1")[0]
        size = deliver(s3, large, 21, min_bytes=3_000_000)
        events.append(WORK / "events" / "s3-put-large-log.json")
        events[-1].write_text(json.dumps(with_real_etags(s3_event(BUCKET, large, size), s3), indent=2))

        env_file = WORK / "functions.env"
        env_file.write_text(functions_env(endpoint, args.routes, args.dry_run))
        print(f"demo: starting cargo lambda watch on 127.0.0.1:{invoke_port} (the first build takes a while)")
        watch_log = open(WORK / "functions.log", "w")
        processes.append(subprocess.Popen(["cargo", "lambda", "watch", "--invoke-address", "127.0.0.1", "--invoke-port", str(invoke_port), "--ignore-changes", "--timeout", "900", "--env-file", env_file], cwd=ROOT, env=env, stdout=watch_log, stderr=subprocess.STDOUT))
        wait_for_port(invoke_port, "cargo lambda watch", processes[-1])

        # S3 and SQS deliver at least once: the large file's notification comes a second time.
        events.append(events[-1])
        for i, path in enumerate(events):
            if i == len(events) - 1:
                print("\ndemo: the same notification delivered again (S3 and SQS deliver at least once)")
            summary = invoke("forwarder", path, invoke_port, env)
            if "batchItemFailures" in summary:
                failures = [f["itemIdentifier"] for f in summary["batchItemFailures"]]
                print(f"  SQS batch: {len(failures)} messages to retry {failures}; per-object lines are in {WORK / 'functions.log'}")
                continue
            for entry in summary.get("wouldForward", []):
                print(f"  dry run: would forward {entry['records']:>5} records, {entry['bytes']:>9} bytes  route {entry['route']:<11} {entry['category']:<16} {entry['eventSource']}")
            if not summary["objects"]:
                print("  acknowledged (nothing to read: an s3:TestEvent)")
            for obj in summary["objects"]:
                outcome = obj.get("skipped") and f"skipped: {obj['skipped']}" or obj.get("error") or f"{obj['records']} records, {obj['forwarded']} forwarded, {obj['filtered']} filtered, {obj['rejected']} rejected"
                print(f"  {obj['kind']:<8} s3://{obj['bucket']}/{obj['key']}\n           {outcome}")

        print(f"\ndemo: what landed in CloudWatch Logs ({endpoint}){' (dry run: nothing)' if args.dry_run else ''}")
        sample_message = None
        for group in logs.describe_log_groups()["logGroups"]:
            name = group["logGroupName"]
            print(f"log group {name}")
            for stream in logs.describe_log_streams(logGroupName=name)["logStreams"]:
                events_seen = []
                kwargs = dict(logGroupName=name, logStreamName=stream["logStreamName"], startFromHead=True)
                while True:
                    page = logs.get_log_events(**kwargs)
                    events_seen += page["events"]
                    if not page["events"] or page["nextForwardToken"] == kwargs.get("nextToken"):
                        break
                    kwargs["nextToken"] = page["nextForwardToken"]
                categories = collections.Counter(json.loads(e["message"]).get("eventCategory", "?") for e in events_seen)
                by_category = ", ".join(f"{c} {n}" for c, n in sorted(categories.items()))
                print(f"  stream {stream['logStreamName']}: {len(events_seen)} events ({by_category})")
                sample_message = sample_message or (events_seen[0]["message"] if events_seen else None)
        if sample_message:
            print(f"\none message, exactly as in the trail file:\n{sample_message[:600]}{' …' if len(sample_message) > 600 else ''}")
        integrity_demo(session, endpoint, env, invoke_port, day)
    finally:
        for process in reversed(processes):
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
        print("\ndemo: stopped the emulator and the local Lambda runtime")


if __name__ == "__main__":
    main()
