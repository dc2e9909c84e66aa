//! Enrolling a factor and activating it with a first code.

use mfa_core::otpauth::{otpauth_uri, qr_svg};
use mfa_core::secret::TotpSecret;
use mfa_core::totp::{match_step, TotpParams};
use rand_chacha::{rand_core::SeedableRng, ChaCha20Rng};

use super::{Error, Mfa, RECOVERY_SET_SIZE, TOTP_WINDOW};
use crate::api::{ActivateResponse, EnrollRequest, EnrollResponse, FactorView};
use crate::model::{Factor, FactorKind, FactorStatus, RecoverySet};

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

/// Additional data that binds a sealed TOTP secret to its factor.
pub(super) fn secret_aad(user: &str, factor_id: &str) -> String {
    format!("totp/{user}/{factor_id}")
}

impl Mfa {
    /// Enrolls a pending factor. For TOTP: a new secret, its URI and QR code.
    pub async fn enroll(
        &self,
        user: &str,
        request: EnrollRequest,
    ) -> Result<EnrollResponse, Error> {
        let EnrollRequest::Totp { label, account_name } = request;
        let label = check_text(label, "label")?;
        let account = check_text(account_name, "account_name")?.unwrap_or_else(|| user.to_owned());
        let id = self.new_id("fac");
        let secret = self.with_rng(|rng| TotpSecret::generate(&mut &mut *rng));
        let params = TotpParams::default();
        let uri = otpauth_uri(&secret, &account, &self.issuer_name, &params)
            .map_err(|e| Error::BadRequest(e.to_string()))?;
        let qr = qr_svg(&uri).map_err(|e| Error::BadRequest(e.to_string()))?;
        let sealed = self
            .with_rng(|rng| self.data_keys.seal(secret.as_bytes(), &secret_aad(user, &id), rng));
        let factor = Factor {
            id,
            user: user.to_owned(),
            kind: FactorKind::Totp,
            status: FactorStatus::Pending,
            label,
            created_at: self.now(),
            activated_at: None,
            secret: Some(sealed),
            last_step: None,
        };
        self.store.insert_factor(&factor).await?;
        tracing::info!(user, factor = %factor.id, "factor enrolled");
        Ok(EnrollResponse {
            factor: FactorView::from(&factor),
            secret: secret.to_base32(),
            otpauth_uri: uri,
            qr_svg: qr,
        })
    }

    /// Activates a pending factor with a code from it. The user's first active factor comes with
    /// a set of recovery codes.
    pub async fn activate(
        &self,
        user: &str,
        factor_id: &str,
        code: &str,
    ) -> Result<ActivateResponse, Error> {
        let params = TotpParams::default();
        check_code_shape(code, &params)?;
        let factor =
            self.store.get_factor(user, factor_id).await?.ok_or(Error::NotFound("factor"))?;
        if factor.status != FactorStatus::Pending {
            return Err(Error::Conflict("the factor is already active"));
        }
        self.begin_attempt(user).await?;
        let secret = self.open_secret(&factor)?;
        let now = self.now();
        let step = match_step(&secret, code, now, TOTP_WINDOW, &params, None)
            .ok_or(Error::CodeRejected)?;
        if !self.store.activate_factor(user, factor_id, Some(step), now).await? {
            return Err(Error::Conflict("the factor is already active"));
        }
        self.store.succeed(user).await?;
        let recovery_codes = self.first_recovery_codes(user).await?;
        let mut factor = factor;
        factor.status = FactorStatus::Active;
        factor.activated_at = Some(now);
        tracing::info!(user, factor = factor_id, "factor activated");
        Ok(ActivateResponse { factor: FactorView::from(&factor), recovery_codes })
    }

    /// A recovery set for a user who has none; `None` if they have one.
    async fn first_recovery_codes(&self, user: &str) -> Result<Option<Vec<String>>, Error> {
        if self.store.get_recovery_set(user).await?.is_some() {
            return Ok(None);
        }
        let (set, codes) = self.make_recovery_set().await?;
        Ok(self.store.insert_recovery_set_if_absent(user, &set).await?.then_some(codes))
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

    /// Opens a factor's sealed TOTP secret.
    pub(super) fn open_secret(&self, factor: &Factor) -> Result<TotpSecret, Error> {
        let sealed = factor
            .secret
            .as_deref()
            .ok_or_else(|| Error::Internal("TOTP factor without secret".into()))?;
        let bytes = self
            .data_keys
            .open(sealed, &secret_aad(&factor.user, &factor.id))
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
