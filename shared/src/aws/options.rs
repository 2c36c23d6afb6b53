//! The AWS CLI's global options, for the commands that stand in for it (`validator
//! validate-logs`, `forwarder backfill`): where the SDK's credentials, endpoint and certificates
//! come from, and `--debug`.
//! The AWS CLI's own: https://docs.aws.amazon.com/cli/latest/reference/#options

use std::path::PathBuf;

use aws_config::SdkConfig;
use aws_smithy_http_client::tls::{Provider, TlsContext, TrustStore, rustls_provider::CryptoMode};
use aws_smithy_runtime_api::client::http::SharedHttpClient;
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;

/// The AWS CLI's global options this command takes.
#[derive(Debug, Default, Clone, PartialEq, Eq, clap::Args)]
pub struct AwsOptions {
    /// Credentials and settings from this profile of ~/.aws/config and ~/.aws/credentials
    /// (AWS_PROFILE when left out), as the AWS CLI.
    #[arg(long, value_name = "NAME")]
    pub profile: Option<String>,
    /// Send every AWS call of this command here, as AWS_ENDPOINT_URL does: a local emulator, a
    /// VPC endpoint. (The AWS CLI's validate-logs sends only CloudTrail's calls to it.)
    #[arg(long, value_name = "URL")]
    pub endpoint_url: Option<String>,
    /// Trust only the certificate authorities in this PEM file (a proxy's or a private CA's)
    /// instead of the system's, as the AWS CLI.
    #[arg(long, value_name = "FILE")]
    pub ca_bundle: Option<PathBuf>,
    /// Accepted for the AWS CLI's scripts, but certificates are still verified here: for a
    /// private or self-signed certificate, give its CA with --ca-bundle. Plain-HTTP endpoints
    /// (emulators) need neither.
    #[arg(long)]
    pub no_verify_ssl: bool,
    /// Log what the command and the SDK do on standard error: credentials, endpoints, each call
    /// and retry (never a request or response body).
    #[arg(long)]
    pub debug: bool,
}

/// Why the options could not be applied: printed in words.
#[derive(Debug, thiserror::Error)]
pub enum OptionsError {
    #[error("--ca-bundle {path}: {reason}; give a PEM file of certificate authorities")]
    CaBundle { path: String, reason: String },
    /// The AWS CLI's words for it.
    #[error("The config profile ({0}) could not be found")]
    ProfileNotFound(String),
}

/// What a command says when neither --region, the environment nor the profile gives a region.
pub const NO_REGION: &str = "You must specify a region: set AWS_REGION, or use a --profile that sets one (a profile that does not exist sets none)";

/// The warning `--no-verify-ssl` prints, since it changes nothing here.
pub const VERIFY_SSL_NOTE: &str = "--no-verify-ssl: certificates are still verified by this command; for a private or self-signed certificate give its CA with --ca-bundle FILE";

impl AwsOptions {
    /// The SDK configuration these options and `region` (when given) make, over the
    /// environment's and the profile files' settings.
    pub async fn sdk_config(&self, region: Option<&str>) -> Result<SdkConfig, OptionsError> {
        let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .http_client(self.http_client()?);
        if let Some(profile) = &self.profile {
            // Without this check the SDK would go on with the environment's credentials.
            if !profile_is_defined(profile).await {
                return Err(OptionsError::ProfileNotFound(profile.clone()));
            }
            loader = loader.profile_name(profile);
        }
        if let Some(url) = &self.endpoint_url {
            loader = loader.endpoint_url(url);
        }
        if let Some(region) = region {
            loader = loader.region(aws_config::Region::new(region.to_owned()));
        }
        Ok(loader.load().await)
    }

    fn http_client(&self) -> Result<SharedHttpClient, OptionsError> {
        let Some(path) = &self.ca_bundle else {
            return Ok(crate::aws::http::https_client());
        };
        let fail = |reason: String| OptionsError::CaBundle {
            path: path.display().to_string(),
            reason,
        };
        let pem = std::fs::read(path).map_err(|error| fail(error.to_string()))?;
        let certificates = CertificateDer::pem_slice_iter(&pem)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|error| fail(format!("not PEM: {error}")))?;
        if certificates.is_empty() {
            return Err(fail("no certificate in it".into()));
        }
        let mut roots = rustls::RootCertStore::empty();
        for certificate in certificates {
            roots
                .add(certificate)
                .map_err(|error| fail(format!("a certificate is not usable: {error}")))?;
        }
        let context = TlsContext::builder()
            .with_trust_store(TrustStore::empty().with_pem_certificate(pem))
            .build()
            .map_err(|error| fail(error.to_string()))?;
        Ok(aws_smithy_http_client::Builder::new()
            .tls_provider(Provider::Rustls(CryptoMode::Ring))
            .tls_context(context)
            .build_https())
    }
}

/// Whether ~/.aws/config or ~/.aws/credentials (or the files AWS_CONFIG_FILE and
/// AWS_SHARED_CREDENTIALS_FILE name) define `profile`, as aws-config reads them. Files that
/// cannot be read or parsed define nothing.
async fn profile_is_defined(profile: &str) -> bool {
    use aws_types::os_shim_internal::{Env, Fs};
    let files = aws_runtime::env_config::file::EnvConfigFiles::default();
    let loaded = aws_config::profile::load(
        &Fs::real(),
        &Env::real(),
        &files,
        Some(profile.to_owned().into()),
    )
    .await;
    loaded.is_ok_and(|profiles| profiles.get_profile(profile).is_some())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(pem: &[u8]) -> String {
        let path = std::env::temp_dir().join(format!("trailwatch-ca-{}.pem", pem.len()));
        std::fs::write(&path, pem).unwrap();
        let options = AwsOptions {
            ca_bundle: Some(path),
            ..AwsOptions::default()
        };
        options.http_client().map(|_| ()).unwrap_err().to_string()
    }

    #[test]
    fn a_ca_bundle_that_is_not_certificates_is_refused_in_words() {
        let empty = refused(b"");
        assert!(empty.contains("no certificate in it"), "{empty}");
        let broken =
            refused(b"-----BEGIN CERTIFICATE-----\nnot base64!\n-----END CERTIFICATE-----\n");
        assert!(broken.starts_with("--ca-bundle "), "{broken}");
        assert!(
            broken.ends_with("give a PEM file of certificate authorities"),
            "{broken}"
        );
        let garbage = refused(b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n");
        assert!(garbage.contains("not usable"), "{garbage}");
        let options = AwsOptions {
            ca_bundle: Some("/nonexistent/ca.pem".into()),
            ..AwsOptions::default()
        };
        let missing = options.http_client().map(|_| ()).unwrap_err().to_string();
        assert!(
            missing.starts_with("--ca-bundle /nonexistent/ca.pem: No such file"),
            "{missing}"
        );
    }
}
