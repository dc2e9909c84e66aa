//! The message adapters: SMS over Amazon SNS, email over Amazon SES v2, calls (and number
//! lookups) over AWS End User Messaging, and for `mfa-local` an outbox file that receives every
//! message instead of sending anything.

pub mod email;
pub mod outbox;
pub mod sms;
pub mod voice;
