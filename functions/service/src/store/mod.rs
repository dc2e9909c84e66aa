//! The store adapters: DynamoDB for AWS, and an embedded on-disk store for running locally
//! (with its group commit). Both implement every trait of [`crate::ports`] with the same
//! semantics.

pub mod dynamo;
pub mod embedded;
mod group_commit;
