"""The Python reference forwarder's code path, as typical Python forwarders do it: read the whole
gzip file, json.load it, classify and filter each record, json.dumps it, sort and pack
PutLogEvents batches by size; the network is replaced by a sink. For scripts/bench only."""

import gzip
import json
import sys
import time
from datetime import datetime

MAX_BATCH_BYTES = 1_048_576
MAX_BATCH_EVENTS = 10_000
OVERHEAD = 26


def category(record):
    if "eventCategory" in record:
        return record["eventCategory"]
    if record.get("eventType") == "AwsCloudTrailInsight":
        return "Insight"
    return "Data" if record.get("managementEvent") is False else "Management"


def main(path):
    started = time.perf_counter()
    with gzip.open(path, "rb") as file:
        records = json.load(file)["Records"]
    batches, batch, size, forwarded = 0, [], 0, 0
    for record in records:
        if category(record) not in ("Management", "Data", "NetworkActivity", "Insight"):
            continue
        message = json.dumps(record, separators=(",", ":"))
        timestamp = int(datetime.strptime(record["eventTime"], "%Y-%m-%dT%H:%M:%SZ").timestamp() * 1000)
        event_size = len(message.encode()) + OVERHEAD
        if batch and (size + event_size > MAX_BATCH_BYTES or len(batch) >= MAX_BATCH_EVENTS):
            batch.sort(key=lambda event: event[0])
            batches += 1
            batch, size = [], 0
        batch.append((timestamp, message))
        size += event_size
        forwarded += 1
    if batch:
        batch.sort(key=lambda event: event[0])
        batches += 1
    print(f"records {len(records)} forwarded {forwarded} batches {batches} seconds {time.perf_counter() - started:.3f}")


if __name__ == "__main__":
    main(sys.argv[1])
