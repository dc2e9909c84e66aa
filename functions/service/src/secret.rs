//! Secrets in memory: key material that never shows in `Debug` output and is overwritten with
//! zeros when dropped.

use zeroize::{Zeroize, ZeroizeOnDrop};

/// A secret value. `Debug` prints `[redacted]`; dropping it zeroes the value. It is boxed, so
/// that moving a `Secret` moves a pointer and leaves no copy of the value behind.
pub struct Secret<T: Zeroize>(Box<T>);

/// 32 secret bytes: a data key, a signing key's seed, the one-time-code key, an API key's hash.
pub type Key = Secret<[u8; 32]>;

impl<T: Zeroize> Secret<T> {
    /// Keeps `value`. A value that lives inline (an array) may leave copies where it was
    /// before: a [`Key`] read from text is made with [`Key::from_slice`].
    pub fn new(value: T) -> Self {
        Self(Box::new(value))
    }

    /// The value, for the code that uses it.
    pub fn expose(&self) -> &T {
        &self.0
    }
}

impl Key {
    /// The bytes of `bytes`, copied straight into the key's box; `None` unless there are 32.
    pub fn from_slice(bytes: &[u8]) -> Option<Self> {
        let mut key = Self(Box::new([0; 32]));
        (bytes.len() == 32).then(|| {
            key.0.copy_from_slice(bytes);
            key
        })
    }
}

impl<T: Zeroize> Zeroize for Secret<T> {
    fn zeroize(&mut self) {
        self.0.zeroize();
    }
}

impl<T: Zeroize> Drop for Secret<T> {
    fn drop(&mut self) {
        self.zeroize();
    }
}

impl<T: Zeroize> ZeroizeOnDrop for Secret<T> {}

impl<T: Zeroize + Clone> Clone for Secret<T> {
    fn clone(&self) -> Self {
        Self(self.0.clone())
    }
}

impl<T: Zeroize> std::fmt::Debug for Secret<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("[redacted]")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_shows_no_part_of_the_value() {
        let key = Key::from_slice(&[0xab; 32]).unwrap();
        let text = Secret::new("mfa_hunter2".to_owned());
        let copy = key.clone();
        assert_eq!(format!("{key:?} {text:?} {copy:?}"), "[redacted] [redacted] [redacted]");
        assert_eq!(key.expose(), &[0xab; 32]);
        assert_eq!(text.expose(), "mfa_hunter2");
    }

    #[test]
    fn zeroize_overwrites_the_value_as_drop_does() {
        let mut key = Key::from_slice(&[7; 32]).unwrap();
        key.zeroize();
        assert_eq!(key.expose(), &[0; 32]);
        let mut text = Secret::new("mfa_hunter2".to_owned());
        text.zeroize();
        assert_eq!(text.expose(), "");
    }

    #[test]
    fn a_key_is_32_bytes() {
        assert!(Key::from_slice(&[1; 31]).is_none());
        assert!(Key::from_slice(&[1; 33]).is_none());
    }
}
