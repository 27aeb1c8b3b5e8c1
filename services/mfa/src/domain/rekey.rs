//! Re-sealing: after a new encryption key is appended to the ring, every
//! TOTP secret and pending enrollment still sealed under an older key is
//! opened and sealed again under the newest, so the older key can leave
//! the ring. Rows are read in batches in member order and each is written
//! back only if it still holds the ciphertext read, so a secret replaced
//! meanwhile is left as it is.

use secrecy::ExposeSecret;

use countersign_kit::seal::Sealed;

use super::{Fault, Mfa, ResealError};
use crate::{
    model::MemberId,
    store::{SealedRow, SecretTable},
};

/// Rows read per batch by the pass the service runs at start.
pub const RESEAL_BATCH: u32 = 100;

/// What a re-sealing pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Resealed {
    /// Secrets now sealed under the newest key.
    pub resealed: u64,
    /// Secrets that did not open (their key is gone from the ring, or the
    /// row is damaged); each is logged and left as it was.
    pub unopened: u64,
}

impl Mfa {
    /// Re-seals, `batch` rows at a time, every factor and enrollment not
    /// sealed under the newest key. A second pass finds nothing to do,
    /// unless a secret failed to open. Limitation: a member confirming an
    /// enrollment while its row is re-sealed is refused once and must
    /// submit a fresh code.
    #[tracing::instrument(skip_all)]
    pub async fn reseal_secrets(&self, batch: u32) -> Result<Resealed, ResealError> {
        let mut done = Resealed::default();
        let Some(newest) = self.deps.keys.newest_id() else {
            return Ok(done);
        };
        for table in [SecretTable::Factors, SecretTable::Enrollments] {
            self.reseal_table(table, newest, batch.max(1), &mut done)
                .await?;
        }
        Ok(done)
    }

    async fn reseal_table(
        &self,
        table: SecretTable,
        newest: &str,
        batch: u32,
        done: &mut Resealed,
    ) -> Result<(), ResealError> {
        let mut after: Option<MemberId> = None;
        loop {
            let rows = self
                .deps
                .factors
                .sealed_under_other_keys(table, newest, after.as_ref(), batch)
                .await?;
            for row in &rows {
                self.reseal_row(table, row, done).await?;
            }
            match rows.last() {
                Some(last) if rows.len() == batch as usize => after = Some(last.member.clone()),
                _ => return Ok(()),
            }
        }
    }

    async fn reseal_row(
        &self,
        table: SecretTable,
        row: &SealedRow,
        done: &mut Resealed,
    ) -> Result<(), ResealError> {
        let member = &row.member;
        let fresh = match self.sealed_again(member, &row.sealed) {
            Ok(fresh) => fresh,
            Err(error) => {
                tracing::warn!(member_id = member.as_str(), ?table,
                    key_id = %row.sealed.key_id, %error, "secret not resealed");
                done.unopened += 1;
                return Ok(());
            }
        };
        let factors = &self.deps.factors;
        if factors.reseal(table, member, &row.sealed, &fresh).await? {
            done.resealed += 1;
        }
        Ok(())
    }

    fn sealed_again(&self, member: &MemberId, sealed: &Sealed) -> Result<Sealed, Fault> {
        let secret = self.deps.keys.open(member.as_str(), sealed)?;
        Ok(self
            .deps
            .keys
            .seal(member.as_str(), secret.expose_secret())?)
    }
}

#[cfg(test)]
mod tests {
    use base64::{Engine, engine::general_purpose::STANDARD};
    use secrecy::SecretString;

    use countersign_kit::seal::{EncryptionKeyConfig, KeyRing};

    use super::super::fakes::{factor_store, harness_on};
    use super::*;
    use crate::store::{FactorStore, StoredEnrollment};

    const FAR_FUTURE_MS: i64 = 4_000_000_000_000;

    fn ring(ids: &[&str]) -> KeyRing {
        let keys: Vec<EncryptionKeyConfig> = ids
            .iter()
            .map(|id| EncryptionKeyConfig {
                id: (*id).to_string(),
                key: SecretString::from(STANDARD.encode([id.as_bytes()[0]; 32])),
            })
            .collect();
        KeyRing::from_config(&keys).unwrap()
    }

    fn other(i: usize) -> MemberId {
        MemberId::parse(&format!("member-other-{i}")).unwrap()
    }

    /// Pending enrollments of other members, sealed under `keys`.
    async fn seed_enrollments(store: &dyn FactorStore, keys: &KeyRing, count: usize) {
        for i in 0..count {
            let member = other(i);
            let sealed = keys.seal(member.as_str(), format!("secret-{i}").as_bytes());
            let pending = StoredEnrollment {
                sealed: sealed.unwrap(),
                expires_at_ms: FAR_FUTURE_MS,
            };
            store.put_enrollment(&member, &pending, 0).await.unwrap();
        }
    }

    #[tokio::test]
    async fn reseal_secrets_lets_newest_key_alone_open_everything() {
        let store = factor_store().await;
        let before = harness_on(store.clone(), ring(&["a"]));
        let enrollment = before.enable().await;
        seed_enrollments(store.as_ref(), &ring(&["a"]), 4).await;

        let rotated = harness_on(store.clone(), ring(&["a", "b"]));
        let first = rotated.mfa.reseal_secrets(2).await.unwrap();
        let second = rotated.mfa.reseal_secrets(2).await.unwrap();

        assert_eq!(
            first,
            Resealed {
                resealed: 5,
                unopened: 0
            }
        );
        assert_eq!(second, Resealed::default());
        let only_b = ring(&["b"]);
        for i in 0..4 {
            let pending = store.enrollment(&other(i), 0).await.unwrap().unwrap();
            let secret = only_b.open(other(i).as_str(), &pending.sealed).unwrap();
            assert_eq!(
                secret.expose_secret().as_slice(),
                format!("secret-{i}").as_bytes()
            );
        }
        let after = harness_on(store.clone(), only_b);
        after.next_step();
        let code = after.code(&enrollment, 0);
        let verified = after.verify_totp(&code).await;
        assert!(verified.is_ok());
    }

    #[tokio::test]
    async fn reseal_secrets_skips_secret_whose_key_is_gone_and_goes_on() {
        let store = factor_store().await;
        seed_enrollments(store.as_ref(), &ring(&["a"]), 3).await;
        let lost = StoredEnrollment {
            sealed: ring(&["c"]).seal(other(1).as_str(), b"lost").unwrap(),
            expires_at_ms: FAR_FUTURE_MS,
        };
        store.put_enrollment(&other(1), &lost, 0).await.unwrap();
        let h = harness_on(store.clone(), ring(&["a", "b"]));

        let first = h.mfa.reseal_secrets(1).await.unwrap();
        let second = h.mfa.reseal_secrets(1).await.unwrap();

        assert_eq!(
            first,
            Resealed {
                resealed: 2,
                unopened: 1
            }
        );
        assert_eq!(
            second,
            Resealed {
                resealed: 0,
                unopened: 1
            }
        );
        let kept = store.enrollment(&other(1), 0).await.unwrap().unwrap();
        assert_eq!(kept.sealed, lost.sealed);
    }
}
