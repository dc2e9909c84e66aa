//! Phone numbers for SMS: parse to E.164 under a policy of allowed country calling codes, and
//! refuse numbers that can't receive a text message.
//!
//! The default policy allows +1, the North American Numbering Plan. Numbers typed without a `+`
//! are read as NANP numbers when +1 is allowed. Refused: numbers libphonenumber rules invalid,
//! premium-rate, shared-cost, pager, voicemail and UAN numbers, and NANP numbers whose area or
//! exchange code is an N11 service code (211, 311, 411, 511, 611, 711, 811, 911).
//!
//! ```
//! use mfa_core::phone::{parse_sms_number, PhonePolicy, PhoneError};
//! let policy = PhonePolicy::default();
//! assert_eq!(parse_sms_number("(201) 555-0123", &policy).unwrap().as_str(), "+12015550123");
//! assert_eq!(parse_sms_number("+44 7400 123456", &policy), Err(PhoneError::CountryNotAllowed(44)));
//! ```

use std::fmt;

use phonenumber::{country, metadata::DATABASE, Mode, Type};

/// Why a phone number was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PhoneError {
    /// The text is not a phone number at all.
    #[error("not a phone number: give it in international form, e.g. +1 201 555 0123")]
    Unparseable,
    /// It looks like a number but no such number exists.
    #[error("this phone number does not exist")]
    Invalid,
    /// Its country calling code is not allowed by the policy.
    #[error("phone numbers with country code +{0} are not supported")]
    CountryNotAllowed(u16),
    /// It exists but can't receive SMS (premium rate, shared cost, pager, N11 service code, ...).
    #[error("this phone number can't receive text messages ({0})")]
    CannotReceiveSms(&'static str),
}

/// Which country calling codes are allowed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhonePolicy {
    allowed: Vec<u16>,
}

impl Default for PhonePolicy {
    /// +1 only: the North American Numbering Plan.
    fn default() -> Self {
        Self { allowed: vec![1] }
    }
}

impl PhonePolicy {
    /// A policy that allows these country calling codes (e.g. `[1, 44]`).
    pub fn new(allowed: Vec<u16>) -> Self {
        Self { allowed }
    }

    /// The allowed calling codes.
    pub fn allowed(&self) -> &[u16] {
        &self.allowed
    }

    fn allows(&self, code: u16) -> bool {
        self.allowed.contains(&code)
    }
}

/// A phone number in E.164 form (`+12015550123`), checked to take SMS.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct E164(String);

impl E164 {
    /// The number as E.164 text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for E164 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Parses `input` and checks it against `policy` and against what can take an SMS.
pub fn parse_sms_number(input: &str, policy: &PhonePolicy) -> Result<E164, PhoneError> {
    let input = input.trim();
    let default_region = (!input.starts_with('+') && policy.allows(1)).then_some(country::Id::US);
    let number = phonenumber::parse(default_region, input).map_err(|_| PhoneError::Unparseable)?;
    let code = number.code().value();
    if !policy.allows(code) {
        return Err(PhoneError::CountryNotAllowed(code));
    }
    if code == 1 && has_n11_code(number.national().value()) {
        return Err(PhoneError::CannotReceiveSms("N11 service code"));
    }
    if !phonenumber::is_valid(&number) {
        return Err(PhoneError::Invalid);
    }
    let refused = match number.number_type(&DATABASE) {
        Type::PremiumRate => Some("premium rate"),
        Type::SharedCost => Some("shared cost"),
        Type::Pager => Some("pager"),
        Type::Voicemail => Some("voicemail"),
        Type::Uan => Some("universal access number"),
        _ => None,
    };
    if let Some(kind) = refused {
        return Err(PhoneError::CannotReceiveSms(kind));
    }
    Ok(E164(number.format().mode(Mode::E164).to_string()))
}

/// Whether a 10-digit NANP national number has an N11 area code or exchange code.
fn has_n11_code(national: u64) -> bool {
    let area = national / 10_000_000;
    let exchange = (national / 10_000) % 1000;
    let n11 = |c: u64| (200..1000).contains(&c) && c % 100 == 11;
    n11(area) || n11(exchange)
}

#[cfg(test)]
mod tests {
    use super::*;
    use phonenumber::metadata::{Descriptor, Descriptors};

    fn parse(s: &str) -> Result<E164, PhoneError> {
        parse_sms_number(s, &PhonePolicy::default())
    }

    #[test]
    fn nanp_numbers_in_many_forms_normalise_to_e164() {
        for s in
            ["+1 201-555-0123", "+12015550123", "2015550123", "(201) 555-0123", " 1 201 555 0123 "]
        {
            assert_eq!(parse(s).unwrap().as_str(), "+12015550123", "{s}");
        }
        assert_eq!(parse("+1 416 555 0199").unwrap().as_str(), "+14165550199");
    }

    #[test]
    fn other_countries_need_the_policy() {
        assert_eq!(parse("+44 7400 123456"), Err(PhoneError::CountryNotAllowed(44)));
        let uk = PhonePolicy::new(vec![1, 44]);
        assert_eq!(parse_sms_number("+44 7400 123456", &uk).unwrap().as_str(), "+447400123456");
    }

    #[test]
    fn numbers_that_cannot_take_sms_are_refused() {
        assert_eq!(parse("+1 900 555 0123"), Err(PhoneError::CannotReceiveSms("premium rate")));
        assert_eq!(parse("+1 201 911 0123"), Err(PhoneError::CannotReceiveSms("N11 service code")));
        assert_eq!(parse("+1 411 555 0123"), Err(PhoneError::CannotReceiveSms("N11 service code")));
        let france = PhonePolicy::new(vec![33]);
        assert_eq!(
            parse_sms_number("+33 884 01 23 45", &france),
            Err(PhoneError::CannotReceiveSms("shared cost"))
        );
    }

    /// The refused kinds, each with libphonenumber's own example number of that kind in the
    /// regions that have one, under a policy allowing the region's calling code.
    #[test]
    fn example_numbers_of_each_refused_kind_are_refused() {
        type Kind = fn(&Descriptors) -> Option<&Descriptor>;
        let kinds: [(&str, Kind); 5] = [
            ("premium rate", |m| m.premium_rate()),
            ("shared cost", |m| m.shared_cost()),
            ("pager", |m| m.pager()),
            ("voicemail", |m| m.voicemail()),
            ("universal access number", |m| m.uan()),
        ];
        for (kind, descriptor) in kinds {
            let mut checked = 0;
            for region in ["US", "CA", "GB", "FR", "DE", "IT", "ES", "NL", "BE", "AT", "CH", "SE"] {
                let metadata = DATABASE.by_id(region).unwrap();
                let Some(example) = descriptor(metadata.descriptors()).and_then(|d| d.example())
                else {
                    continue;
                };
                let code = metadata.country_code();
                let number = format!("+{code}{example}");
                let policy = PhonePolicy::new(vec![code]);
                assert_eq!(
                    parse_sms_number(&number, &policy),
                    Err(PhoneError::CannotReceiveSms(kind)),
                    "{number}"
                );
                checked += 1;
            }
            assert!(checked > 0, "no example of {kind}");
        }
    }

    /// Without +1 in the policy a number needs its `+`; the policy's codes are what it was given.
    #[test]
    fn a_policy_without_plus_one_reads_no_number_as_nanp() {
        let uk = PhonePolicy::new(vec![44, 33]);
        assert_eq!(uk.allowed(), [44, 33]);
        assert_eq!(PhonePolicy::default().allowed(), [1]);
        assert_eq!(parse_sms_number("(201) 555-0123", &uk), Err(PhoneError::Unparseable));
        assert_eq!(parse_sms_number("+1 201 555 0123", &uk), Err(PhoneError::CountryNotAllowed(1)));
        assert_eq!(parse("2015550123").unwrap().to_string(), "+12015550123");
    }

    #[test]
    fn garbage_and_impossible_numbers_are_refused() {
        assert_eq!(parse("call me maybe"), Err(PhoneError::Unparseable));
        assert_eq!(parse(""), Err(PhoneError::Unparseable));
        assert_eq!(parse("+1 123 456 7890"), Err(PhoneError::Invalid));
        assert_eq!(parse("+1 201 555 01"), Err(PhoneError::Invalid));
    }
}
