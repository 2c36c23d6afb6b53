//! A small fault-injecting HTTP proxy on 127.0.0.1 in front of moto: each request is either
//! answered with a fault (throttling, a 5xx, access denied) or forwarded, possibly late. The
//! same proxy, with no faults, stands in front of moto for every test and applies DynamoDB's
//! calls one at a time (see [`start_atomic_dynamodb`]).

use std::convert::Infallible;
use std::net::{Ipv4Addr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full};
use hyper::body::{Body, Frame, Incoming, SizeHint};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpListener;

/// What to do with one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// CloudWatch Logs' ThrottlingException (HTTP 400, JSON protocol).
    Throttle,
    /// An HTTP 500 internal failure.
    ServerError,
    /// S3's 503 SlowDown.
    SlowDown,
    /// S3's 403 AccessDenied.
    AccessDenied,
    /// Forwarded after a delay.
    Delay(Duration),
    /// Held, then forwarded after the delay even if the client has gone (a put in flight when
    /// its process died).
    Hold(Duration),
    /// Forwarded (so applied), then answered 500 as if it failed: an answer lost.
    StoredThenServerError,
    /// DynamoDB's ProvisionedThroughputExceededException (HTTP 400, JSON 1.0).
    ThroughputExceeded,
    /// Forwarded, and the answer's body cut off after half its bytes (the connection breaks).
    CutBody,
}

/// What the rule sees of a request.
pub struct Seen<'a> {
    pub method: &'a str,
    pub path: &'a str,
    /// `X-Amz-Target` (JSON protocols: the operation, e.g. `Logs_20140328.PutLogEvents`).
    pub target: &'a str,
    /// The request body (what a rule may record: the parameters of a call moto ignores).
    pub body: &'a [u8],
}

pub type Rule = Arc<dyn Fn(&Seen<'_>) -> Option<Fault> + Send + Sync>;

/// Starts the proxy in front of `upstream`; returns its endpoint.
pub async fn start(upstream: &str, rule: Rule) -> String {
    serve(upstream, rule, None).await
}

/// Starts, on a thread and runtime of its own that live as long as the process, a proxy in
/// front of `upstream` (moto) that sends DynamoDB's calls on one at a time; returns its
/// endpoint. DynamoDB applies each conditional write atomically
/// (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/WorkingWithItems.html#WorkingWithItems.ConditionalUpdate);
/// moto's threaded server checks a condition and then writes without a lock, so two racing
/// claims could both succeed there and a test would prove moto's race rather than ours.
pub fn start_atomic_dynamodb(upstream: &str) -> String {
    let upstream = upstream.to_owned();
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("a runtime for the DynamoDB proxy");
        runtime.block_on(async move {
            let lock = Arc::new(tokio::sync::Mutex::new(()));
            let endpoint = serve(&upstream, Arc::new(|_: &Seen<'_>| None), Some(lock)).await;
            sender
                .send(endpoint)
                .expect("the test process waits for the proxy");
            std::future::pending::<()>().await;
        });
    });
    receiver.recv().expect("the DynamoDB proxy started")
}

/// One call at a time: a lock held from a DynamoDB request's arrival until its answer is read.
type OneAtATime = Option<Arc<tokio::sync::Mutex<()>>>;

async fn serve(upstream: &str, rule: Rule, dynamodb_lock: OneAtATime) -> String {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await.unwrap();
    let address: SocketAddr = listener.local_addr().unwrap();
    let upstream: Arc<str> = Arc::from(upstream);
    let client: Client<HttpConnector, Full<Bytes>> =
        Client::builder(TokioExecutor::new()).build_http();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let (rule, upstream, client, lock) = (
                Arc::clone(&rule),
                Arc::clone(&upstream),
                client.clone(),
                dynamodb_lock.clone(),
            );
            tokio::spawn(async move {
                let service = service_fn(move |request: Request<Incoming>| {
                    let (rule, upstream, client, lock) = (
                        Arc::clone(&rule),
                        Arc::clone(&upstream),
                        client.clone(),
                        lock.clone(),
                    );
                    async move {
                        let is_dynamodb = request
                            .headers()
                            .get("x-amz-target")
                            .is_some_and(|t| t.as_bytes().starts_with(b"DynamoDB_"));
                        let _one_at_a_time = match lock.as_ref().filter(|_| is_dynamodb) {
                            Some(lock) => Some(lock.lock().await),
                            None => None,
                        };
                        let answer = handle(request, &rule, &upstream, &client).await;
                        Ok::<_, Infallible>(answer)
                    }
                });
                let _ = http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    format!("http://{address}")
}

/// An answer's body: whole, or cut off.
type AnswerBody = BoxBody<Bytes, std::io::Error>;

/// The first half of a body, then the connection breaks.
struct CutOff(Option<Bytes>);

impl Body for CutOff {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, std::io::Error>>> {
        Poll::Ready(Some(match self.0.take() {
            Some(half) => Ok(Frame::data(half)),
            None => Err(std::io::Error::other("connection cut by the fault proxy")),
        }))
    }

    /// Unknown, so the answer keeps the whole body's content-length.
    fn size_hint(&self) -> SizeHint {
        SizeHint::default()
    }
}

async fn handle(
    request: Request<Incoming>,
    rule: &Rule,
    upstream: &str,
    client: &Client<HttpConnector, Full<Bytes>>,
) -> Response<AnswerBody> {
    let (parts, body) = request.into_parts();
    let body = body
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let target = parts
        .headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    let fault = rule(&Seen {
        method: parts.method.as_str(),
        path,
        target,
        body: &body,
    });
    if fault == Some(Fault::CutBody) {
        let (parts, whole) = forward(parts, body, upstream, client).await.into_parts();
        let whole = whole
            .collect()
            .await
            .map(|b| b.to_bytes())
            .unwrap_or_default();
        return Response::from_parts(parts, CutOff(Some(whole.slice(..whole.len() / 2))).boxed());
    }
    answer(fault, parts, body, upstream, client)
        .await
        .map(|body| body.map_err(|never| match never {}).boxed())
}

/// The answer to a request, with the fault the rule chose (other than a cut body).
async fn answer(
    fault: Option<Fault>,
    parts: hyper::http::request::Parts,
    body: Bytes,
    upstream: &str,
    client: &Client<HttpConnector, Full<Bytes>>,
) -> Response<Full<Bytes>> {
    match fault {
        Some(Fault::Throttle) => {
            return reply(
                StatusCode::BAD_REQUEST,
                "application/x-amz-json-1.1",
                r#"{"__type":"ThrottlingException","message":"Rate exceeded"}"#,
            );
        }
        Some(Fault::ServerError) => {
            return reply(
                StatusCode::INTERNAL_SERVER_ERROR,
                "application/x-amz-json-1.1",
                r#"{"__type":"InternalFailure","message":"injected"}"#,
            );
        }
        Some(Fault::SlowDown) => {
            return reply(
                StatusCode::SERVICE_UNAVAILABLE,
                "application/xml",
                "<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>",
            );
        }
        Some(Fault::AccessDenied) => {
            return reply(
                StatusCode::FORBIDDEN,
                "application/xml",
                "<Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>",
            );
        }
        Some(Fault::ThroughputExceeded) => {
            return reply(
                StatusCode::BAD_REQUEST,
                "application/x-amz-json-1.0",
                r#"{"__type":"com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException","message":"The level of configured provisioned throughput for the table was exceeded."}"#,
            );
        }
        Some(Fault::StoredThenServerError) => {
            let _ = forward(parts, body, upstream, client).await;
            return reply(
                StatusCode::INTERNAL_SERVER_ERROR,
                "application/x-amz-json-1.1",
                r#"{"__type":"InternalFailure","message":"injected after the request was applied"}"#,
            );
        }
        Some(Fault::Delay(delay)) => tokio::time::sleep(delay).await,
        Some(Fault::Hold(delay)) => {
            let (upstream, client) = (upstream.to_owned(), client.clone());
            let held = tokio::spawn(async move {
                tokio::time::sleep(delay).await;
                forward(parts, body, &upstream, &client).await
            });
            return held
                .await
                .unwrap_or_else(|_| reply(StatusCode::BAD_GATEWAY, "text/plain", "held"));
        }
        Some(Fault::CutBody) | None => {}
    }
    forward(parts, body, upstream, client).await
}

/// Sends the request on to `upstream`, and its answer back.
async fn forward(
    parts: hyper::http::request::Parts,
    body: Bytes,
    upstream: &str,
    client: &Client<HttpConnector, Full<Bytes>>,
) -> Response<Full<Bytes>> {
    let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    let mut forwarded = Request::builder()
        .method(parts.method.clone())
        .uri(format!("{upstream}{path}"));
    for (name, value) in &parts.headers {
        forwarded = forwarded.header(name, value);
    }
    let Ok(forwarded) = forwarded.body(Full::new(body)) else {
        return reply(StatusCode::BAD_GATEWAY, "text/plain", "bad request");
    };
    match client.request(forwarded).await {
        Ok(response) => {
            let (parts, body) = response.into_parts();
            let body = body
                .collect()
                .await
                .map(|b| b.to_bytes())
                .unwrap_or_default();
            Response::from_parts(parts, Full::new(body))
        }
        Err(error) => reply(StatusCode::BAD_GATEWAY, "text/plain", &error.to_string()),
    }
}

fn reply(status: StatusCode, content_type: &str, body: &str) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body.to_owned())));
    *response.status_mut() = status;
    if let Ok(value) = content_type.parse() {
        response.headers_mut().insert("content-type", value);
    }
    response
}
