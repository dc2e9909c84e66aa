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

use std::fmt::Write;

use qrcode::{Color, EcLevel, QrCode};

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

/// The blank border around a QR code, in modules (the 4 that ISO/IEC 18004 asks for).
const QUIET_ZONE: usize = 4;
/// The side of the rendered image in pixels; the viewBox scales the modules to it.
const QR_PIXELS: usize = 264;

/// Renders `uri` as a QR code in SVG (medium error correction, 264 pixels square, scalable).
///
/// Each run of dark modules in a row is one rectangle of the one path, in module units under a
/// `viewBox`, which keeps the image to a few kilobytes.
pub fn qr_svg(uri: &str) -> Result<String, OtpauthError> {
    let code = QrCode::with_error_correction_level(uri.as_bytes(), EcLevel::M)
        .map_err(|_| OtpauthError::TooLongForQr)?;
    let width = code.width();
    let side = width + 2 * QUIET_ZONE;
    let mut path = String::new();
    for (y, row) in code.to_colors().chunks(width).enumerate() {
        let mut x = 0;
        while x < width {
            let run = row[x..].iter().take_while(|c| **c == Color::Dark).count();
            if run > 0 {
                // Writing to a String cannot fail.
                let _ = write!(path, "M{} {}h{run}v1h-{run}z", x + QUIET_ZONE, y + QUIET_ZONE);
            }
            x += run.max(1);
        }
    }
    Ok(format!(
        concat!(
            r#"<svg xmlns="http://www.w3.org/2000/svg" width="{px}" height="{px}" "#,
            r#"viewBox="0 0 {side} {side}" shape-rendering="crispEdges">"#,
            r##"<rect width="{side}" height="{side}" fill="#fff"/>"##,
            r##"<path fill="#000" d="{path}"/></svg>"##
        ),
        px = QR_PIXELS,
        side = side,
        path = path
    ))
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

    /// The modules the path of `svg` paints dark, read back from its `M x y h n v1 h-n z` runs.
    fn painted(svg: &str, side: usize) -> Vec<bool> {
        let d = svg.split(" d=\"").nth(1).unwrap().split('"').next().unwrap();
        let mut grid = vec![false; side * side];
        for run in d.split('M').filter(|r| !r.is_empty()) {
            let (x, rest) = run.split_once(' ').unwrap();
            let (y, rest) = rest.split_once('h').unwrap();
            let (n, rest) = rest.split_once('v').unwrap();
            assert_eq!(rest, format!("1h-{n}z"), "{run}");
            let (x, y, n): (usize, usize, usize) =
                (x.parse().unwrap(), y.parse().unwrap(), n.parse().unwrap());
            for cell in &mut grid[y * side + x..y * side + x + n] {
                assert!(!*cell, "runs don't overlap");
                *cell = true;
            }
        }
        grid
    }

    #[test]
    fn qr_code_is_an_svg_image_of_exactly_the_codes_modules() {
        let uri =
            otpauth_uri(&secret(), "ada@example.com", "Acme", &TotpParams::default()).unwrap();
        let svg = qr_svg(&uri).unwrap();
        let code = QrCode::with_error_correction_level(uri.as_bytes(), EcLevel::M).unwrap();
        let side = code.width() + 2 * QUIET_ZONE;
        assert!(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"264\""));
        assert!(svg.contains(&format!("viewBox=\"0 0 {side} {side}\"")), "{svg}");
        let mut expected = vec![false; side * side];
        for (i, color) in code.to_colors().iter().enumerate() {
            let (x, y) = (i % code.width() + QUIET_ZONE, i / code.width() + QUIET_ZONE);
            expected[y * side + x] = *color == Color::Dark;
        }
        assert_eq!(painted(&svg, side), expected);
        assert!(svg.len() < 8000, "{} bytes", svg.len());
        assert_eq!(qr_svg(&"x".repeat(5000)), Err(OtpauthError::TooLongForQr));
    }
}
