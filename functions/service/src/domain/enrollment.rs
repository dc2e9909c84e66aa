//! Enrolling a factor and activating it with a first code.

use mfa_core::otpauth::{otpauth_uri, qr_svg};
use mfa_core::secret::TotpSecret;
use mfa_core::totp::{match_step, TotpParams};
use rand_chacha::{rand_core::SeedableRng, ChaCha20Rng};

use super::answers::{Activated, AppSetup, Enrolled};
use super::notices::Notice;
use super::oob::Destination;
use super::orgs::{check_allowed, check_room};
use super::{Error, Mfa, Proof, RECOVERY_SET_SIZE, TOTP_WINDOW};
use crate::ids::{FactorId, UserId};
use crate::model::{
    AuditAction, Budget, Challenge, ChallengePurpose, Delivery, Factor, FactorKind, FactorStatus,
    Method, Operation, RecoverySet, WebauthnKind, PENDING_FACTOR_TTL,
};
use crate::ports::{Activation, RecoveryWrite};

/// Why a factor enrolled without a step-up can't be activated next to an active one.
const ENROLL_AGAIN: &str =
    "another factor was activated after this one was enrolled: enroll it again";

/// The most factors a user may have waiting for activation.
pub const MAX_PENDING_FACTORS: usize = 3;

/// The most characters of a label or account name.
const MAX_LABEL: usize = 64;

fn check_text(value: Option<String>, what: &str) -> Result<Option<String>, Error> {
    match value.map(|v| v.trim().to_owned()) {
        Some(v)
            if v.is_empty() || v.chars().count() > MAX_LABEL || v.chars().any(char::is_control) =>
        {
            Err(Error::BadRequest(format!("{what} must be 1 to {MAX_LABEL} printable characters")))
        }
        other => Ok(other),
    }
}

/// Checks an email address's shape: one `@`, a dot in the domain, no spaces, at most 254 bytes.
fn check_email(email: &str) -> Result<String, Error> {
    let email = email.trim();
    let ok = email.len() <= 254
        && !email.chars().any(|c| c.is_whitespace() || c.is_control())
        && email.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty()
                && domain.contains('.')
                && !domain.contains('@')
                && !domain.starts_with('.')
        });
    if ok {
        Ok(email.to_owned())
    } else {
        Err(Error::BadRequest(format!("{email:?} is not an email address")))
    }
}

/// A factor to enroll, with what its kind needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NewFactor {
    /// An authenticator app.
    Totp {
        /// A name for the factor.
        label: Option<String>,
        /// The account name the app shows; defaults to the user id.
        account_name: Option<String>,
    },
    /// Codes by text message (or call) to `phone` (any common notation; checked here).
    Sms {
        /// The number as typed.
        phone: String,
        /// A name for the factor.
        label: Option<String>,
        /// How the activation code goes: a text (the default) or a call.
        delivery: Option<Delivery>,
    },
    /// Codes by email to `email` (checked here).
    Email {
        /// The address as typed.
        email: String,
        /// A name for the factor.
        label: Option<String>,
    },
    /// A WebAuthn security key or passkey.
    Webauthn {
        /// Which of the two.
        kind: WebauthnKind,
        /// A name for the key ("Blue YubiKey").
        label: Option<String>,
    },
}

impl NewFactor {
    /// The kind of factor it enrolls.
    pub fn kind(&self) -> FactorKind {
        match self {
            Self::Totp { .. } => FactorKind::Totp,
            Self::Sms { .. } => FactorKind::Sms,
            Self::Email { .. } => FactorKind::Email,
            Self::Webauthn { .. } => FactorKind::Webauthn,
        }
    }
}

/// Whether the pending `factor` has expired at `now` ([`PENDING_FACTOR_TTL`] after enrollment).
pub(super) fn pending_expired(factor: &Factor, now: u64) -> bool {
    factor.status == FactorStatus::Pending
        && factor.created_at.saturating_add(PENDING_FACTOR_TTL) <= now
}

/// The factor `factor_id` of the user's `factors` if what they show lets it be activated at
/// `now`: it is pending and not expired, and, enrolled without a step-up (the user's first), no
/// other factor is active; or why not.
fn activatable<'a>(
    factors: &'a [Factor],
    factor_id: &FactorId,
    now: u64,
) -> Result<&'a Factor, Error> {
    let factor = factors.iter().find(|f| &f.id == factor_id).ok_or(Error::NotFound("factor"))?;
    if factor.status != FactorStatus::Pending {
        return Err(Error::Conflict("the factor is already active"));
    }
    if pending_expired(factor, now) {
        return Err(Error::Expired("enrollment"));
    }
    if !factor.enrolled_with_step_up && factors.iter().any(|f| f.status == FactorStatus::Active) {
        return Err(Error::Conflict(ENROLL_AGAIN));
    }
    Ok(factor)
}

/// Additional data that binds a sealed TOTP secret to its factor.
pub(super) fn secret_aad(user: &UserId, factor_id: &FactorId) -> String {
    format!("totp/{user}/{factor_id}")
}

impl Mfa {
    /// Enrolls a pending factor. For TOTP: a new secret, its URI and QR code. For SMS and
    /// email: a code sent to the number or address, which activates it. For WebAuthn: the
    /// creation options for the browser, whose credential activates it.
    ///
    /// A user's first factor needs nothing more. Once the user has an active factor, adding
    /// another needs a step-up token for `add_factor` (proved by a factor or a recovery code,
    /// the way back after losing one): a password alone must not be enough to add a way in.
    pub async fn enroll(
        &self,
        user: &UserId,
        request: NewFactor,
        step_up: Option<&str>,
    ) -> Result<Enrolled, Error> {
        // What the request holds is checked before anything is used up (the step-up token).
        let request = self.checked(request)?;
        let factors = self.pending_checked(user).await?;
        let rules = self.policy_of(user).await?.strictest;
        check_allowed(rules.allowed_factors.as_deref(), request.kind())?;
        let active = factors.iter().filter(|f| f.status == FactorStatus::Active).count();
        check_room(rules.max_factors, active)?;
        let stepped_up = active > 0;
        if stepped_up {
            self.redeem_step_up(user, step_up, Operation::AddFactor, None, &factors).await?;
        }
        let new_factor = |label, method| self.new_factor(user, label, method, stepped_up);
        match request {
            NewFactor::Totp { label, account_name } => {
                self.enroll_totp(user, label, account_name, stepped_up).await
            }
            NewFactor::Sms { phone, label, delivery } => {
                self.check_line(&phone).await?;
                let factor = new_factor(label, Method::Sms { phone, activation: None });
                self.enroll_with_code(factor, delivery).await
            }
            NewFactor::Email { email, label } => {
                let factor = new_factor(label, Method::Email { email, activation: None });
                self.enroll_with_code(factor, None).await
            }
            NewFactor::Webauthn { kind, label } => {
                let method = Method::Webauthn { kind, key: None, activation: None };
                let mut factor = new_factor(label, method);
                let (challenge, options) = self.start_registration(&factor, kind, &factors).await?;
                factor.method =
                    Method::Webauthn { kind, key: None, activation: Some(challenge.id) };
                self.store.insert_factor(&factor).await?;
                self.audit(user, AuditAction::FactorEnrolled, Some(&factor.id)).await;
                Ok(Enrolled {
                    factor,
                    app_setup: None,
                    code_expires_at: None,
                    creation_options: Some(options),
                })
            }
        }
    }

    /// The user's factors, after the expired pending ones are deleted; refused when the user
    /// has [`MAX_PENDING_FACTORS`] waiting for activation already.
    async fn pending_checked(&self, user: &UserId) -> Result<Vec<Factor>, Error> {
        let now = self.now();
        let (expired, factors): (Vec<Factor>, Vec<Factor>) =
            self.store.list_factors(user).await?.into_iter().partition(|f| pending_expired(f, now));
        for factor in expired {
            // The record expires in DynamoDB by itself; deleting it here keeps both stores tidy.
            if let Err(e) = self.store.delete_factor(user, &factor.id, FactorStatus::Pending).await
            {
                tracing::warn!(user = %user, factor = %factor.id, error = %e, "expired pending factor not deleted");
            }
        }
        let pending = factors.iter().filter(|f| f.status == FactorStatus::Pending).count();
        if pending >= MAX_PENDING_FACTORS {
            return Err(Error::Conflict(
                "3 factors are waiting for activation: activate or delete one first (each expires an hour after enrollment)",
            ));
        }
        Ok(factors)
    }

    /// `request` checked and in its stored form: labels trimmed, a phone number in E.164, an
    /// email address checked (and email factors enabled).
    fn checked(&self, request: NewFactor) -> Result<NewFactor, Error> {
        Ok(match request {
            NewFactor::Totp { label, account_name } => NewFactor::Totp {
                label: check_text(label, "label")?,
                account_name: check_text(account_name, "account_name")?,
            },
            NewFactor::Sms { phone, label, delivery } => NewFactor::Sms {
                phone: mfa_core::phone::parse_sms_number(&phone, &self.phone_policy)
                    .map_err(|e| Error::BadRequest(e.to_string()))?
                    .as_str()
                    .to_owned(),
                label: check_text(label, "label")?,
                delivery,
            },
            NewFactor::Email { email, label } => {
                if !self.email_enabled {
                    return Err(Error::BadRequest(
                        "email factors are not enabled (MFA_EMAIL_FROM is not set)".into(),
                    ));
                }
                NewFactor::Email { email: check_email(&email)?, label: check_text(label, "label")? }
            }
            NewFactor::Webauthn { kind, label } => {
                NewFactor::Webauthn { kind, label: check_text(label, "label")? }
            }
        })
    }

    fn new_factor(
        &self,
        user: &UserId,
        label: Option<String>,
        method: Method,
        enrolled_with_step_up: bool,
    ) -> Factor {
        Factor {
            id: self.with_rng(FactorId::generate),
            user: user.clone(),
            status: FactorStatus::Pending,
            label,
            created_at: self.now(),
            activated_at: None,
            enrolled_with_step_up,
            method,
        }
    }

    /// Stores a pending SMS or email factor and sends the code that activates it (to a phone by
    /// `delivery`).
    async fn enroll_with_code(
        &self,
        mut factor: Factor,
        delivery: Option<Delivery>,
    ) -> Result<Enrolled, Error> {
        let to = Destination::of(&factor, delivery)?.ok_or(Error::BadRequest(
            "only an SMS or email factor is activated with a code sent to it".into(),
        ))?;
        let challenge =
            self.send_code(&factor, to, ChallengePurpose::Activation, u64::MAX, None).await?;
        if let Method::Sms { activation, .. } | Method::Email { activation, .. } =
            &mut factor.method
        {
            *activation = Some(challenge.id);
        }
        self.store.insert_factor(&factor).await?;
        self.audit(&factor.user, AuditAction::FactorEnrolled, Some(&factor.id)).await;
        Ok(Enrolled {
            factor,
            app_setup: None,
            code_expires_at: Some(challenge.expires_at),
            creation_options: None,
        })
    }

    async fn enroll_totp(
        &self,
        user: &UserId,
        label: Option<String>,
        account_name: Option<String>,
        enrolled_with_step_up: bool,
    ) -> Result<Enrolled, Error> {
        let account = account_name.unwrap_or_else(|| user.as_str().to_owned());
        let id = self.with_rng(FactorId::generate);
        let secret = self.with_rng(|rng| TotpSecret::generate(&mut &mut *rng));
        let params = TotpParams::default();
        let uri = otpauth_uri(&secret, &account, &self.issuer_name, &params)
            .map_err(|e| Error::BadRequest(e.to_string()))?;
        let qr = qr_svg(&uri).map_err(|e| Error::BadRequest(e.to_string()))?;
        let aad = secret_aad(user, &id);
        let sealed = self.with_rng(|rng| self.data_keys.seal(secret.as_bytes(), &aad, rng));
        let method = Method::Totp { secret: sealed, last_step: None };
        let factor = Factor { id, ..self.new_factor(user, label, method, enrolled_with_step_up) };
        self.store.insert_factor(&factor).await?;
        self.audit(user, AuditAction::FactorEnrolled, Some(&factor.id)).await;
        let app_setup = AppSetup { secret: secret.to_base32(), otpauth_uri: uri, qr_svg: qr };
        Ok(Enrolled {
            factor,
            app_setup: Some(app_setup),
            code_expires_at: None,
            creation_options: None,
        })
    }

    /// Activates a pending factor with a code from it, or for WebAuthn with the browser's new
    /// credential. The user's first active factor comes with a set of recovery codes.
    pub async fn activate(
        &self,
        user: &UserId,
        factor_id: &FactorId,
        proof: &Proof,
    ) -> Result<Activated, Error> {
        let params = TotpParams::default();
        if let Proof::Code(code) = proof {
            check_code_shape(code, &params)?;
        }
        // One read for the factor and the others it must be checked against.
        let factors = self.store.list_factors(user).await?;
        let now = self.now();
        let factor = activatable(&factors, factor_id, now)?.clone();
        let active = factors.iter().filter(|f| f.status == FactorStatus::Active).count();
        let max_active = self.policy_of(user).await?.strictest.max_factors;
        check_room(max_active, active)?;
        let (step, key) = match (&factor.method, proof) {
            (Method::Totp { secret, .. }, Proof::Code(code)) => {
                self.begin_attempt(user, Budget::SecondFactor).await?;
                let secret = self.open_secret(&factor.user, &factor.id, secret)?;
                let step = match_step(&secret, code, now, TOTP_WINDOW, &params, None)
                    .ok_or(Error::CodeRejected)?;
                self.store.succeed(user, Budget::SecondFactor).await?;
                (Some(step), None)
            }
            (Method::Sms { .. } | Method::Email { .. }, Proof::Code(code)) => {
                let challenge = self.activation_challenge(&factor).await?.ok_or(
                    Error::Conflict("the factor's activation code is gone: enroll it again"),
                )?;
                self.match_code(&challenge, code).await?;
                (None, None)
            }
            (Method::Webauthn { .. }, Proof::Credential(credential)) => {
                let key = self.finish_registration(&factor, credential).await?;
                self.store.succeed(user, Budget::SecondFactor).await?;
                (None, Some(key))
            }
            (Method::Webauthn { .. }, Proof::Code(_)) => {
                return Err(Error::BadRequest(
                    "a security key or passkey is activated with its credential, not a code".into(),
                ))
            }
            (_, Proof::Credential(_)) => {
                return Err(Error::BadRequest("this factor is activated with a code".into()))
            }
        };
        // The factor and, for the user's first, the recovery set: one transaction.
        let current = self.store.get_recovery_set(user).await?;
        let fresh = match &current {
            Some(set) if set.remaining() > 0 => None,
            _ => Some(self.make_recovery_set().await?),
        };
        let recovery = match (&current, &fresh) {
            (_, None) => RecoveryWrite::Keep,
            (None, Some((new, _))) => RecoveryWrite::Insert(new),
            (Some(old), Some((new, _))) => RecoveryWrite::Replace { old: &old.id, new },
        };
        let challenge = factor.activation();
        let activation =
            Activation { step, key: key.as_ref(), recovery, challenge, max_active, now };
        if !self.store.activate_factor(user, factor_id, &activation).await? {
            return Err(self.activation_refused(user, factor_id).await?);
        }
        let factor = Factor { status: FactorStatus::Active, activated_at: Some(now), ..factor };
        self.audit(user, AuditAction::FactorActivated, Some(factor_id)).await;
        self.notify(user, Notice::FactorAdded { factor: &factor }).await;
        Ok(Activated { factor, recovery_codes: fresh.map(|(_, codes)| codes) })
    }

    /// Why the store refused an activation whose checks had passed: something changed meanwhile,
    /// which the same checks on the factors as they are now name, if they can.
    async fn activation_refused(
        &self,
        user: &UserId,
        factor_id: &FactorId,
    ) -> Result<Error, Error> {
        let factors = self.store.list_factors(user).await?;
        Ok(match activatable(&factors, factor_id, self.now()) {
            Err(why) => why,
            Ok(_) => Error::Conflict(
                "another factor was activated, the activation code was used or the recovery codes changed meanwhile: try again",
            ),
        })
    }

    /// The challenge that activates a pending factor (its code, or its key's registration), if
    /// it is still stored.
    pub(super) async fn activation_challenge(
        &self,
        factor: &Factor,
    ) -> Result<Option<Challenge>, Error> {
        let Some(id) = factor.activation() else { return Ok(None) };
        Ok(self
            .store
            .get_challenge(id)
            .await?
            .filter(|c| c.user == factor.user && c.purpose == ChallengePurpose::Activation))
    }

    /// A fresh set of recovery codes: the record to store and the codes to show once.
    pub(super) async fn make_recovery_set(&self) -> Result<(RecoverySet, Vec<String>), Error> {
        let id = self.new_id("rcs");
        let cost = self.recovery_cost.clone();
        // A CSPRNG seeded from ours, to move to a blocking thread: Argon2id is CPU-bound.
        let mut rng = self.with_rng(|rng| {
            let mut seed = [0u8; 32];
            rng.fill_bytes(&mut seed);
            ChaCha20Rng::from_seed(seed)
        });
        let issued = tokio::task::spawn_blocking(move || {
            mfa_core::recovery::generate_set(&mut rng, RECOVERY_SET_SIZE, &cost)
        })
        .await
        .map_err(|e| Error::Internal(e.to_string()))?
        .map_err(|e| Error::Internal(e.to_string()))?;
        let set = RecoverySet {
            id,
            hashes: issued.iter().map(|c| c.hash.clone()).collect(),
            used: Vec::new(),
            created_at: self.now(),
        };
        Ok((set, issued.into_iter().map(|c| c.code).collect()))
    }

    /// Opens a TOTP factor's sealed secret.
    pub(super) fn open_secret(
        &self,
        user: &UserId,
        factor: &FactorId,
        sealed: &str,
    ) -> Result<TotpSecret, Error> {
        let bytes = self
            .data_keys
            .open(sealed, &secret_aad(user, factor))
            .map_err(|e| Error::Internal(e.to_string()))?;
        TotpSecret::from_bytes(bytes).map_err(|e| Error::Internal(e.to_string()))
    }
}

/// Refuses a code that can't be a TOTP code before it costs an attempt.
pub(super) fn check_code_shape(code: &str, params: &TotpParams) -> Result<(), Error> {
    mfa_core::totp::parse_code(code, params.digits())
        .map(|_| ())
        .ok_or_else(|| Error::BadRequest(format!("the code must be {} digits", params.digits())))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The API's documented limit of a label or account name: "1 to 64 printable characters".
    const LABEL_LIMIT: usize = 64;

    #[test]
    fn a_label_is_1_to_64_printable_characters_trimmed() {
        let ok = |v: &str| check_text(Some(v.to_owned()), "label");
        // Characters, not bytes: 64 two-byte letters are a label.
        assert_eq!(ok(&"é".repeat(LABEL_LIMIT)).unwrap(), Some("é".repeat(LABEL_LIMIT)));
        assert_eq!(ok("  Phone \t").unwrap(), Some("Phone".to_owned()));
        assert_eq!(check_text(None, "label").unwrap(), None);
        for refused in ["", "   ", &"a".repeat(LABEL_LIMIT + 1), "Ph\u{7}one", "a\nb"] {
            assert!(matches!(ok(refused), Err(Error::BadRequest(_))), "{refused:?}");
        }
    }

    #[test]
    fn an_email_address_has_one_at_a_dotted_domain_and_at_most_254_characters() {
        // RFC 5321, 4.5.3.1.3: a path is at most 256 octets, two of them its angle brackets.
        let longest = format!("{}@example.com", "a".repeat(254 - "@example.com".len()));
        for ok in [longest.as_str(), "ada@example.com", " a.b+c@mail.example.co.uk "] {
            assert_eq!(check_email(ok).unwrap(), ok.trim(), "{ok:?}");
        }
        let too_long = format!("a{longest}");
        let refused = [
            too_long.as_str(),
            "ada.example.com",
            "@example.com",
            "ada@example",
            "ada@@example.com",
            "ada@exa@mple.com",
            "ada@.example.com",
            "a da@example.com",
            "ada@example.com\u{0}",
            "",
        ];
        for bad in refused {
            assert!(matches!(check_email(bad), Err(Error::BadRequest(_))), "{bad:?}");
        }
    }
}
