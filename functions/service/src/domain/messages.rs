//! The texts the service sends: one-time codes by SMS and email, and the SMS program's keyword
//! replies. Every message names the product; an SMS code ends with the origin-bound line
//! (`@example.com #123456`) when a domain is configured, so that phones offer to autofill it.

use crate::ports::Email;

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
    fn email_escapes_the_product_in_html() {
        let email = email_code("A<b>", "ada@example.com", "123456", 10);
        assert!(email.html.contains("A&lt;b&gt;"));
        assert!(email.text.contains("123456") && email.subject.contains("123456"));
    }
}
