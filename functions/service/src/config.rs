//! Configuration, read once at start from environment variables (see the README's table).
//!
//! Every variable is checked here, so a bad value stops the process at start with a message that
//! names the variable, never a failure at request time.

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use zeroize::Zeroizing;

use crate::api_key::{ApiKeys, Scopes};
use crate::secret::Key;

/// A configuration value that is missing or wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("configuration {name}: {problem}")]
pub struct ConfigError {
    /// The environment variable.
    pub name: &'static str,
    /// What is wrong with it.
    pub problem: String,
}

fn error(name: &'static str, problem: impl Into<String>) -> ConfigError {
    ConfigError { name, problem: problem.into() }
}

/// The service's configuration. The keys are [`Key`]s: `Debug` shows none of them, and each is
/// zeroed when dropped.
#[derive(Debug, Clone)]
pub struct Config {
    /// The name authenticator apps show (`MFA_ISSUER_NAME`).
    pub issuer_name: String,
    /// Hashed API keys and their scopes (`MFA_API_KEYS`).
    pub api_keys: ApiKeys,
    /// Data keys that seal secrets at rest; the first seals (`MFA_DATA_KEYS`).
    pub data_keys: Vec<(String, Key)>,
    /// Ed25519 seeds that sign MFA tokens; the first signs (`MFA_SIGNING_KEYS`).
    pub signing_keys: Vec<(String, Key)>,
    /// The `iss` of MFA tokens (`MFA_TOKEN_ISSUER`).
    pub token_issuer: String,
    /// The `aud` of MFA tokens (`MFA_TOKEN_AUDIENCE`).
    pub token_audience: Vec<String>,
    /// MFA token lifetime in seconds (`MFA_TOKEN_TTL_SECONDS`).
    pub token_ttl: u64,
    /// Login lifetime in seconds (`MFA_LOGIN_TTL_SECONDS`).
    pub login_ttl: u64,
    /// Challenge lifetime in seconds (`MFA_CHALLENGE_TTL_SECONDS`).
    pub challenge_ttl: u64,
    /// The DynamoDB table (`MFA_TABLE`).
    pub table: String,
    /// The CloudWatch namespace of the Lambda functions' metrics (`MFA_METRICS_NAMESPACE`).
    pub metrics_namespace: String,
    /// The key that one-time SMS and email codes are hashed with (`MFA_CODE_KEY`).
    pub code_key: Key,
    /// The SMS program's settings.
    pub sms: SmsSettings,
    /// Calls that read codes out; unset (`MFA_VOICE_ORIGINATION_IDENTITY` empty): calls are
    /// refused.
    pub voice: Option<VoiceSettings>,
    /// The sending budgets.
    pub budgets: SendBudgets,
    /// Whether VoIP numbers may get codes (`MFA_ALLOW_VOIP_NUMBERS`, default `false`).
    pub allow_voip: bool,
    /// The address emails come from (`MFA_EMAIL_FROM`); unset: email factors are refused.
    pub email_from: Option<String>,
    /// The WebAuthn relying party; unset (`MFA_WEBAUTHN_RP_ID` empty): security keys and
    /// passkeys are refused.
    pub webauthn: Option<WebauthnSettings>,
}

/// The WebAuthn relying party: the site that security keys and passkeys are bound to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebauthnSettings {
    /// The relying party id, a domain (`MFA_WEBAUTHN_RP_ID`, e.g. `example.com`): credentials
    /// work on it and, with the origins allowed, its subdomains.
    pub rp_id: String,
    /// The name authenticators show (`MFA_WEBAUTHN_RP_NAME`, default the issuer name).
    pub rp_name: String,
    /// The web origins the sign-in pages are served from (`MFA_WEBAUTHN_ORIGINS`,
    /// comma-separated, e.g. `https://app.example.com,https://admin.example.com`), each on the
    /// RP id or a subdomain of it: several apps under one domain share one sign-in.
    pub origins: Vec<url::Url>,
}

/// Calls through AWS End User Messaging.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VoiceSettings {
    /// The phone number (or its ARN, or a pool's) calls come from
    /// (`MFA_VOICE_ORIGINATION_IDENTITY`).
    pub origination_identity: String,
    /// The Amazon Polly voice (`MFA_VOICE_ID`, default `JOANNA`).
    pub voice_id: String,
    /// The protect configuration calls go out under (`MFA_VOICE_PROTECT_CONFIGURATION_ID`).
    pub protect_configuration_id: Option<String>,
    /// Calls per number per hour (`MFA_VOICE_MAX_PER_HOUR`, default 3).
    pub max_per_hour: u32,
}

/// How many messages may go out, against abuse and runaway cost. Each is a fixed window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendBudgets {
    /// Emails per address per hour (`MFA_EMAIL_MAX_PER_HOUR`, default 5).
    pub email_per_hour: u32,
    /// Messages of every channel to one user per hour (`MFA_USER_MAX_SENDS_PER_HOUR`, default 10).
    pub user_per_hour: u32,
    /// ... and per day (`MFA_USER_MAX_SENDS_PER_DAY`, default 30).
    pub user_per_day: u32,
    /// Messages to the members of one org per hour (`MFA_ORG_MAX_SENDS_PER_HOUR`, default 1000).
    pub org_per_hour: u32,
    /// Messages of the whole deployment per hour (`MFA_MAX_SENDS_PER_HOUR`, default 10000).
    pub deployment_per_hour: u32,
}

/// The SMS program's settings.
#[derive(Debug, Clone)]
pub struct SmsSettings {
    /// Country calling codes accepted (`MFA_SMS_CALLING_CODES`, default `1`).
    pub calling_codes: Vec<u16>,
    /// Texts per number per hour, against SMS pumping (`MFA_SMS_MAX_PER_HOUR`, default 5).
    pub max_per_hour: u32,
    /// The number or sender id texts come from (`MFA_SMS_ORIGINATION_NUMBER`); unset: SNS's choice.
    pub origination_number: Option<String>,
    /// The domain of the origin-bound line `@domain #code` that lets phones autofill codes
    /// (`MFA_WEBOTP_DOMAIN`); unset: no such line.
    pub webotp_domain: Option<String>,
    /// Who to contact, in the HELP reply (`MFA_SUPPORT_CONTACT`).
    pub support_contact: String,
    /// The SNS topic that inbound texts arrive on (`MFA_INBOUND_TOPIC_ARN`); the webhook refuses
    /// messages from any other topic.
    pub inbound_topic_arn: Option<String>,
    /// A PEM certificate that SNS signing certificates must be, or be issued by
    /// (`MFA_SNS_TRUST_ANCHOR_PEM`); unset: a certificate is trusted for having been fetched over
    /// TLS from an SNS host (see `crate::sns_verify`).
    pub sns_trust_anchor_pem: Option<String>,
    /// A directory that SNS signing certificates are read from, by file name, instead of fetched
    /// (`MFA_SNS_CERTIFICATE_DIR`), for a webhook that can't reach SNS's hosts; only with
    /// [`Self::sns_trust_anchor_pem`], which is then what makes them trusted.
    pub sns_certificate_dir: Option<std::path::PathBuf>,
}

impl Config {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads configuration through `get`, which returns a variable's value.
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let text = |name: &'static str, default: &str| {
            get(name).filter(|v| !v.trim().is_empty()).unwrap_or_else(|| default.to_owned())
        };
        let optional = |name: &'static str| get(name).filter(|v| !v.trim().is_empty());
        let count = |name: &'static str, default: u32| match get(name) {
            None => Ok(default),
            Some(v) => v
                .trim()
                .parse::<u32>()
                .ok()
                .filter(|n| *n > 0)
                .ok_or_else(|| error(name, format!("{v:?} is not a positive whole number"))),
        };
        let seconds =
            |name: &'static str, default: u64| match get(name) {
                None => Ok(default),
                Some(v) => v.trim().parse::<u64>().ok().filter(|s| *s > 0).ok_or_else(|| {
                    error(name, format!("{v:?} is not a positive number of seconds"))
                }),
            };
        Ok(Self {
            issuer_name: issuer_name(text("MFA_ISSUER_NAME", "MFA"))?,
            api_keys: api_keys(get("MFA_API_KEYS"))?,
            data_keys: keys("MFA_DATA_KEYS", get("MFA_DATA_KEYS"))?,
            signing_keys: keys("MFA_SIGNING_KEYS", get("MFA_SIGNING_KEYS"))?,
            token_issuer: text("MFA_TOKEN_ISSUER", "mfa-service"),
            token_audience: text("MFA_TOKEN_AUDIENCE", "mfa-service")
                .split(',')
                .map(|a| a.trim().to_owned())
                .filter(|a| !a.is_empty())
                .collect(),
            token_ttl: seconds("MFA_TOKEN_TTL_SECONDS", 600)?,
            login_ttl: seconds("MFA_LOGIN_TTL_SECONDS", 600)?,
            challenge_ttl: seconds("MFA_CHALLENGE_TTL_SECONDS", 300)?,
            table: text("MFA_TABLE", "mfa"),
            metrics_namespace: text("MFA_METRICS_NAMESPACE", "MfaService"),
            code_key: keys("MFA_CODE_KEY", get("MFA_CODE_KEY"))?
                .into_iter()
                .next()
                .map(|(_, key)| key)
                .ok_or_else(|| error("MFA_CODE_KEY", "holds no key"))?,
            sms: SmsSettings {
                calling_codes: calling_codes(&text("MFA_SMS_CALLING_CODES", "1"))?,
                max_per_hour: count("MFA_SMS_MAX_PER_HOUR", 5)?,
                origination_number: optional("MFA_SMS_ORIGINATION_NUMBER"),
                webotp_domain: optional("MFA_WEBOTP_DOMAIN"),
                support_contact: text("MFA_SUPPORT_CONTACT", "your administrator"),
                inbound_topic_arn: optional("MFA_INBOUND_TOPIC_ARN"),
                sns_trust_anchor_pem: optional("MFA_SNS_TRUST_ANCHOR_PEM"),
                sns_certificate_dir: match optional("MFA_SNS_CERTIFICATE_DIR") {
                    Some(_) if optional("MFA_SNS_TRUST_ANCHOR_PEM").is_none() => {
                        return Err(error(
                            "MFA_SNS_CERTIFICATE_DIR",
                            "is set without MFA_SNS_TRUST_ANCHOR_PEM: certificates read from a directory are trusted only through a trust anchor",
                        ))
                    }
                    dir => dir.map(std::path::PathBuf::from),
                },
            },
            voice: match optional("MFA_VOICE_ORIGINATION_IDENTITY") {
                None => None,
                Some(identity) => Some(VoiceSettings {
                    origination_identity: identity.trim().to_owned(),
                    voice_id: text("MFA_VOICE_ID", "JOANNA").trim().to_ascii_uppercase(),
                    protect_configuration_id: optional("MFA_VOICE_PROTECT_CONFIGURATION_ID"),
                    max_per_hour: count("MFA_VOICE_MAX_PER_HOUR", 3)?,
                }),
            },
            budgets: SendBudgets {
                email_per_hour: count("MFA_EMAIL_MAX_PER_HOUR", 5)?,
                user_per_hour: count("MFA_USER_MAX_SENDS_PER_HOUR", 10)?,
                user_per_day: count("MFA_USER_MAX_SENDS_PER_DAY", 30)?,
                org_per_hour: count("MFA_ORG_MAX_SENDS_PER_HOUR", 1000)?,
                deployment_per_hour: count("MFA_MAX_SENDS_PER_HOUR", 10_000)?,
            },
            allow_voip: match text("MFA_ALLOW_VOIP_NUMBERS", "false").trim() {
                "true" => true,
                "false" => false,
                other => {
                    return Err(error(
                        "MFA_ALLOW_VOIP_NUMBERS",
                        format!("{other:?} is not true or false"),
                    ))
                }
            },
            email_from: optional("MFA_EMAIL_FROM"),
            webauthn: webauthn(
                optional("MFA_WEBAUTHN_RP_ID"),
                optional("MFA_WEBAUTHN_RP_NAME"),
                optional("MFA_WEBAUTHN_ORIGINS"),
                &text("MFA_ISSUER_NAME", "MFA"),
            )?,
        })
    }
}

/// The relying party, when `MFA_WEBAUTHN_RP_ID` is set: it needs at least one origin, each an
/// `https` URL (or `http://localhost`) on the RP id or a subdomain of it.
fn webauthn(
    rp_id: Option<String>,
    rp_name: Option<String>,
    origins: Option<String>,
    issuer: &str,
) -> Result<Option<WebauthnSettings>, ConfigError> {
    let Some(rp_id) = rp_id.map(|id| id.trim().to_ascii_lowercase()) else {
        return match origins {
            Some(_) => Err(error("MFA_WEBAUTHN_RP_ID", "is not set, but MFA_WEBAUTHN_ORIGINS is")),
            None => Ok(None),
        };
    };
    const ORIGINS: &str = "MFA_WEBAUTHN_ORIGINS";
    let origins = origins
        .ok_or_else(|| error(ORIGINS, "is not set (the https origins of the sign-in pages)"))?
        .split(',')
        .map(str::trim)
        .filter(|o| !o.is_empty())
        .map(|o| {
            let url = url::Url::parse(o).map_err(|e| error(ORIGINS, format!("{o:?}: {e}")))?;
            let host = url.host_str().unwrap_or_default().to_ascii_lowercase();
            let on_rp = host == rp_id || host.ends_with(&format!(".{rp_id}"));
            let secure = url.scheme() == "https" || host == "localhost";
            if !on_rp || !secure || url.path() != "/" {
                return Err(error(
                    ORIGINS,
                    format!("{o:?} must be an https origin (or http://localhost) on {rp_id} or a subdomain of it"),
                ));
            }
            Ok(url)
        })
        .collect::<Result<Vec<_>, _>>()?;
    if origins.is_empty() {
        return Err(error(ORIGINS, "holds no origin"));
    }
    Ok(Some(WebauthnSettings {
        rp_name: rp_name.unwrap_or_else(|| issuer.to_owned()),
        rp_id,
        origins,
    }))
}

/// The issuer name, checked by mfa-core's own rule for the `otpauth://` label, since every TOTP
/// enrollment would fail on a name that rule refuses.
fn issuer_name(value: String) -> Result<String, ConfigError> {
    match mfa_core::otpauth::check_issuer(&value) {
        Ok(()) => Ok(value),
        Err(e) => Err(error(
            "MFA_ISSUER_NAME",
            format!("{value:?} cannot name the issuer in authenticator apps: {e}"),
        )),
    }
}

/// `1,44,...`
fn calling_codes(value: &str) -> Result<Vec<u16>, ConfigError> {
    value
        .split(',')
        .map(|c| c.trim().trim_start_matches('+'))
        .filter(|c| !c.is_empty())
        .map(|c| {
            c.parse::<u16>().ok().filter(|n| (1..=999).contains(n)).ok_or_else(|| {
                error("MFA_SMS_CALLING_CODES", format!("{c:?} is not a country calling code"))
            })
        })
        .collect()
}

/// `scopes:sha256hex,...`
fn api_keys(value: Option<String>) -> Result<ApiKeys, ConfigError> {
    const NAME: &str = "MFA_API_KEYS";
    let value =
        value.ok_or_else(|| error(NAME, "is not set (scope:sha256-hex, comma-separated)"))?;
    let entries = value
        .split(',')
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .map(|entry| {
            let (scope, hex) = entry
                .split_once(':')
                .ok_or_else(|| error(NAME, format!("{entry:?} is not scope:sha256-hex")))?;
            let scope = Scopes::parse(scope).ok_or_else(|| {
                error(
                    NAME,
                    format!("unknown scope {scope:?}: service, admin, or verify/enroll/manage/admin joined by +"),
                )
            })?;
            let hash = data_encoding::HEXLOWER_PERMISSIVE
                .decode(hex.as_bytes())
                .ok()
                .map(Zeroizing::new)
                .and_then(|b| Key::from_slice(&b))
                .ok_or_else(|| error(NAME, "a key hash must be 64 hex digits (SHA-256)"))?;
            Ok((scope, hash))
        })
        .collect::<Result<Vec<_>, _>>()?;
    if entries.is_empty() {
        return Err(error(NAME, "holds no key"));
    }
    Ok(ApiKeys::new(entries))
}

/// `kid:base64-of-32-bytes,...`; the decoded bytes are zeroed once copied into their [`Key`].
fn keys(name: &'static str, value: Option<String>) -> Result<Vec<(String, Key)>, ConfigError> {
    let value =
        value.ok_or_else(|| error(name, "is not set (kid:base64 of 32 bytes, comma-separated)"))?;
    let keys = value
        .split(',')
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .map(|entry| {
            let (kid, b64) = entry
                .split_once(':')
                .filter(|(kid, _)| !kid.is_empty() && !kid.contains('.'))
                .ok_or_else(|| error(name, "each key is kid:base64, the kid without '.'"))?;
            let bytes = STANDARD
                .decode(b64.trim())
                .or_else(|_| URL_SAFE_NO_PAD.decode(b64.trim()))
                .ok()
                .map(Zeroizing::new)
                .and_then(|b| Key::from_slice(&b))
                .ok_or_else(|| error(name, format!("key {kid:?} is not base64 of 32 bytes")))?;
            Ok((kid.to_owned(), bytes))
        })
        .collect::<Result<Vec<_>, _>>()?;
    if keys.is_empty() {
        return Err(error(name, "holds no key"));
    }
    Ok(keys)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn lookup(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> =
            vars.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        move |k| map.get(k).cloned()
    }

    const KEY: &str = "AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=";

    #[test]
    fn debug_shows_none_of_the_configured_secrets() {
        let bytes =
            |first: u8| -> [u8; 32] { std::array::from_fn(|i| first.wrapping_add(i as u8)) };
        let (data, signing, code, api_hash) = (bytes(1), bytes(71), bytes(141), bytes(211));
        let b64 = |key: &[u8; 32]| STANDARD.encode(key);
        let api_hex = data_encoding::HEXLOWER.encode(&api_hash);
        let config = Config::from_lookup(lookup(&[
            ("MFA_API_KEYS", &format!("admin:{api_hex}")),
            ("MFA_DATA_KEYS", &format!("d1:{}", b64(&data))),
            ("MFA_SIGNING_KEYS", &format!("s1:{}", b64(&signing))),
            ("MFA_CODE_KEY", &format!("c1:{}", b64(&code))),
        ]))
        .unwrap();
        let shown = format!("{config:?}");
        assert!(shown.contains("\"d1\"") && shown.contains("[redacted]"), "{shown}");
        for key in [data, signing, code, api_hash] {
            let forms = [
                b64(&key),
                URL_SAFE_NO_PAD.encode(key),
                data_encoding::HEXLOWER.encode(&key[..8]),
                data_encoding::HEXUPPER.encode(&key[..8]),
                format!("{:?}", &key[..4]).trim_matches(['[', ']']).to_owned(),
            ];
            for form in forms {
                assert!(!shown.contains(&form), "{form} in {shown}");
            }
        }
    }

    #[test]
    fn webauthn_needs_origins_on_its_rp_id() {
        let base = |extra: &[(&'static str, &'static str)]| {
            let hash = "a".repeat(64);
            let mut vars = vec![
                ("MFA_API_KEYS".to_owned(), format!("admin:{hash}")),
                ("MFA_DATA_KEYS".to_owned(), format!("d1:{KEY}")),
                ("MFA_SIGNING_KEYS".to_owned(), format!("s1:{KEY}")),
                ("MFA_CODE_KEY".to_owned(), format!("c1:{KEY}")),
            ];
            vars.extend(extra.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())));
            let map: HashMap<String, String> = vars.into_iter().collect();
            Config::from_lookup(move |k| map.get(k).cloned())
        };
        assert_eq!(base(&[]).unwrap().webauthn, None);
        let rp = base(&[
            ("MFA_WEBAUTHN_RP_ID", "Example.com"),
            ("MFA_WEBAUTHN_ORIGINS", "https://example.com, https://app.example.com:8443"),
        ])
        .unwrap()
        .webauthn
        .unwrap();
        assert_eq!((rp.rp_id.as_str(), rp.rp_name.as_str()), ("example.com", "MFA"));
        assert_eq!(rp.origins.len(), 2);
        let local = [
            ("MFA_WEBAUTHN_RP_ID", "localhost"),
            ("MFA_WEBAUTHN_ORIGINS", "http://localhost:8080"),
        ];
        assert!(base(&local).is_ok());
        for (origins, why) in [
            ("https://example.org", "another domain"),
            ("https://notexample.com", "not a subdomain"),
            ("http://app.example.com", "plain http"),
            ("https://example.com/login", "a path, not an origin"),
            ("", "no origin"),
        ] {
            let err =
                base(&[("MFA_WEBAUTHN_RP_ID", "example.com"), ("MFA_WEBAUTHN_ORIGINS", origins)])
                    .unwrap_err();
            assert_eq!(err.name, "MFA_WEBAUTHN_ORIGINS", "{why}");
        }
        let err = base(&[("MFA_WEBAUTHN_ORIGINS", "https://example.com")]).unwrap_err();
        assert_eq!(err.name, "MFA_WEBAUTHN_RP_ID");
    }

    #[test]
    fn a_certificate_directory_needs_a_trust_anchor() {
        let hash = "a".repeat(64);
        let (api, data, signing, code) = (
            format!("admin:{hash}"),
            format!("d1:{KEY}"),
            format!("s1:{KEY}"),
            format!("c1:{KEY}"),
        );
        let with = |extra: &[(&'static str, &'static str)]| {
            let mut vars = vec![
                ("MFA_API_KEYS", api.as_str()),
                ("MFA_DATA_KEYS", data.as_str()),
                ("MFA_SIGNING_KEYS", signing.as_str()),
                ("MFA_CODE_KEY", code.as_str()),
            ];
            vars.extend_from_slice(extra);
            Config::from_lookup(lookup(&vars))
        };
        assert_eq!(with(&[]).unwrap().sms.sns_certificate_dir, None);
        let err = with(&[("MFA_SNS_CERTIFICATE_DIR", "/certs")]).unwrap_err();
        assert_eq!(err.name, "MFA_SNS_CERTIFICATE_DIR");
        assert!(err.problem.contains("MFA_SNS_TRUST_ANCHOR_PEM"), "{}", err.problem);
        let pinned =
            with(&[("MFA_SNS_CERTIFICATE_DIR", "/certs"), ("MFA_SNS_TRUST_ANCHOR_PEM", "PEM")]);
        let dir = pinned.unwrap().sms.sns_certificate_dir;
        assert_eq!(dir, Some(std::path::PathBuf::from("/certs")));
    }

    #[test]
    fn reads_a_complete_configuration_with_defaults() {
        let hash = "a".repeat(64);
        let api = format!("service:{hash},admin:{hash}");
        let config = Config::from_lookup(lookup(&[
            ("MFA_API_KEYS", &api),
            ("MFA_DATA_KEYS", &format!("d1:{KEY}")),
            ("MFA_SIGNING_KEYS", &format!("s2:{KEY}, s1:{KEY}")),
            ("MFA_TOKEN_AUDIENCE", "portal, backoffice"),
            ("MFA_CODE_KEY", &format!("c1:{KEY}")),
            ("MFA_SMS_CALLING_CODES", "+1, 44"),
        ]))
        .unwrap();
        assert_eq!(config.signing_keys.len(), 2);
        assert_eq!(config.signing_keys[0].0, "s2");
        assert_eq!(config.token_audience, ["portal", "backoffice"]);
        assert_eq!((config.token_ttl, config.challenge_ttl), (600, 300));
        assert_eq!(config.issuer_name, "MFA");
        assert_eq!(config.sms.calling_codes, [1, 44]);
        assert_eq!(config.sms.max_per_hour, 5);
        assert_eq!(config.email_from, None);
    }

    #[test]
    fn names_the_variable_that_is_wrong() {
        let hash = "a".repeat(64);
        let api = format!("service:{hash}");
        let data = format!("d1:{KEY}");
        let base = [("MFA_API_KEYS", api.as_str()), ("MFA_DATA_KEYS", data.as_str())];
        let err = Config::from_lookup(lookup(&base)).unwrap_err();
        assert_eq!(err.name, "MFA_SIGNING_KEYS");
        let bad = [base[0], base[1], ("MFA_SIGNING_KEYS", "s1:short")];
        assert_eq!(Config::from_lookup(lookup(&bad)).unwrap_err().name, "MFA_SIGNING_KEYS");
        let bad_scope = [("MFA_API_KEYS", "root:00")];
        assert!(Config::from_lookup(lookup(&bad_scope)).unwrap_err().problem.contains("scope"));
        let signing = format!("s1:{KEY}");
        let bad_ttl =
            [base[0], base[1], ("MFA_SIGNING_KEYS", &signing), ("MFA_TOKEN_TTL_SECONDS", "0")];
        assert_eq!(
            Config::from_lookup(lookup(&bad_ttl)).unwrap_err().name,
            "MFA_TOKEN_TTL_SECONDS"
        );
    }

    #[test]
    fn refuses_an_issuer_name_that_authenticator_apps_cannot_show() {
        let hash = "a".repeat(64);
        let api = format!("service:{hash}");
        let key = format!("k1:{KEY}");
        let vars = |issuer| {
            lookup(&[
                ("MFA_API_KEYS", api.as_str()),
                ("MFA_DATA_KEYS", key.as_str()),
                ("MFA_SIGNING_KEYS", key.as_str()),
                ("MFA_CODE_KEY", key.as_str()),
                ("MFA_ISSUER_NAME", issuer),
            ])
        };
        let err = Config::from_lookup(vars("Acme: Portal")).unwrap_err();
        assert_eq!(err.name, "MFA_ISSUER_NAME");
        assert!(err.problem.contains("\"Acme: Portal\""), "{}", err.problem);
        assert!(err.problem.contains("':'"), "{}", err.problem);
        assert_eq!(Config::from_lookup(vars("Acme Portal")).unwrap().issuer_name, "Acme Portal");
    }
}
