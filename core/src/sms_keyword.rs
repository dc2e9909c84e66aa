//! Inbound SMS keywords, as carriers (CTIA), Twilio and AWS End User Messaging recognise them.
//!
//! A keyword counts only when it is the whole message; case and surrounding white space don't
//! matter. "Stop" opts out; "please stop texting me" is just a message.
//!
//! ```
//! use mfa_core::sms_keyword::{classify, Keyword};
//! assert_eq!(classify("  Stop \n"), Keyword::OptOut);
//! assert_eq!(classify("help"), Keyword::Help);
//! assert_eq!(classify("unstop"), Keyword::OptIn);
//! assert_eq!(classify("stop it"), Keyword::Other);
//! ```

/// What an inbound message asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Keyword {
    /// Stop sending messages to this number.
    OptOut,
    /// Reply with the program's help text.
    Help,
    /// Start sending messages again.
    OptIn,
    /// Not a keyword.
    Other,
}

/// Opt-out keywords: the union of the CTIA, Twilio and AWS lists.
pub const OPT_OUT: &[&str] = &[
    "STOP",
    "STOPALL",
    "UNSUBSCRIBE",
    "CANCEL",
    "END",
    "QUIT",
    "OPTOUT",
    "OPT-OUT",
    "REVOKE",
    "REMOVE",
    "ARRET",
    "TD",
];
/// Help keywords.
pub const HELP: &[&str] = &["HELP", "INFO"];
/// Opt-in keywords.
pub const OPT_IN: &[&str] = &["START", "YES", "UNSTOP"];

/// Classifies a whole inbound message.
pub fn classify(message: &str) -> Keyword {
    let word = message.trim().to_uppercase();
    if OPT_OUT.contains(&word.as_str()) {
        Keyword::OptOut
    } else if HELP.contains(&word.as_str()) {
        Keyword::Help
    } else if OPT_IN.contains(&word.as_str()) {
        Keyword::OptIn
    } else {
        Keyword::Other
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The README's keyword table ("The SMS program"), written out here rather than read from
    /// [`OPT_OUT`], [`HELP`] and [`OPT_IN`]: a keyword dropped from those lists fails this.
    const README_KEYWORDS: &[(Keyword, &[&str])] = &[
        (
            Keyword::OptOut,
            &[
                "STOP",
                "STOPALL",
                "UNSUBSCRIBE",
                "CANCEL",
                "END",
                "QUIT",
                "OPTOUT",
                "OPT-OUT",
                "REVOKE",
                "REMOVE",
                "ARRET",
                "TD",
            ],
        ),
        (Keyword::Help, &["HELP", "INFO"]),
        (Keyword::OptIn, &["START", "YES", "UNSTOP"]),
    ];

    #[test]
    fn every_keyword_of_the_readme_is_classified_in_any_case_and_spacing() {
        for (kind, words) in README_KEYWORDS {
            for word in *words {
                let lower = word.to_lowercase();
                for message in [word.to_string(), lower.clone(), format!(" \t{lower}\r\n ")] {
                    assert_eq!(classify(&message), *kind, "{message:?}");
                }
            }
        }
        let listed: usize = README_KEYWORDS.iter().map(|(_, words)| words.len()).sum();
        assert_eq!(
            OPT_OUT.len() + HELP.len() + OPT_IN.len(),
            listed,
            "no keyword beyond the README's"
        );
    }

    #[test]
    fn keywords_inside_longer_messages_do_not_count() {
        for m in ["stop please", "I said STOP", "HELP ME", "yes!", "", "   ", "S T O P"] {
            assert_eq!(classify(m), Keyword::Other, "{m:?}");
        }
    }
}
