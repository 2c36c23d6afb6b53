//! S3 clients and GetObject, shared by the forwarder's object source and the validator's
//! digest store.

use std::io::Read;

use aws_sdk_s3::error::SdkError;
use aws_sdk_s3::operation::get_object::GetObjectError;
use aws_sdk_s3::primitives::ByteStream;
use tokio_util::io::SyncIoBridge;

use super::transient::{describe, is_transient};
use crate::ports::{CallError, OpenError};

/// An S3 client; path-style addressing when an endpoint is configured (local emulators).
pub fn client(sdk: &aws_config::SdkConfig) -> aws_sdk_s3::Client {
    let config = aws_sdk_s3::config::Builder::from(sdk)
        .force_path_style(sdk.endpoint_url().is_some())
        .build();
    aws_sdk_s3::Client::from_conf(config)
}

/// An object's body as a blocking reader, for a blocking thread. Must be called within a
/// tokio runtime.
pub fn blocking_reader(body: ByteStream) -> Box<dyn Read + Send> {
    Box::new(SyncIoBridge::new(Box::pin(body.into_async_read())))
}

/// What a failed GetObject means: the key is missing, the content changed under a pinned
/// read (412), or a failure that may or may not pass.
pub fn open_error(error: &SdkError<GetObjectError>) -> OpenError {
    match error {
        SdkError::ServiceError(e) if e.err().is_no_such_key() => OpenError::NotFound,
        SdkError::ServiceError(e) if e.raw().status().as_u16() == 412 => OpenError::Changed,
        SdkError::ServiceError(e) if e.raw().status().as_u16() == 403 => {
            OpenError::Failed(CallError::new(
                "GetObject",
                is_transient(error),
                format!(
                    "access denied (check s3:GetObject and, with SSE-KMS, kms:Decrypt): {}",
                    describe(error)
                ),
            ))
        }
        other => OpenError::Failed(CallError::new(
            "GetObject",
            is_transient(other),
            describe(other),
        )),
    }
}
