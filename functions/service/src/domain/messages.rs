//! The texts the service sends: one-time codes by SMS, call and email, notices of changes to a
//! user's sign-in methods, and the SMS program's keyword replies. Every message names the
//! product; an SMS code ends with the origin-bound line (`@example.com #123456`) when a domain is
//! configured, so that phones offer to autofill it.

use crate::ports::{Email, VoiceCall};

/// The SMS carrying a code.
pub fn sms_code(product: &str, code: &str, webotp_domain: Option<&str>) -> String {
    match webotp_domain {
        Some(domain) => format!("{product}: your verification code is {code}\n\n@{domain} #{code}"),
        None => format!("{product}: your verification code is {code}"),
    }
}

/// The email carrying a code, valid for `minutes`.
pub fn email_code(product: &str, to: &str, code: &str, minutes: u64) -> Email {
    let product_html = escape_html(product);
    Email {
        to: to.to_owned(),
        subject: format!("{product}: your verification code is {code}"),
        text: format!(
            "{product}: your verification code is {code}\n\nIt expires in {minutes} minutes. If you did not ask for it, you can ignore this email."
        ),
        html: format!(
            "<p>{product_html}: your verification code is</p><p style=\"font-size:24px;font-weight:bold;letter-spacing:4px\">{code}</p><p>It expires in {minutes} minutes. If you did not ask for it, you can ignore this email.</p>"
        ),
    }
}

/// The call that reads a code out: slowly, digit by digit, twice.
pub fn voice_code(product: &str, code: &str) -> VoiceCall {
    let digits: Vec<String> = code.chars().map(String::from).collect();
    let spoken = digits.join(", ");
    let ssml_digits = digits
        .iter()
        .map(|d| format!("<say-as interpret-as=\"digits\">{d}</say-as>"))
        .collect::<Vec<_>>()
        .join("<break time=\"400ms\"/>");
    let product_xml = escape_html(product);
    VoiceCall {
        ssml: format!(
            "<speak><prosody rate=\"slow\">{product_xml}: your verification code is <break time=\"500ms\"/>{ssml_digits}.<break time=\"1s\"/> Again: your code is <break time=\"500ms\"/>{ssml_digits}.</prosody></speak>"
        ),
        words: format!("{product}: your verification code is {spoken}. Again: your code is {spoken}."),
    }
}

/// A notice that `what` happened to the user's account at `when`, by email.
pub fn notice_email(product: &str, to: &str, what: &str, when: &str, support: &str) -> Email {
    let (product_html, what_html, support_html) =
        (escape_html(product), escape_html(what), escape_html(support));
    Email {
        to: to.to_owned(),
        subject: format!("{product}: {what}"),
        text: format!(
            "{product}: {what} on {when}.\n\nIf this was you, there is nothing to do. If it wasn't, sign in and review your sign-in methods at once, and contact {support}."
        ),
        html: format!(
            "<p>{product_html}: {what_html} on {when}.</p><p>If this was you, there is nothing to do. If it wasn't, sign in and review your sign-in methods at once, and contact {support_html}.</p>"
        ),
    }
}

/// A notice that `what` happened to the user's account at `when`, by text.
pub fn notice_sms(product: &str, what: &str, when: &str, support: &str) -> String {
    format!("{product}: {what} on {when}. Not you? Contact {support}.")
}

/// The reply to HELP.
pub fn help_reply(product: &str, support: &str) -> String {
    format!(
        "{product} verification codes: at most 1 message per sign-in. Help: {support}. Msg & data rates may apply. Reply STOP to opt out."
    )
}

/// The reply to STOP.
pub fn stop_reply(product: &str) -> String {
    format!("{product}: you are unsubscribed and will get no more messages. Reply START to resubscribe.")
}

/// The reply to START.
pub fn start_reply(product: &str) -> String {
    format!("{product}: you are subscribed again to verification codes. Msg & data rates may apply. Reply HELP for help, STOP to opt out.")
}

fn escape_html(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sms_names_the_product_and_ends_with_the_origin_bound_line() {
        assert_eq!(
            sms_code("Acme", "123456", Some("example.com")),
            "Acme: your verification code is 123456\n\n@example.com #123456"
        );
        assert_eq!(sms_code("Acme", "123456", None), "Acme: your verification code is 123456");
    }

    #[test]
    fn help_reply_has_what_carriers_require() {
        let help = help_reply("Acme", "support@acme.test");
        for part in
            ["Acme", "support@acme.test", "Msg & data rates may apply", "Reply STOP to opt out"]
        {
            assert!(help.contains(part), "{part}");
        }
    }

    #[test]
    fn a_call_reads_each_digit_twice() {
        let call = voice_code("A&B", "012345");
        assert_eq!(
            call.words,
            "A&B: your verification code is 0, 1, 2, 3, 4, 5. Again: your code is 0, 1, 2, 3, 4, 5."
        );
        assert_eq!(call.ssml.matches("<say-as interpret-as=\"digits\">0</say-as>").count(), 2);
        assert!(call.ssml.starts_with("<speak><prosody rate=\"slow\">A&amp;B:"));
    }

    #[test]
    fn email_escapes_the_product_in_html() {
        let email = email_code("A<b>", "ada@example.com", "123456", 10);
        assert!(email.html.contains("A&lt;b&gt;"));
        assert!(email.text.contains("123456") && email.subject.contains("123456"));
    }
}
