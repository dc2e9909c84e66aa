//! The per-account lockout schedule for failed second-factor attempts.
//!
//! The first [`FREE_FAILURES`] consecutive failures cost nothing. From then on each further
//! failure locks the account's second factor for a time that doubles, from 30 seconds up to an
//! hour. After [`MAX_CONSECUTIVE_FAILURES`] (NIST SP 800-63B's limit of 100) the account is
//! blocked until an administrator resets it. A success resets the count; a new challenge does not.
//!
//! ```
//! use mfa_core::throttle::{after_failures, Lock};
//! assert_eq!(after_failures(4), Lock::None);
//! assert_eq!(after_failures(5), Lock::For(30));
//! assert_eq!(after_failures(6), Lock::For(60));
//! assert_eq!(after_failures(40), Lock::For(3600));
//! assert_eq!(after_failures(100), Lock::Blocked);
//! ```

/// Consecutive failures allowed before the first lock.
pub const FREE_FAILURES: u32 = 5;
/// Consecutive failures after which the account is blocked until reset.
pub const MAX_CONSECUTIVE_FAILURES: u32 = 100;
const FIRST_LOCK_SECONDS: u64 = 30;
const LONGEST_LOCK_SECONDS: u64 = 3600;

/// What follows a number of consecutive failures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lock {
    /// Another attempt may follow at once.
    None,
    /// No attempt for this many seconds after the last failure.
    For(u64),
    /// No attempt until an administrator resets the account.
    Blocked,
}

/// The lock that follows `failures` consecutive failures.
pub fn after_failures(failures: u32) -> Lock {
    if failures >= MAX_CONSECUTIVE_FAILURES {
        Lock::Blocked
    } else if failures < FREE_FAILURES {
        Lock::None
    } else {
        let doublings = (failures - FREE_FAILURES).min(16);
        Lock::For((FIRST_LOCK_SECONDS << doublings).min(LONGEST_LOCK_SECONDS))
    }
}

/// The Unix time until which an account with `failures` consecutive failures, the last at
/// `last_failure_at`, is locked: `None` when it is not locked, `Some(u64::MAX)` when blocked.
pub fn locked_until(failures: u32, last_failure_at: u64) -> Option<u64> {
    match after_failures(failures) {
        Lock::None => None,
        Lock::For(seconds) => Some(last_failure_at.saturating_add(seconds)),
        Lock::Blocked => Some(u64::MAX),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locks_grow_and_are_capped_and_block_at_100() {
        let locks: Vec<Lock> = (0..=8).map(after_failures).collect();
        assert_eq!(
            locks,
            [
                Lock::None,
                Lock::None,
                Lock::None,
                Lock::None,
                Lock::None,
                Lock::For(30),
                Lock::For(60),
                Lock::For(120),
                Lock::For(240)
            ]
        );
        assert_eq!(after_failures(99), Lock::For(3600));
        assert_eq!(after_failures(100), Lock::Blocked);
        assert_eq!(after_failures(u32::MAX), Lock::Blocked);
        assert_eq!(locked_until(3, 1000), None);
        assert_eq!(locked_until(5, 1000), Some(1030));
        assert_eq!(locked_until(100, 1000), Some(u64::MAX));
    }
}
