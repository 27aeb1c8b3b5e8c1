//! The checks of a [`CodeStore`]: single use, guesses per member over all
//! outstanding codes, expiry from issue, resend cooldown and hourly quota,
//! and forgetting codes without forgetting the pacing.

use std::time::Duration;

use countersign_kit::clock::millis;

use super::{digest, fresh_member};
use crate::{
    code::CodeDigest,
    model::MemberId,
    store::{CodeOutcome, CodeStore, Issued, SendLimits},
};

/// The limits the checks send under.
pub const LIMITS: SendLimits = SendLimits {
    ttl: Duration::from_secs(600),
    cooldown: Duration::from_secs(60),
    quota: 5,
    quota_window: Duration::from_secs(3600),
};
/// Guesses allowed by the checks.
pub const MAX_GUESSES: u32 = 5;
/// The clock reading at which the checks start, in ms.
const T0: i64 = 1_700_000_000_000;

fn ms(duration: Duration) -> i64 {
    millis(duration)
}

/// Runs every code-store check.
pub async fn code_store(store: &dyn CodeStore) {
    code_store_accepts_right_code_once(store).await;
    code_store_refuses_right_code_after_max_guesses(store).await;
    code_store_keeps_guess_count_across_resend(store).await;
    code_store_accepts_earlier_code_after_resend(store).await;
    code_store_counts_expiry_from_issue(store).await;
    code_store_counts_guesses_afresh_once_codes_lapsed(store).await;
    code_store_refuses_resend_within_cooldown(store).await;
    code_store_refuses_sends_beyond_quota_until_window_passes(store).await;
    code_store_keeps_pacing_after_code_is_used(store).await;
    code_store_keeps_members_apart(store).await;
    code_store_accepts_one_of_concurrent_checks(store).await;
    code_store_forgets_codes_and_guesses_of_member_only(store).await;
    code_store_keeps_pacing_when_codes_forgotten(store).await;
}

/// Issues `code` at `at`, which must be stored.
async fn issue(store: &dyn CodeStore, member: &MemberId, code: &CodeDigest, at: i64) {
    let issued = store.issue(member, code, &LIMITS, at).await.unwrap();
    let expires_at_ms = at + ms(LIMITS.ttl);
    assert_eq!(issued, Issued::Stored { expires_at_ms }, "issue at {at}");
}

/// A right code is accepted once, then missing.
pub async fn code_store_accepts_right_code_once(store: &dyn CodeStore) {
    let (member, right) = (fresh_member(), digest());
    let before = store.check(&member, &right, MAX_GUESSES, T0).await.unwrap();
    assert_eq!(before, CodeOutcome::Missing);
    issue(store, &member, &right, T0).await;

    let first = store.check(&member, &right, MAX_GUESSES, T0).await.unwrap();
    let second = store.check(&member, &right, MAX_GUESSES, T0).await.unwrap();

    assert_eq!(first, CodeOutcome::Accepted);
    assert_eq!(second, CodeOutcome::Missing);
}

/// After `MAX_GUESSES` wrong guesses the next attempt is refused, even
/// with the right code.
pub async fn code_store_refuses_right_code_after_max_guesses(store: &dyn CodeStore) {
    let (member, right) = (fresh_member(), digest());
    issue(store, &member, &right, T0).await;

    for _ in 0..MAX_GUESSES {
        let wrong = store.check(&member, &digest(), MAX_GUESSES, T0).await;
        assert_eq!(wrong.unwrap(), CodeOutcome::Wrong);
    }
    let outcome = store.check(&member, &right, MAX_GUESSES, T0).await.unwrap();

    assert_eq!(outcome, CodeOutcome::Exhausted);
}

/// A resend adds a code but keeps the count of wrong guesses, old and new
/// codes alike refused once it is spent.
pub async fn code_store_keeps_guess_count_across_resend(store: &dyn CodeStore) {
    let (member, first, resent) = (fresh_member(), digest(), digest());
    issue(store, &member, &first, T0).await;
    for _ in 0..MAX_GUESSES - 1 {
        store
            .check(&member, &digest(), MAX_GUESSES, T0)
            .await
            .unwrap();
    }

    let later = T0 + ms(LIMITS.cooldown);
    issue(store, &member, &resent, later).await;
    let last_guess = store.check(&member, &digest(), MAX_GUESSES, later).await;

    assert_eq!(last_guess.unwrap(), CodeOutcome::Wrong);
    for right in [&resent, &first] {
        let outcome = store.check(&member, right, MAX_GUESSES, later).await;
        assert_eq!(outcome.unwrap(), CodeOutcome::Exhausted);
    }
}

/// The code in the email the member reads still works after a resend, and
/// using it consumes every code of the member.
pub async fn code_store_accepts_earlier_code_after_resend(store: &dyn CodeStore) {
    let (member, first, second) = (fresh_member(), digest(), digest());
    issue(store, &member, &first, T0).await;
    let later = T0 + ms(LIMITS.cooldown);
    issue(store, &member, &second, later).await;

    let earlier = store.check(&member, &first, MAX_GUESSES, later).await;
    let newer = store.check(&member, &second, MAX_GUESSES, later).await;

    assert_eq!(earlier.unwrap(), CodeOutcome::Accepted);
    assert_eq!(newer.unwrap(), CodeOutcome::Missing);
}

/// Each code lapses `ttl` after its own issue, a resend extending nothing.
pub async fn code_store_counts_expiry_from_issue(store: &dyn CodeStore) {
    let (member, first, second) = (fresh_member(), digest(), digest());
    let resent_at = T0 + ms(LIMITS.ttl) / 2;
    issue(store, &member, &first, T0).await;
    issue(store, &member, &second, resent_at).await;
    let (alone, only) = (fresh_member(), digest());
    issue(store, &alone, &only, T0).await;

    let lapse = T0 + ms(LIMITS.ttl);
    let just_before = store.check(&alone, &only, MAX_GUESSES, lapse - 1).await;
    let lapsed_first = store.check(&member, &first, MAX_GUESSES, lapse).await;
    let live_second = store.check(&member, &second, MAX_GUESSES, lapse).await;

    assert_eq!(just_before.unwrap(), CodeOutcome::Accepted);
    assert_eq!(lapsed_first.unwrap(), CodeOutcome::Wrong);
    assert_eq!(live_second.unwrap(), CodeOutcome::Accepted);
    let (late, code) = (fresh_member(), digest());
    issue(store, &late, &code, T0).await;
    let at_lapse = store.check(&late, &code, MAX_GUESSES, lapse).await;
    assert_eq!(at_lapse.unwrap(), CodeOutcome::Missing);
}

/// Once every code has lapsed, the next code gets a fresh guess count.
pub async fn code_store_counts_guesses_afresh_once_codes_lapsed(store: &dyn CodeStore) {
    let (member, right) = (fresh_member(), digest());
    issue(store, &member, &digest(), T0).await;
    for _ in 0..MAX_GUESSES {
        store
            .check(&member, &digest(), MAX_GUESSES, T0)
            .await
            .unwrap();
    }

    let lapse = T0 + ms(LIMITS.ttl);
    issue(store, &member, &right, lapse).await;
    let outcome = store.check(&member, &right, MAX_GUESSES, lapse).await;

    assert_eq!(outcome.unwrap(), CodeOutcome::Accepted);
}

/// A send within the cooldown of the last is refused with the wait left;
/// stored nothing; and the cooldown's end admits it.
pub async fn code_store_refuses_resend_within_cooldown(store: &dyn CodeStore) {
    let (member, refused) = (fresh_member(), digest());
    issue(store, &member, &digest(), T0).await;

    let soon = T0 + 20_000;
    let too_soon = store.issue(&member, &refused, &LIMITS, soon).await;

    let retry_after_ms = ms(LIMITS.cooldown) - 20_000;
    assert_eq!(too_soon.unwrap(), Issued::TooSoon { retry_after_ms });
    let check = store.check(&member, &refused, MAX_GUESSES, soon).await;
    assert_eq!(check.unwrap(), CodeOutcome::Wrong);
    issue(store, &member, &digest(), T0 + ms(LIMITS.cooldown)).await;
}

/// The quota's sends fill its window; the next is refused until the window,
/// counted from its first send, has passed.
pub async fn code_store_refuses_sends_beyond_quota_until_window_passes(store: &dyn CodeStore) {
    let member = fresh_member();
    let cooldown = ms(LIMITS.cooldown);
    for send in 0..i64::from(LIMITS.quota) {
        issue(store, &member, &digest(), T0 + send * cooldown).await;
    }

    let next = T0 + i64::from(LIMITS.quota) * cooldown;
    let spent = store.issue(&member, &digest(), &LIMITS, next).await;

    let window_end = T0 + ms(LIMITS.quota_window);
    let retry_after_ms = window_end - next;
    assert_eq!(spent.unwrap(), Issued::QuotaSpent { retry_after_ms });
    let still = store
        .issue(&member, &digest(), &LIMITS, window_end - 1)
        .await;
    assert_eq!(still.unwrap(), Issued::QuotaSpent { retry_after_ms: 1 });
    issue(store, &member, &digest(), window_end).await;
}

/// Using a code resets neither the cooldown nor the quota.
pub async fn code_store_keeps_pacing_after_code_is_used(store: &dyn CodeStore) {
    let (member, right) = (fresh_member(), digest());
    issue(store, &member, &right, T0).await;
    let used = store.check(&member, &right, MAX_GUESSES, T0).await;
    assert_eq!(used.unwrap(), CodeOutcome::Accepted);

    let again = store.issue(&member, &digest(), &LIMITS, T0 + 1).await;

    let retry_after_ms = ms(LIMITS.cooldown) - 1;
    assert_eq!(again.unwrap(), Issued::TooSoon { retry_after_ms });
}

/// One member's code, guesses and pacing are nothing to another member.
pub async fn code_store_keeps_members_apart(store: &dyn CodeStore) {
    let (owner, other, code) = (fresh_member(), fresh_member(), digest());
    issue(store, &owner, &code, T0).await;

    let outcome = store.check(&other, &code, MAX_GUESSES, T0).await;
    issue(store, &other, &digest(), T0).await;

    assert_eq!(outcome.unwrap(), CodeOutcome::Missing);
    let owned = store.check(&owner, &code, MAX_GUESSES, T0).await;
    assert_eq!(owned.unwrap(), CodeOutcome::Accepted);
}

/// Of several simultaneous checks of the right code, exactly one succeeds.
pub async fn code_store_accepts_one_of_concurrent_checks(store: &dyn CodeStore) {
    let (member, right) = (fresh_member(), digest());
    issue(store, &member, &right, T0).await;

    let outcomes = tokio::join!(
        store.check(&member, &right, MAX_GUESSES, T0),
        store.check(&member, &right, MAX_GUESSES, T0),
        store.check(&member, &right, MAX_GUESSES, T0),
        store.check(&member, &right, MAX_GUESSES, T0),
    );

    let outcomes = [outcomes.0, outcomes.1, outcomes.2, outcomes.3].map(|o| o.unwrap());
    let accepted = outcomes
        .iter()
        .filter(|o| **o == CodeOutcome::Accepted)
        .count();
    assert_eq!(accepted, 1, "{outcomes:?}");
}

/// Forgotten codes are missing, the next code gets a fresh guess count,
/// and another member's code is untouched.
pub async fn code_store_forgets_codes_and_guesses_of_member_only(store: &dyn CodeStore) {
    let (member, first, second) = (fresh_member(), digest(), digest());
    let (other, kept) = (fresh_member(), digest());
    issue(store, &member, &first, T0).await;
    issue(store, &member, &second, T0 + ms(LIMITS.cooldown)).await;
    issue(store, &other, &kept, T0).await;
    let now = T0 + ms(LIMITS.cooldown);
    for _ in 0..MAX_GUESSES {
        store
            .check(&member, &digest(), MAX_GUESSES, now)
            .await
            .unwrap();
    }

    store.forget_codes(&member).await.unwrap();
    store.forget_codes(&fresh_member()).await.unwrap();

    for gone in [&first, &second] {
        let outcome = store.check(&member, gone, MAX_GUESSES, now).await;
        assert_eq!(outcome.unwrap(), CodeOutcome::Missing);
    }
    let (later, fresh) = (now + ms(LIMITS.cooldown), digest());
    issue(store, &member, &fresh, later).await;
    let outcome = store.check(&member, &fresh, MAX_GUESSES, later).await;
    assert_eq!(outcome.unwrap(), CodeOutcome::Accepted);
    let owned = store.check(&other, &kept, MAX_GUESSES, now).await;
    assert_eq!(owned.unwrap(), CodeOutcome::Accepted);
}

/// Forgetting codes resets neither the cooldown nor the quota.
pub async fn code_store_keeps_pacing_when_codes_forgotten(store: &dyn CodeStore) {
    let (paced, spent) = (fresh_member(), fresh_member());
    issue(store, &paced, &digest(), T0).await;
    let cooldown = ms(LIMITS.cooldown);
    for send in 0..i64::from(LIMITS.quota) {
        issue(store, &spent, &digest(), T0 + send * cooldown).await;
    }

    store.forget_codes(&paced).await.unwrap();
    store.forget_codes(&spent).await.unwrap();

    let again = store.issue(&paced, &digest(), &LIMITS, T0 + 1).await;
    assert_eq!(
        again.unwrap(),
        Issued::TooSoon {
            retry_after_ms: cooldown - 1
        }
    );
    let next = T0 + i64::from(LIMITS.quota) * cooldown;
    let beyond = store.issue(&spent, &digest(), &LIMITS, next).await;
    let retry_after_ms = T0 + ms(LIMITS.quota_window) - next;
    assert_eq!(beyond.unwrap(), Issued::QuotaSpent { retry_after_ms });
}
