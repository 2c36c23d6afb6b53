//! A small CloudTrail control plane on 127.0.0.1, since moto has no `ListPublicKeys`: it answers
//! with the public keys of the region named in the request's SigV4 credential scope, as
//! CloudTrail does (each region signs its digests with its own key pair).

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::Ipv4Addr;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

/// A region's signing key: DER bytes and fingerprint.
#[derive(Debug, Clone)]
pub struct RegionKey {
    pub region: String,
    pub der: Vec<u8>,
    pub fingerprint: String,
}

/// Starts the control plane; returns its endpoint. Requests for `ListPublicKeys` in a region
/// with no key get an empty list; other operations a 400.
pub async fn start(keys: Vec<RegionKey>) -> String {
    let by_region: Arc<HashMap<String, RegionKey>> =
        Arc::new(keys.into_iter().map(|k| (k.region.clone(), k)).collect());
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let by_region = Arc::clone(&by_region);
            tokio::spawn(async move {
                let service = service_fn(move |request| {
                    let by_region = Arc::clone(&by_region);
                    async move { Ok::<_, Infallible>(answer(&request, &by_region)) }
                });
                let _ = http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    format!("http://{address}")
}

/// The region of `Credential=AKID/<date>/<region>/<service>/aws4_request`.
fn signed_region(request: &Request<Incoming>) -> Option<String> {
    let authorization = request.headers().get("authorization")?.to_str().ok()?;
    let credential = authorization.split("Credential=").nth(1)?;
    credential.split('/').nth(2).map(str::to_owned)
}

fn answer(
    request: &Request<Incoming>,
    by_region: &HashMap<String, RegionKey>,
) -> Response<Full<Bytes>> {
    let target = request
        .headers()
        .get("x-amz-target")
        .and_then(|t| t.to_str().ok())
        .unwrap_or_default();
    if !target.ends_with(".ListPublicKeys") {
        let body = r#"{"__type":"UnknownOperationException","message":"only ListPublicKeys"}"#;
        return json(StatusCode::BAD_REQUEST, body.to_owned());
    }
    let keys: Vec<serde_json::Value> = signed_region(request)
        .and_then(|region| by_region.get(&region))
        .map(|key| {
            serde_json::json!({
                "Value": aws_smithy_types::base64::encode(&key.der),
                "ValidityStartTime": 946_684_800,
                "ValidityEndTime": 4_102_444_800_i64,
                "Fingerprint": key.fingerprint,
            })
        })
        .into_iter()
        .collect();
    json(
        StatusCode::OK,
        serde_json::json!({ "PublicKeyList": keys }).to_string(),
    )
}

fn json(status: StatusCode, body: String) -> Response<Full<Bytes>> {
    Response::builder()
        .status(status)
        .header("content-type", "application/x-amz-json-1.1")
        .body(Full::new(Bytes::from(body)))
        .unwrap()
}
