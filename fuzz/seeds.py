"""Writes the seed corpora in fuzz/corpus/<target>/: the shapes the fuzz targets must start
from (boundaries, nesting limits, record sizes at the CloudWatch Logs limit, broken gzip, odd
notifications). Deterministic; run again to refresh. python3 fuzz/seeds.py
"""
import gzip
import json
import struct
import zlib
from pathlib import Path

ROOT = Path(__file__).resolve().parent / "corpus"
# CloudWatch Logs' largest message: 1,048,576 bytes a batch less 26 bytes of overhead.
MAX_MESSAGE = 1_048_550
READ = 64 * 1024


def write(target: str, name: str, data: bytes) -> None:
    folder = ROOT / target
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_bytes(data)


def record(time: str = "2026-11-25T12:00:00Z", **fields) -> dict:
    return {"eventVersion": "1.11", "eventTime": time, "eventSource": "s3.amazonaws.com",
            "eventName": "GetObject", "awsRegion": "us-east-1", **fields}


def log_file(*records) -> bytes:
    return json.dumps({"Records": list(records)}).encode()


def sized_record(size: int, tail: str) -> bytes:
    """A record of exactly `size` bytes whose padding ends with `tail` (a multi-byte character
    at the edge)."""
    head = b'{"eventTime":"2026-11-25T12:00:00Z","pad":"'
    end = tail.encode() + b'"}'
    return head + b"p" * (size - len(head) - len(end)) + end


def at_boundary(byte: bytes) -> bytes:
    """A file whose byte at the 64 KiB read boundary is `byte`, inside a string."""
    head = b'{"Records":[{"eventTime":"2026-11-25T12:00:00Z","pad":"'
    pad = b"a" * (READ - len(head) - 1)
    escaped = b"\\\\" if byte == b"\\" else b'\\"'
    return head + pad + escaped + b'"}]}'


def nested(depth: int) -> bytes:
    return (b'{"Records":[{"eventTime":"2026-11-25T12:00:00Z","deep":' + b"[" * (depth - 1)
            + b"]" * (depth - 1) + b'},{"eventTime":"2026-11-25T12:00:01Z"}]}')


def at_block_edges() -> dict:
    """Escapes and a string's end on each side of byte 64 of the file, and 12 bytes later of the
    record: the edges of the 64-byte blocks the lanes classify at once."""
    seeds = {}
    head = '{"Records":[{"eventName":"'
    for offset in (61, 62, 63, 64, 65):
        for name, escape in (("quote", '\\"'), ("backslash", "\\\\"), ("unicode", "\\u00e9"), ("tab", "\t")):
            text = head + "a" * (offset - len(head)) + escape + 'x","eventTime":"2026-11-25T12:00:00Z"}]}'
            seeds[f"block-{name}-{offset}"] = text.encode()
    return seeds


def member(data: bytes) -> bytes:
    return gzip.compress(data, mtime=0)


def json_seeds() -> dict:
    seeds = {
        "plain": log_file(record(), record(readOnly=True)),
        "empty-records": b'{"Records":[]}',
        "other-keys": b'{"a":[1,{"b":"}"}],"Records":[{"eventTime":"2026-11-25T12:00:00Z"}],"z":null}',
        "backslash-at-boundary": at_boundary(b"\\"),
        "quote-at-boundary": at_boundary(b'"'),
        "bad-literal": b'{"Records":[tru"e]}',
        "trailing-comma": b'{"Records":[1,]}',
        "mismatched": b'{"Records":[}',
        "depth-128": nested(128),
        "depth-129": nested(129),
        "depth-512": nested(512),
        "depth-513": nested(513),
        "lone-surrogate": b'{"Records":[{"eventTime":"2026-11-25T12:00:00Z","x":"\\ud800"}]}',
        "invalid-utf8": b'{"Records":[{"eventTime":"2026-11-25T12:00:00Z","x":"\xff\xfe"}]}',
        "time-offset": log_file(record("2026-11-25T12:00:00+00:00")),
        "time-leap-second": log_file(record("2016-12-31T23:59:60Z")),
        "time-year-1": log_file(record("0001-01-01T00:00:00Z")),
        "bom": b"\xef\xbb\xbf" + log_file(record()),
        "escaped-records-key": b'{"Rec\\u006frds":[{"eventTime":"2026-11-25T12:00:00Z"}]}',
        "long-key": b'{"' + b"a" * 70_000 + b'":1,"Records":[]}',
        "duplicate-records": b'{"Records":[],"Records":[]}',
        "lenient-fields": log_file({"eventTime": "2026-11-25T12:00:00Z", "managementEvent": "true",
                                    "errorCode": 403, "eventID": "a", "eventId": "b"}),
        "duplicate-event-time": b'{"Records":[{"eventTime":"2026-11-25T12:00:00Z","eventTime":"x"}]}',
        # Aggregated events: no eventTime, the window's start instead, accountId.
        "aggregated": log_file({"eventVersion": "1.0", "accountId": "444455556666", "eventId": "e",
                                "eventCategory": "Aggregated", "eventType": "AwsAggregatedEvent",
                                "awsRegion": "eu-west-1", "eventSource": "s3.amazonaws.com",
                                "timeWindow": {"windowStart": "2026-11-25T12:00:00Z",
                                               "windowEnd": "2026-11-25T12:05:00Z", "windowSize": "PT5M"},
                                "summary": {"primaryDimension": {"dimension": "eventName",
                                            "statistics": [{"name": "GetObject", "value": 3}],
                                            "aggregationType": "Count"}, "details": []}},
                               {"eventCategory": "Aggregated", "timeWindow": {"windowStart": 7}},
                               {"eventCategory": "Aggregated", "timeWindow": "x"}),
        "trailing-garbage": log_file(record()) + b"garbage",
        "record-at-limit": b'{"Records":[' + sized_record(MAX_MESSAGE, "\u00e9") + b"]}",
        "record-over-limit": b'{"Records":[' + sized_record(MAX_MESSAGE + 1, "\u00e9") + b"]}",
        # What the one-pass reader leaves to serde, beside what it reads itself.
        "one-pass-fields": log_file({"eventTime": "2026-11-25T12:00:00Z", "readOnly": "false",
                                     "userIdentity": {"type": "Root", "arn": 1, "arn": "arn:aws:iam::1:root"},
                                     "resources": [7, {"type": "T", "ARN": "arn:x"}, {}],
                                     "n": [1.5e3, -0.0, 1e300]}),
        "one-pass-unsure": b'{"Records":[{"event\\u0054ime":"2026-11-25T12:00:00Z","errorCode":1e400},'
                           b'{"eventTime":"2026-11-25T12:00:00Z","x":"\\ud83d\\ude42","y":01},'
                           b'{"eventTime":"2026-11-25T12:00:00Z","resources":[1e999],"z":"a\x01b"}]}',
        "depth-100": nested(100),
        "depth-101": nested(101),
    }
    return seeds


def gzip_seeds(json_seeds: dict) -> dict:
    seeds = {name: member(data) for name, data in json_seeds.items()
             if name not in ("record-at-limit", "record-over-limit")}
    plain = log_file(record())
    seeds["record-at-limit"] = member(json_seeds["record-at-limit"])
    seeds["record-over-limit"] = member(json_seeds["record-over-limit"])
    seeds["two-members"] = member(plain[:10]) + member(plain[10:])
    seeds["empty-members"] = member(b"") * 50 + member(plain)
    seeds["trailing-garbage-after-member"] = member(plain) + b"not gzip"
    whole = bytearray(member(plain))
    struct.pack_into("<I", whole, len(whole) - 8, zlib.crc32(plain) ^ 1)
    seeds["bad-crc"] = bytes(whole)
    seeds["truncated"] = member(plain)[:-5]
    # The fuzz target's ceiling is 1 MiB: a file inflating to exactly it, one byte less and more.
    ceiling = 1 << 20
    body = lambda size: b'{"Records":[],"pad":"' + b"p" * (size - 23) + b'"}'
    seeds["ceiling-exact"] = member(body(ceiling))
    seeds["ceiling-plus-1"] = member(body(ceiling + 1))
    seeds["ceiling-minus-1"] = member(body(ceiling - 1))
    return seeds


def trigger_seeds() -> dict:
    s3 = {"eventVersion": "2.1", "eventSource": "aws:s3", "eventName": "ObjectCreated:Put",
          "s3": {"bucket": {"name": "b"}, "object": {"key": "AWSLogs/111122223333/CloudTrail/us-east-1/2026/11/25/111122223333_CloudTrail_us-east-1_20261125T1205Z_abcdefghijklmnop.json.gz", "size": 10}}}
    seeds = {
        "s3": {"Records": [s3]},
        "s3-no-key": {"Records": [{"s3": {"bucket": {"name": "b"}, "object": {}}}]},
        "sqs-sns-s3": {"Records": [{"messageId": "m", "eventSource": "aws:sqs",
                                    "body": json.dumps({"Type": "Notification", "Message": json.dumps({"Records": [s3]})})}]},
        "cloudtrail-sns": {"Records": [{"Sns": {"Message": json.dumps({"s3Bucket": "b", "s3ObjectKey": ["k1", 7, None, "k2"]})}}]},
        "eventbridge": {"source": "aws.s3", "detail-type": "Object Created",
                        "detail": {"bucket": {"name": "b"}, "object": {"key": "a+b", "etag": "e"}}},
        "continuation": {"trailwatchContinuation": {"bucket": "b", "key": "k", "nextRecord": 3}},
        "test-event": {"Event": "s3:TestEvent"},
        "deep-envelope": {"Message": json.dumps({"Message": json.dumps({"Message": json.dumps({"Message": "{}"})})})},
    }
    return {name: json.dumps(value).encode() for name, value in seeds.items()}


def selector_seeds() -> dict:
    record_text = json.dumps(record(resources=[{"type": "AWS::S3::Object", "ARN": "arn:aws:s3:::b/k"}],
                                    userIdentity={"arn": "arn:aws:iam::1:user/u"}, readOnly=False,
                                    managementEvent=False, eventCategory="Data")).encode()
    configs = {
        "basic": [{"ReadWriteType": "WriteOnly", "IncludeManagementEvents": True,
                   "DataResources": [{"Type": "AWS::S3::Object", "Values": ["arn:aws:s3:::b/"]}]}],
        "advanced": [{"Name": "s3", "FieldSelectors": [{"Field": "eventCategory", "Equals": ["Data"]},
                                                         {"Field": "resources.type", "Equals": ["AWS::S3::Object"]},
                                                         {"Field": "resources.ARN", "StartsWith": ["arn:aws:s3:::b/"]},
                                                         {"Field": "eventName", "NotEquals": ["DeleteObject"]}]}],
        "routes": [{"name": "m", "logGroupName": "/m", "logStreamName": "{account}-{eventSource}",
                    "selectors": [{"FieldSelectors": [{"Field": "eventCategory", "Equals": ["Management"]}]}]},
                   {"logGroupName": "/rest"}],
        "get-event-selectors": {"TrailARN": "arn:aws:cloudtrail:us-east-1:1:trail/t",
                                "AdvancedEventSelectors": [{"FieldSelectors": [{"Field": "readOnly", "Equals": ["false"]}]}]},
    }
    return {name: json.dumps(config).encode() + b"\0" + record_text for name, config in configs.items()}


def digest_seed() -> bytes:
    """An arbitrary-encoded Input is opaque; a JSON digest as the first field's bytes is enough
    for the fuzzer to start near the model."""
    digest = {"awsAccountId": "111122223333", "digestStartTime": "2026-11-25T11:00:00Z",
              "digestEndTime": "2026-11-25T12:00:00Z", "digestS3Bucket": "b", "digestS3Object": "k",
              "digestPublicKeyFingerprint": "f", "digestSignatureAlgorithm": "SHA256withRSA",
              "newestEventTime": None, "oldestEventTime": None, "previousDigestS3Bucket": None,
              "previousDigestS3Object": None, "previousDigestHashValue": None,
              "previousDigestHashAlgorithm": None, "previousDigestSignature": None,
              "logFiles": [{"s3Bucket": "b", "s3Object": "l", "hashValue": "00", "hashAlgorithm": "SHA-256",
                            "newestEventTime": "2026-11-25T11:59:00Z", "oldestEventTime": "2026-11-25T11:00:00Z"}]}
    return json.dumps(digest).encode()


def main() -> None:
    raw = json_seeds()
    for name, data in raw.items():
        write("split_json", name, data)
    for name, data in gzip_seeds(raw).items():
        write("split_gzip", name, data)
    # The lanes against the words: the splitter's seeds that fit its input limit, and block edges.
    for name, data in {**raw, **at_block_edges()}.items():
        if len(data) <= 70_000:
            write("split_lanes", name, data)
    for key in ["AWSLogs/111122223333/CloudTrail/us-east-1/2026/11/25/111122223333_CloudTrail_us-east-1_20261125T1205Z_abcdefghijklmnop.json.gz",
                "audit+trail/AWSLogs/o-aa11bb22cc/444455556666/CloudTrail-Digest/eu-west-1/2026/11/25/444455556666_CloudTrail-Digest_eu-west-1_t_us-east-1_20261125T120000Z.json.gz",
                "AWSLogs/111122223333/CloudTrail-Insight/us-east-1/2026/11/25/111122223333_CloudTrail-Insight_us-east-1_20261125T1205Z_abc.json.gz",
                "p%2Bq/AWSLogs/111122223333/CloudTrail/us-east-1/2026/11/25/x%FF", "AWSLogs/AWSLogs/"]:
        write("s3_key", str(zlib.crc32(key.encode())), key.encode())
    for name, data in trigger_seeds().items():
        write("trigger", name, data)
    for name, data in selector_seeds().items():
        write("selectors", name, data)
    write("digest", "digest-json", digest_seed())
    write("batcher", "ramp", bytes(range(256)) * 8)
    for text in ["2026-11-25", "20261125T000000Z", "2026-11-25 00:00:00", "2026-11-25T01:00:00+01:00",
                 "2026-11-25T10:30:15.250Z", "Nov 25, 2026 10:30 UTC", "25 November 2026", "2026/2/3T10",
                 "2024-02-29T23:59:59-0530", "11/25/2026", "s3://trail-bucket/", "s3://b/AWSLogs/"]:
        write("arguments", str(zlib.crc32(text.encode())), text.encode())


if __name__ == "__main__":
    main()
