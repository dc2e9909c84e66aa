//! The `otpauth://totp/` Key Uri that Google Authenticator, Authy, 1Password and Microsoft
//! Authenticator read, and a QR code of it as an SVG image.
//!
//! The label is `Issuer:account` and the `issuer` parameter repeats the issuer, as the Key Uri
//! Format asks; apps then show the entry as "Issuer: account" (for example "Acme: ada@example.com").
//! Algorithm, digits and period appear only when they differ from SHA1, 6 and 30, which keeps the
//! QR code small and avoids apps that mishandle explicit defaults.
//!
//! ```
//! use mfa_core::{otpauth::otpauth_uri, secret::TotpSecret, totp::TotpParams};
//! let secret = TotpSecret::from_base32("JBSWY3DPEHPK3PXP").unwrap();
//! let uri = otpauth_uri(&secret, "ada@example.com", "Acme Corp", &TotpParams::default()).unwrap();
//! assert_eq!(
//!     uri,
//!     "otpauth://totp/Acme%20Corp:ada%40example.com?secret=JBSWY3DPEHPK3PXP&issuer=Acme%20Corp"
//! );
//! ```

use qrcode::{render::svg, EcLevel, QrCode};

use crate::{secret::TotpSecret, totp::TotpParams};

/// Why a Key Uri or QR code could not be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OtpauthError {
    /// The issuer is empty or contains a colon, which would break the `Issuer:account` label.
    #[error("the issuer must be non-empty and must not contain ':'")]
    Issuer,
    /// The account name is empty or contains a colon.
    #[error("the account name must be non-empty and must not contain ':'")]
    Account,
    /// The URI is too long to fit in a QR code.
    #[error("the otpauth URI is too long for a QR code")]
    TooLongForQr,
}

fn check_label_part(part: &str) -> bool {
    !part.trim().is_empty() && !part.contains(':')
}

/// Checks that `issuer` can name the issuer of a Key Uri: [`otpauth_uri`] refuses it with the same
/// [`OtpauthError::Issuer`] otherwise.
///
/// A service that takes its issuer name from configuration calls this at start, so a bad name
/// stops the process there instead of failing every enrollment later.
///
/// ```
/// use mfa_core::otpauth::{check_issuer, OtpauthError};
/// assert_eq!(check_issuer("Acme Corp"), Ok(()));
/// assert_eq!(check_issuer("Acme: Corp"), Err(OtpauthError::Issuer));
/// assert_eq!(check_issuer(" "), Err(OtpauthError::Issuer));
/// ```
pub fn check_issuer(issuer: &str) -> Result<(), OtpauthError> {
    if check_label_part(issuer) {
        Ok(())
    } else {
        Err(OtpauthError::Issuer)
    }
}

/// Builds the Key Uri for `secret`, shown in apps as "`issuer`: `account`".
pub fn otpauth_uri(
    secret: &TotpSecret,
    account: &str,
    issuer: &str,
    params: &TotpParams,
) -> Result<String, OtpauthError> {
    check_issuer(issuer)?;
    if !check_label_part(account) {
        return Err(OtpauthError::Account);
    }
    let totp = totp_rs::TOTP::new_unchecked(
        params.algorithm().to_totp_rs(),
        params.digits() as usize,
        1,
        params.period(),
        secret.as_bytes().to_vec(),
        Some(issuer.to_owned()),
        account.to_owned(),
    );
    Ok(totp.get_url())
}

/// Renders `uri` as a QR code in SVG (medium error correction, at least 256 pixels square).
pub fn qr_svg(uri: &str) -> Result<String, OtpauthError> {
    let code = QrCode::with_error_correction_level(uri.as_bytes(), EcLevel::M)
        .map_err(|_| OtpauthError::TooLongForQr)?;
    Ok(code.render::<svg::Color<'_>>().min_dimensions(256, 256).quiet_zone(true).build())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::totp::Algorithm;

    fn secret() -> TotpSecret {
        TotpSecret::from_base32("JBSWY3DPEHPK3PXP").unwrap()
    }

    #[test]
    fn non_default_parameters_are_in_the_uri() {
        let params = TotpParams::new(Algorithm::Sha256, 8, 60).unwrap();
        let uri = otpauth_uri(&secret(), "ada", "Acme", &params).unwrap();
        assert_eq!(
            uri,
            "otpauth://totp/Acme:ada?secret=JBSWY3DPEHPK3PXP&digits=8&algorithm=SHA256&issuer=Acme&period=60"
        );
    }

    #[test]
    fn colons_and_empty_parts_are_refused() {
        let p = TotpParams::default();
        assert_eq!(otpauth_uri(&secret(), "a:b", "Acme", &p), Err(OtpauthError::Account));
        assert_eq!(otpauth_uri(&secret(), "ada", "Ac:me", &p), Err(OtpauthError::Issuer));
        assert_eq!(otpauth_uri(&secret(), " ", "Acme", &p), Err(OtpauthError::Account));
        assert_eq!(otpauth_uri(&secret(), "ada", "", &p), Err(OtpauthError::Issuer));
    }

    #[test]
    fn qr_code_is_an_svg_image() {
        let uri =
            otpauth_uri(&secret(), "ada@example.com", "Acme", &TotpParams::default()).unwrap();
        let svg = qr_svg(&uri).unwrap();
        assert!(svg.starts_with("<?xml"));
        assert!(svg.contains("<svg"));
        assert!(svg.len() > 1000);
        assert_eq!(qr_svg(&"x".repeat(5000)), Err(OtpauthError::TooLongForQr));
    }
}
