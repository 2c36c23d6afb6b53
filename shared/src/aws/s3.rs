//! S3 clients and GetObject, shared by the forwarder's object source and the validator's
//! digest store.

use std::io::Read;

use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_s3::operation::get_object::GetObjectError;
use aws_sdk_s3::primitives::ByteStream;
use tokio_util::io::SyncIoBridge;

use crate::object::ETag;
use crate::ports::{CallError, ListedObject, OpenError};

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
            let mut denied = CallError::from_sdk("GetObject", error);
            denied.detail = format!(
                "access denied (check s3:GetObject and, with SSE-KMS, kms:Decrypt): {}",
                denied.detail
            );
            OpenError::Failed(denied)
        }
        other => OpenError::Failed(CallError::from_sdk("GetObject", other)),
    }
}

/// Every object under `prefix` after `start_after` (ascending), with its size.
pub async fn list_objects(
    client: &aws_sdk_s3::Client,
    bucket: &str,
    prefix: &str,
    start_after: &str,
) -> Result<Vec<ListedObject>, CallError> {
    let mut objects = Vec::new();
    let mut pages = client
        .list_objects_v2()
        .bucket(bucket)
        .prefix(prefix)
        .start_after(start_after)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| list_error(bucket, prefix, &e))?;
        objects.extend(page.contents().iter().filter_map(|object| {
            Some(ListedObject {
                key: object.key()?.to_owned(),
                size: object.size().unwrap_or(0).max(0) as u64,
                e_tag: object.e_tag().and_then(ETag::new),
            })
        }));
    }
    Ok(objects)
}

/// The folders directly under `prefix` (S3's common prefixes for the delimiter `/`), each a
/// whole key prefix ending in `/`.
pub async fn list_folders(
    client: &aws_sdk_s3::Client,
    bucket: &str,
    prefix: &str,
) -> Result<Vec<String>, CallError> {
    let mut folders = Vec::new();
    let mut pages = client
        .list_objects_v2()
        .bucket(bucket)
        .prefix(prefix)
        .delimiter("/")
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| list_error(bucket, prefix, &e))?;
        folders.extend(
            page.common_prefixes()
                .iter()
                .filter_map(|p| p.prefix().map(str::to_owned)),
        );
    }
    Ok(folders)
}

fn list_error<E>(bucket: &str, prefix: &str, error: &SdkError<E>) -> CallError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    CallError::from_sdk(format!("ListObjectsV2 s3://{bucket}/{prefix}"), error)
}
