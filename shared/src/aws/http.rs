//! The HTTPS client every AWS SDK client of the functions uses.

use aws_smithy_http_client::Builder;
use aws_smithy_http_client::tls::{Provider, rustls_provider::CryptoMode};
use aws_smithy_runtime_api::client::http::SharedHttpClient;

/// rustls with ring, for HTTPS and plain HTTP (emulators). Chosen over the SDK's default aws-lc
/// provider for a smaller `bootstrap`; the TLS is the same rustls.
pub fn https_client() -> SharedHttpClient {
    Builder::new()
        .tls_provider(Provider::Rustls(CryptoMode::Ring))
        .build_https()
}
