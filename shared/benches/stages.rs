//! The forwarder's stages on generated records: reading a decompressed file's records with
//! their fields in one pass (and the serde reference readers of both), selecting with a
//! realistic selector set, packing batches, writing PutLogEvents bodies.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::sync::Arc;
use trailwatch::generate::TrailSpec;

use trailwatch::json_text::{Words, write_string, write_string_words};
use trailwatch::logs::{Batch, BatchBuilder, Destination, LogEvent, put_log_events_body};
use trailwatch::route::Routes;
use trailwatch::trail::split::{split_records, split_records_with};
use trailwatch::trail::{RecordFields, read_records};

const ROUTES: &str = include_str!("../../events/config/routes-three-groups.json");

fn records(count: usize) -> Vec<String> {
    TrailSpec::recent(3)
        .records()
        .take(count)
        .map(|r| r.text)
        .collect()
}

fn stages(c: &mut Criterion) {
    let texts = records(5_000);
    let bytes: usize = texts.iter().map(String::len).sum();
    let plain = format!("{{\"Records\":[{}]}}", texts.join(","));

    let mut group = c.benchmark_group("stages");
    group.throughput(Throughput::Bytes(bytes as u64));
    group.bench_function("split records and read fields, one pass", |b| {
        b.iter(|| {
            split_records(plain.as_bytes(), usize::MAX, |_, element| {
                black_box(element);
                Ok(())
            })
        })
    });
    group.bench_function(
        "split records and read fields, one pass, word at a time (before SIMD)",
        |b| {
            b.iter(|| {
                split_records_with::<Words, _, _>(plain.as_bytes(), usize::MAX, |_, element| {
                    black_box(element);
                    Ok(())
                })
            })
        },
    );
    group.bench_function("split records (serde reader, the reference)", |b| {
        b.iter(|| {
            read_records(plain.as_bytes(), |_, raw| {
                black_box(raw);
                Ok(())
            })
        })
    });
    group.bench_function("read fields (serde, the reference)", |b| {
        b.iter(|| {
            for text in &texts {
                let _ = black_box(RecordFields::parse(text).map(|f| f.event_time_millis()));
            }
        })
    });
    let routes = Routes::from_json(ROUTES).unwrap_or_else(|e| panic!("{e}"));
    let fields: Vec<RecordFields<'_>> = texts
        .iter()
        .filter_map(|t| RecordFields::parse(t).ok())
        .collect();
    group.bench_function("select (three routes)", |b| {
        b.iter(|| {
            for record in &fields {
                black_box(routes.route_for(record));
            }
        })
    });
    group.bench_function("pack batches", |b| {
        b.iter(|| {
            let mut builder = BatchBuilder::new();
            for (index, text) in texts.iter().enumerate() {
                let event = LogEvent {
                    timestamp: (index as i64 * 7919) % 300_000,
                    message: text.clone(),
                    record_index: index as u64,
                };
                let _ = black_box(builder.push(event));
            }
            black_box(builder.finish());
        })
    });
    group.finish();
    writing(c, &texts, bytes);
}

/// Appends a string as JSON, escaped.
type Escaper = fn(&str, &mut Vec<u8>);

/// The request bodies and the escaping in them.
fn writing(c: &mut Criterion, texts: &[String], bytes: usize) {
    let mut group = c.benchmark_group("stages");
    group.throughput(Throughput::Bytes(bytes as u64));
    let destination = Destination {
        log_group: Arc::from("/trailwatch/cloudtrail"),
        log_stream: Arc::from("111122223333_CloudTrail_us-east-1"),
    };
    let batch = Batch {
        counted_bytes: bytes + 26 * texts.len(),
        events: texts
            .iter()
            .enumerate()
            .map(|(index, text)| LogEvent {
                timestamp: index as i64,
                message: text.clone(),
                record_index: index as u64,
            })
            .collect(),
    };
    group.bench_function("write PutLogEvents bodies", |b| {
        b.iter(|| black_box(put_log_events_body(&destination, &batch)))
    });
    let mut escaped = Vec::with_capacity(2 * bytes);
    let escapers: [(&str, Escaper); 2] = [
        ("escape messages, lanes", write_string),
        (
            "escape messages, word at a time (before SIMD)",
            write_string_words,
        ),
    ];
    for (name, escape) in escapers {
        group.bench_function(name, |b| {
            b.iter(|| {
                escaped.clear();
                texts.iter().for_each(|text| escape(text, &mut escaped));
                black_box(escaped.len())
            })
        });
    }
    group.finish();
}

criterion_group!(benches, stages);
criterion_main!(benches);
