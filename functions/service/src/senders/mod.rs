//! The message adapters: SMS over Amazon SNS, email over Amazon SES v2, and for `mfa-local` an
//! outbox file that receives both instead of sending anything.

pub mod email;
pub mod outbox;
pub mod sms;
