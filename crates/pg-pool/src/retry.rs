//! The one retry layer of every storage: [`crate::PgPool::retry`] and
//! [`crate::PgPool::retry_with`] replay an idempotent operation after a failure
//! that [`Error::retry_class`] calls retryable, each class with its own attempts
//! and one of two back-offs:
//!
//! | class | what | attempts | wait before retry `k` |
//! |---|---|---|---|
//! | [`RetryClass::ConnectionLoss`] | broken or refused connection, `08…`, `57P01`–`57P03`, `53300`, pool time-out | `POSTGRES_CONNECTION_RETRIES` (10) | [`RetryPolicy::delay`]: `POSTGRES_CONNECTION_RETRY_BACKOFF` (3 s) doubling up to `…_BACKOFF_MAX` (30 s) |
//! | [`RetryClass::LockConflict`] | `40P01` deadlock, `40001` serialization failure | [`LOCK_CONFLICT_ATTEMPTS`] (12) | [`lock_conflict_delay`]: 10 ms doubling up to 1 s |
//! | [`RetryClass::LockTimeout`] | `55P03` lock not available | [`LOCK_CONFLICT_ATTEMPTS`] (12) | [`lock_conflict_delay`] |
//! | [`RetryClass::Reroute`] | a read on a standby failed ([`Error::StandbyUnavailable`], see [`crate::routing`]) | [`REROUTE_ATTEMPTS`] (3) | none: the replay goes to the primary at once |
//!
//! Both back-offs are scaled by a random jitter in [0.5, 1]. The classes are
//! counted apart: a deadlock does not use up the attempts a server restart
//! needs.
//!
//! Lock conflicts get short waits: the other transaction usually commits within
//! milliseconds (the server has already waited `deadlock_timeout` before
//! reporting a deadlock, and `lock_timeout` before a `55P03`), so seconds of
//! sleep would only slow the loser down. Twelve attempts wait about 5 s in all.
//!
//! A long operation whose work must not be redone because one lock was not
//! granted in time (a bulk load: its rows are copied and indexed when the swap
//! waits for a lock) runs as a whole under [`Replay::AllButLockTimeouts`] and
//! retries its lock steps alone, inside its transaction (from a savepoint), with
//! [`Replay::LockTimeouts`]. A deadlock still replays the whole transaction: it
//! may involve locks taken before the savepoint, which only ending the
//! transaction releases. Each failure is replayed at exactly one level, never
//! multiplied by nesting.

use std::future::Future;
use std::time::Duration;

use lightrag_pg_core::Error;
use lightrag_pg_core::error::RetryClass;

use crate::config::RetryPolicy;

/// Attempts in all for lock conflicts (deadlock, serialization failure), and for
/// lock time-outs unless [`Replay::LockTimeouts`] says otherwise.
pub const LOCK_CONFLICT_ATTEMPTS: u32 = 12;

/// Attempts in all after a read on a standby failed: the standby is marked
/// unusable when it fails, so the second attempt already reads the primary.
pub const REROUTE_ATTEMPTS: u32 = 3;

/// The first wait after a lock conflict.
const LOCK_CONFLICT_BACKOFF: Duration = Duration::from_millis(10);

/// The longest wait after a lock conflict.
const LOCK_CONFLICT_BACKOFF_MAX: Duration = Duration::from_secs(1);

/// Which failures a retry replays.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Replay {
    /// Every class: connection loss under the configured [`RetryPolicy`], lock
    /// conflicts and lock time-outs [`LOCK_CONFLICT_ATTEMPTS`] times each
    /// ([`crate::PgPool::retry`]).
    All,
    /// Every class but lock time-outs, which are returned at once: for an
    /// operation that retries its own lock steps ([`Replay::LockTimeouts`]).
    AllButLockTimeouts,
    /// Lock time-outs only, this many attempts in all; everything else is
    /// returned at once. For a lock step inside a transaction (from a
    /// savepoint), which a lost connection or a deadlock ends anyway.
    LockTimeouts(u32),
    /// Reroutes only ([`RetryClass::Reroute`], [`REROUTE_ATTEMPTS`]): around a
    /// storage call that retries everything else itself, so that a read lost
    /// with its standby is replayed on the primary without nesting the
    /// storage's own retries ([`crate::Pools::read_with`]).
    Reroutes,
}

impl Replay {
    /// The attempts in all this replay allows for `class` (1: no retry).
    fn attempts(self, class: RetryClass, policy: &RetryPolicy) -> u32 {
        match (self, class) {
            (Self::All | Self::AllButLockTimeouts, RetryClass::ConnectionLoss) => policy.attempts,
            (Self::All | Self::AllButLockTimeouts, RetryClass::LockConflict) => LOCK_CONFLICT_ATTEMPTS,
            (Self::All, RetryClass::LockTimeout) => LOCK_CONFLICT_ATTEMPTS,
            (Self::All | Self::AllButLockTimeouts | Self::Reroutes, RetryClass::Reroute) => REROUTE_ATTEMPTS,
            (Self::LockTimeouts(n), RetryClass::LockTimeout) => n,
            _ => 1,
        }
    }
}

/// The attempt counter of a class.
fn slot(class: RetryClass) -> usize {
    match class {
        RetryClass::ConnectionLoss => 0,
        RetryClass::LockConflict => 1,
        RetryClass::Reroute => 3,
        _ => 2,
    }
}

/// The wait before retry `k` (1-based) after a lock conflict:
/// `min(10 ms · 2^(k−1), 1 s)`, scaled by a random jitter in [0.5, 1.0].
pub fn lock_conflict_delay(k: u32) -> Duration {
    let base = LOCK_CONFLICT_BACKOFF.saturating_mul(1 << k.saturating_sub(1).min(16));
    base.min(LOCK_CONFLICT_BACKOFF_MAX).mul_f64(0.5 + rand::random::<f64>() * 0.5)
}

/// The one retry loop: runs `op` until it succeeds, fails with an error that
/// `replay` does not replay, or its class's attempts are spent.
pub(crate) async fn run<T, F, Fut>(policy: &RetryPolicy, replay: Replay, what: &str, mut op: F) -> Result<T, Error>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, Error>>,
{
    let mut attempts = [1u32; 4];
    loop {
        let e = match op().await {
            Ok(v) => return Ok(v),
            Err(e) => e,
        };
        let Some(class) = e.retry_class() else { return Err(e) };
        let attempt = &mut attempts[slot(class)];
        if *attempt >= replay.attempts(class, policy) {
            return Err(e);
        }
        let wait = match class {
            RetryClass::ConnectionLoss => policy.delay(*attempt),
            RetryClass::Reroute => Duration::ZERO,
            _ => lock_conflict_delay(*attempt),
        };
        let wait_ms = wait.as_millis() as u64;
        match class {
            RetryClass::ConnectionLoss => {
                tracing::warn!(operation = what, attempt = *attempt, error = %e, wait_ms, "connection lost; retrying");
            }
            RetryClass::Reroute => {
                tracing::info!(operation = what, error = %e, "standby unavailable; reading from the primary");
            }
            _ => tracing::debug!(operation = what, attempt = *attempt, error = %e, wait_ms, "lock conflict; replaying"),
        }
        *attempt += 1;
        tokio::time::sleep(wait).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn db(code: &str) -> Error {
        Error::Database { sqlstate: Some(code.into()), message: code.into(), source: None }
    }

    fn fast_policy(attempts: u32) -> RetryPolicy {
        RetryPolicy { attempts, backoff: Duration::from_millis(1), backoff_max: Duration::from_millis(1) }
    }

    /// Runs `run` over errors `fail(n)` for call `n` (1-based), `Ok(n)` once
    /// `fail` returns `None`; returns the outcome and the calls made.
    async fn calls(
        policy: RetryPolicy,
        replay: Replay,
        fail: impl Fn(u32) -> Option<Error>,
    ) -> (Result<u32, Error>, u32) {
        let mut n = 0;
        let out = run(&policy, replay, "t", || {
            n += 1;
            let r = fail(n).map_or(Ok(n), Err);
            async move { r }
        })
        .await;
        (out, n)
    }

    #[tokio::test]
    async fn deadlocks_are_replayed_until_the_operation_succeeds() {
        let (out, n) =
            calls(fast_policy(2), Replay::All, |n| (n < 4).then(|| db(if n % 2 == 0 { "40001" } else { "40P01" })))
                .await;
        assert_eq!((out.unwrap(), n), (4, 4));
    }

    #[tokio::test]
    async fn lock_conflicts_stop_after_a_bounded_number_of_attempts() {
        let (out, n) = calls(fast_policy(2), Replay::All, |_| Some(db("40P01"))).await;
        assert_eq!(out.unwrap_err().sqlstate(), Some("40P01"));
        assert_eq!(n, LOCK_CONFLICT_ATTEMPTS);
    }

    #[tokio::test]
    async fn other_database_errors_are_not_replayed() {
        let (out, n) = calls(fast_policy(5), Replay::All, |_| Some(db("23505"))).await;
        assert_eq!((out.unwrap_err().sqlstate(), n), (Some("23505"), 1));
    }

    #[tokio::test]
    async fn connection_loss_uses_the_configured_attempts() {
        let lost = || Error::Connection { message: "reset".into(), retryable: true, source: None };
        let (out, n) = calls(fast_policy(3), Replay::All, |_| Some(lost())).await;
        assert!(matches!(out, Err(Error::Connection { .. })));
        assert_eq!(n, 3);
    }

    #[tokio::test]
    async fn the_two_classes_are_counted_apart() {
        // Two connection losses and five deadlocks fit a policy of 3 connection
        // attempts: the deadlocks do not use them up.
        let lost = || Error::Connection { message: "reset".into(), retryable: true, source: None };
        let (out, n) = calls(fast_policy(3), Replay::All, |n| match n {
            1 | 2 => Some(lost()),
            3..=7 => Some(db("40P01")),
            _ => None,
        })
        .await;
        assert_eq!((out.unwrap(), n), (8, 8));
    }

    #[tokio::test]
    async fn a_failed_standby_read_is_replayed_at_once_and_counted_apart() {
        let gone = || Error::StandbyUnavailable { host: "r:5432".into(), message: "refused".into(), source: None };
        // A policy of one connection attempt and a slow back-off: the reroute
        // neither uses it up nor waits for it.
        let slow = RetryPolicy { attempts: 1, backoff: Duration::from_secs(60), backoff_max: Duration::from_secs(60) };
        let started = std::time::Instant::now();
        let (out, n) = calls(slow, Replay::All, |n| (n == 1).then(gone)).await;
        assert_eq!((out.unwrap(), n), (2, 2));
        assert!(started.elapsed() < Duration::from_secs(1), "{:?}", started.elapsed());
        let (out, n) = calls(fast_policy(5), Replay::All, |_| Some(gone())).await;
        assert!(matches!(out, Err(Error::StandbyUnavailable { .. })));
        assert_eq!(n, REROUTE_ATTEMPTS);
    }

    #[tokio::test]
    async fn around_a_storage_call_only_reroutes_are_replayed() {
        let gone = || Error::StandbyUnavailable { host: "r:5432".into(), message: "refused".into(), source: None };
        let (out, n) = calls(fast_policy(5), Replay::Reroutes, |n| (n == 1).then(gone)).await;
        assert_eq!((out.unwrap(), n), (2, 2));
        let lost = || Error::Connection { message: "reset".into(), retryable: true, source: None };
        let (out, n) = calls(fast_policy(5), Replay::Reroutes, |_| Some(lost())).await;
        assert!(matches!(out, Err(Error::Connection { .. })));
        assert_eq!(n, 1, "the storage has retried the lost connection already");
        let (_, n) = calls(fast_policy(5), Replay::Reroutes, |_| Some(db("40P01"))).await;
        assert_eq!(n, 1);
    }

    #[tokio::test]
    async fn lock_timeouts_are_replayed_by_default_and_counted_apart() {
        let (out, n) = calls(fast_policy(2), Replay::All, |n| match n {
            1..=3 => Some(db("40P01")),
            4..=6 => Some(db("55P03")),
            _ => None,
        })
        .await;
        assert_eq!((out.unwrap(), n), (7, 7));
    }

    #[tokio::test]
    async fn the_outer_level_of_a_long_operation_returns_a_lock_timeout_at_once() {
        let (out, n) = calls(fast_policy(5), Replay::AllButLockTimeouts, |_| Some(db("55P03"))).await;
        assert_eq!((out.unwrap_err().sqlstate(), n), (Some("55P03"), 1));
        let (out, n) = calls(fast_policy(5), Replay::AllButLockTimeouts, |n| (n < 3).then(|| db("40P01"))).await;
        assert_eq!((out.unwrap(), n), (3, 3));
    }

    #[tokio::test]
    async fn a_lock_step_replays_only_lock_timeouts_with_its_own_attempts() {
        let (out, n) = calls(fast_policy(5), Replay::LockTimeouts(3), |_| Some(db("55P03"))).await;
        assert_eq!((out.unwrap_err().sqlstate(), n), (Some("55P03"), 3));
        for code in ["57P01", "40P01"] {
            let (out, n) = calls(fast_policy(5), Replay::LockTimeouts(3), |_| Some(db(code))).await;
            assert_eq!((out.unwrap_err().sqlstate(), n), (Some(code), 1));
        }
    }

    #[test]
    fn lock_conflict_waits_double_from_10_ms_up_to_1_s_with_jitter() {
        for (k, base_ms) in [(1, 10.0), (2, 20.0), (3, 40.0), (7, 640.0), (8, 1000.0), (12, 1000.0), (40, 1000.0)] {
            for _ in 0..50 {
                let ms = lock_conflict_delay(k).as_secs_f64() * 1e3;
                assert!(ms >= base_ms * 0.5 - 1e-6 && ms <= base_ms + 1e-6, "retry {k}: {ms} ms");
            }
        }
        let worst: Duration = (1..LOCK_CONFLICT_ATTEMPTS)
            .map(|k| LOCK_CONFLICT_BACKOFF.saturating_mul(1 << (k - 1)).min(LOCK_CONFLICT_BACKOFF_MAX))
            .sum();
        assert!(worst <= Duration::from_secs(6), "{worst:?}");
    }

    #[test]
    fn connection_loss_waits_follow_the_configured_policy() {
        let policy = RetryPolicy::default();
        for (k, base) in [(1, 3.0), (2, 6.0), (3, 12.0), (4, 24.0), (5, 30.0), (10, 30.0)] {
            for _ in 0..50 {
                let s = policy.delay(k).as_secs_f64();
                assert!(s >= base * 0.5 - 1e-9 && s <= base + 1e-9, "retry {k}: {s} s");
            }
        }
    }
}
