//! Trail objects from S3: GetObject of the version or content asked for, the body streamed.

use aws_sdk_s3::error::SdkError;
use aws_sdk_s3::operation::get_object::{GetObjectError, GetObjectOutput};
use trailwatch::ObjectRef;
use trailwatch::aws::s3::{blocking_reader, open_error};
use trailwatch::object::ETag;
use trailwatch::ports::{
    CallError, ListedObject, ObjectListing, ObjectSource, OpenError, OpenedObject,
};

pub struct S3Objects {
    pub client: aws_sdk_s3::Client,
}

impl S3Objects {
    async fn get(
        &self,
        object: &ObjectRef,
        key: &str,
    ) -> Result<GetObjectOutput, SdkError<GetObjectError>> {
        let request = self
            .client
            .get_object()
            .bucket(&object.bucket)
            .key(key)
            .set_version_id(object.version_id.clone());
        // A version pins the content already; otherwise resume only the same content.
        let request = match (&object.version_id, &object.e_tag, object.start_record) {
            (None, Some(e_tag), start) if start > 0 => request.if_match(e_tag.quoted()),
            _ => request,
        };
        request.send().await
    }
}

impl ObjectSource for S3Objects {
    async fn open(&self, object: &ObjectRef) -> Result<OpenedObject, OpenError> {
        let (key, response) = match self.get(object, &object.key).await {
            Err(SdkError::ServiceError(e)) if e.err().is_no_such_key() => {
                let Some(fallback) = &object.fallback_key else {
                    return Err(OpenError::NotFound);
                };
                let response = self.get(object, fallback).await;
                (fallback.clone(), response.map_err(|e| open_error(&e))?)
            }
            other => (object.key.clone(), other.map_err(|e| open_error(&e))?),
        };
        Ok(OpenedObject {
            key,
            version_id: response.version_id().map(str::to_owned),
            e_tag: response.e_tag().and_then(ETag::new),
            content_length: response.content_length(),
            body: blocking_reader(response.body),
        })
    }
}

/// The trail's folders and files, for a backfill.
impl ObjectListing for S3Objects {
    async fn list_folders(&self, bucket: &str, prefix: &str) -> Result<Vec<String>, CallError> {
        trailwatch::aws::s3::list_folders(&self.client, bucket, prefix).await
    }

    async fn list_objects(
        &self,
        bucket: &str,
        prefix: &str,
        start_after: &str,
    ) -> Result<Vec<ListedObject>, CallError> {
        trailwatch::aws::s3::list_objects(&self.client, bucket, prefix, start_after).await
    }
}
