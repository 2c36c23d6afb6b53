//! Test support, for the functions' integration tests only (a dev-dependency): a real moto
//! server on a free loopback port, started once per test process and stopped when the process
//! exits, SDK configuration pointed at it, a fault-injecting proxy, and read-back helpers.
// Setup failures should panic the test with their message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

pub mod control_plane;
pub mod proxy;

use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use aws_config::retry::RetryConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_s3::config::Credentials;

pub struct Moto {
    /// Where the tests send their calls: moto behind a proxy that applies DynamoDB's calls one
    /// at a time, as DynamoDB applies each conditional write atomically.
    pub endpoint: String,
    /// moto itself.
    pub server: String,
    /// Kept open for the life of the process: when it closes, the wrapper stops moto.
    _guard: Mutex<Child>,
}

static MOTO: OnceLock<Moto> = OnceLock::new();

/// The moto server binary: `MOTO_SERVER`, or the project's pinned one in `.venv`.
fn moto_binary() -> PathBuf {
    if let Some(path) = std::env::var_os("MOTO_SERVER") {
        return PathBuf::from(path);
    }
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../.venv/bin/moto_server");
    assert!(
        path.exists(),
        "moto_server not found at {}: run `scripts/setup` (or `scripts/test`, which runs it) to install the pinned tools",
        path.display()
    );
    path
}

pub fn moto() -> &'static Moto {
    MOTO.get_or_init(|| {
        let port = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        // The shell waits on its stdin, our pipe; when this process exits, the pipe closes,
        // `read` returns and moto is stopped, even if the tests panicked.
        let script =
            r#""$0" -H 127.0.0.1 -p "$1" >/dev/null 2>&1 & moto=$!; read -r _; kill "$moto""#;
        let child = Command::new("sh")
            .args(["-c", script])
            .arg(moto_binary())
            .arg(port.to_string())
            .stdin(Stdio::piped())
            .spawn()
            .expect("start moto_server");
        let started = Instant::now();
        while TcpStream::connect((Ipv4Addr::LOCALHOST, port)).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "moto_server did not start on port {port}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        let server = format!("http://127.0.0.1:{port}");
        Moto {
            endpoint: proxy::start_atomic_dynamodb(&server),
            server,
            _guard: Mutex::new(child),
        }
    })
}

/// SDK configuration for `endpoint`, with fast retries so injected faults cost milliseconds.
pub async fn sdk_config_for(endpoint: &str) -> SdkConfig {
    sdk_config_with_attempts(endpoint, 6).await
}

/// As [`sdk_config_for`], with this many attempts per call (the SDK's default is 3).
pub async fn sdk_config_with_attempts(endpoint: &str, attempts: u32) -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .http_client(trailwatch::aws::http::https_client())
        .endpoint_url(endpoint)
        .retry_config(
            RetryConfig::standard()
                .with_max_attempts(attempts)
                .with_initial_backoff(Duration::from_millis(5)),
        )
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("testing", "testing", None, None, "moto"))
        .load()
        .await
}

/// Every event of a stream, oldest first, as (timestamp, message).
pub async fn stream_events(
    logs: &aws_sdk_cloudwatchlogs::Client,
    group: &str,
    stream: &str,
) -> Vec<(i64, String)> {
    let mut events = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let page = logs
            .get_log_events()
            .log_group_name(group)
            .log_stream_name(stream)
            .start_from_head(true)
            .set_next_token(token.clone())
            .send()
            .await
            .unwrap();
        let fresh = page.events();
        events.extend(
            fresh
                .iter()
                .map(|e| (e.timestamp().unwrap(), e.message().unwrap().to_owned())),
        );
        let next = page.next_forward_token().map(str::to_owned);
        if fresh.is_empty() || next == token {
            return events;
        }
        token = next;
    }
}

/// Names of the streams in a group.
pub async fn stream_names(logs: &aws_sdk_cloudwatchlogs::Client, group: &str) -> Vec<String> {
    let page = logs
        .describe_log_streams()
        .log_group_name(group)
        .send()
        .await
        .unwrap();
    let mut names: Vec<String> = page
        .log_streams()
        .iter()
        .filter_map(|s| s.log_stream_name().map(str::to_owned))
        .collect();
    names.sort();
    names
}

/// An S3 client with path-style addressing, as emulators need.
pub fn path_style_s3(sdk: &SdkConfig) -> aws_sdk_s3::Client {
    trailwatch::aws::s3::client(sdk)
}

/// A new queue; its URL.
pub async fn create_queue(sqs: &aws_sdk_sqs::Client, name: &str) -> String {
    let created = sqs.create_queue().queue_name(name).send().await;
    created.unwrap().queue_url().unwrap().to_owned()
}

/// Receives until `count` messages have come (each poll must bring some): their ids and bodies.
pub async fn receive_bodies(
    sqs: &aws_sdk_sqs::Client,
    queue_url: &str,
    count: usize,
) -> Vec<(String, String)> {
    let mut bodies = Vec::new();
    while bodies.len() < count {
        let received = sqs
            .receive_message()
            .queue_url(queue_url)
            .max_number_of_messages(10)
            .send()
            .await
            .unwrap();
        assert!(
            !received.messages().is_empty(),
            "only {} of {count} messages",
            bodies.len()
        );
        bodies.extend(received.messages().iter().map(|message| {
            let id = message.message_id().unwrap_or_default().to_owned();
            (id, message.body().unwrap_or_default().to_owned())
        }));
    }
    bodies
}

/// The checkpoint table as template.yaml declares it: partition key `object` (string),
/// on-demand.
pub async fn create_checkpoint_table(dynamodb: &aws_sdk_dynamodb::Client, table: &str) {
    use aws_sdk_dynamodb::types::{
        AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
    };
    dynamodb
        .create_table()
        .table_name(table)
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name("object")
                .attribute_type(ScalarAttributeType::S)
                .build()
                .expect("a valid table definition"),
        )
        .key_schema(
            KeySchemaElement::builder()
                .attribute_name("object")
                .key_type(KeyType::Hash)
                .build()
                .expect("a valid table definition"),
        )
        .billing_mode(BillingMode::PayPerRequest)
        .send()
        .await
        .expect("CreateTable on the emulator");
}

/// Runs a binary of the workspace as a person would: `args`, with `set` in its environment and
/// `unset` taken out of it. Its exit status and output.
pub fn run_binary(
    binary: &str,
    args: &[&str],
    set: &[(&str, &str)],
    unset: &[&str],
) -> std::process::Output {
    binary_command(binary, args, set, unset)
        .output()
        .expect("the binary runs")
}

/// Runs a binary as [`run_binary`] does with its stdout and stderr pipes whose readers are already
/// gone (`cmd 2>&1 | head -0`): every write fails with a broken pipe. Its exit status.
pub fn run_binary_unread(
    binary: &str,
    args: &[&str],
    set: &[(&str, &str)],
    unset: &[&str],
) -> std::process::ExitStatus {
    let (stdout_reader, stdout_writer) = std::io::pipe().expect("a pipe");
    let (stderr_reader, stderr_writer) = std::io::pipe().expect("a pipe");
    drop((stdout_reader, stderr_reader));
    binary_command(binary, args, set, unset)
        .stdout(stdout_writer)
        .stderr(stderr_writer)
        .status()
        .expect("the binary runs")
}

fn binary_command(
    binary: &str,
    args: &[&str],
    set: &[(&str, &str)],
    unset: &[&str],
) -> std::process::Command {
    let mut command = std::process::Command::new(binary);
    command.args(args);
    for name in unset {
        command.env_remove(name);
    }
    for (name, value) in set {
        command.env(name, value);
    }
    command
}

/// A binary's output as text.
pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// What `--version` prints for a binary built from this checkout: `<name> <version> (commit
/// <12 hex digits>` and, when tracked files differ from it, `, modified)`.
pub fn version_line_start(name: &str, version: &str) -> String {
    let output = std::process::Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .output()
        .expect("git runs");
    assert!(output.status.success(), "the tests run in a git checkout");
    format!("{name} {version} (commit {}", text(&output.stdout).trim())
}
