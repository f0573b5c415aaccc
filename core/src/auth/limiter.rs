//! The sign-in limiter: which attempts may verify a password, and how many
//! verifications run at once.
//!
//! * **Counted before verifying.** [`Limiter::begin`] checks the waits and
//!   records the attempt as a failure in one step under one lock, so 100
//!   concurrent guesses from one address see the counts the earlier ones
//!   left and at most the free allowance of them is verified. A verified
//!   right password takes its attempt back ([`Attempt::succeeded`]).
//! * **Three counters.** Per (account, address): 3 free failures, then a wait
//!   that doubles (1 s … 256 s). Per address, whatever the account: 10 free
//!   failures (one address spraying many names), then the same doubling.
//!   Per account, from anywhere: only *softens* — once an account has 20
//!   recent failures it is under attack, and each (account, address) pair
//!   that already failed gets 1 free failure instead of 3. A pair without a
//!   failure is never refused by the account counter, so an attacker cannot
//!   lock the real owner out from the owner's own address.
//! * **Bounded verification.** Argon2 takes ~19 MiB and tens of milliseconds
//!   per verification. At most `permits` run at once (a semaphore sized for
//!   the machine), at most `2 × permits` more wait for a slot, and one
//!   address has at most one attempt in flight; everything beyond is refused
//!   at once ([`Refusal::Busy`], HTTP 503 with `Retry-After`), never queued
//!   without bound. A slot is held by the verification itself (not by the
//!   request), so closing the connection does not free it early.
//!
//! * **Shared by replicas.** On PostgreSQL ([`Limiter::share`]), the counts
//!   also live in the database (`crate::shared_state::sign_in`), decided
//!   and counted under a lock per address, so guesses spread over several
//!   replicas count together; the verification slots and the one attempt
//!   in flight per address stay per replica (they bound this machine's
//!   work).
//!
//! Addresses are IPv4 addresses or IPv6 /64 prefixes (one host gets a whole
//! /64). Records are forgotten 15 minutes after their last failure.

use std::{
    collections::HashMap,
    net::IpAddr,
    sync::{
        atomic::{AtomicU64, AtomicUsize, Ordering},
        Arc, Mutex, MutexGuard,
    },
    time::{Duration, Instant},
};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::password::Memory;

/// Failures a (account, address) pair may have before it has to wait.
pub const FREE_PAIR_FAILURES: u32 = 3;
/// … while the account is under attack.
pub const FREE_PAIR_FAILURES_UNDER_ATTACK: u32 = 1;
/// Failures an address may have (over all accounts) before it has to wait.
pub const FREE_ADDRESS_FAILURES: u32 = 10;
/// Failures of one account (from anywhere) that put it under attack.
pub const ACCOUNT_UNDER_ATTACK: u32 = 20;
/// How long a record is kept after its last failure.
pub const FORGET_AFTER: Duration = Duration::from_secs(15 * 60);
/// Waiting attempts allowed per verification slot.
const WAITING_PER_PERMIT: usize = 2;
/// Seconds a refused-because-busy client is told to wait.
const BUSY_RETRY_SECS: u64 = 1;

/// Why an attempt may not verify a password now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// Too many failures for this account from this address, or from this
    /// address: wait this many seconds.
    #[error("too many failed sign-ins; try again in {0} s")]
    Throttled(u64),
    /// Every verification slot is taken (or this address already has an
    /// attempt in flight): retry after this many seconds.
    #[error("too many sign-ins at once; try again in {0} s")]
    Busy(u64),
}

#[derive(Clone, Copy)]
struct Record {
    count: u32,
    last: Instant,
}

impl Record {
    /// The count, or 0 once forgotten.
    fn live_count(&self, now: Instant) -> u32 {
        if now.duration_since(self.last) > FORGET_AFTER {
            0
        } else {
            self.count
        }
    }
}

#[derive(Default)]
struct State {
    pairs: HashMap<(String, String), Record>,
    addresses: HashMap<String, Record>,
    accounts: HashMap<String, Record>,
    in_flight: HashMap<String, u32>,
    reservations: u64,
}

impl State {
    fn count<K: std::hash::Hash + Eq>(map: &HashMap<K, Record>, key: &K, now: Instant) -> u32 {
        map.get(key).map_or(0, |r| r.live_count(now))
    }

    fn bump<K: std::hash::Hash + Eq>(map: &mut HashMap<K, Record>, key: K, now: Instant) {
        let record = map.entry(key).or_insert(Record {
            count: 0,
            last: now,
        });
        record.count = record.live_count(now) + 1;
        record.last = now;
    }

    fn refund<K: std::hash::Hash + Eq>(map: &mut HashMap<K, Record>, key: &K) {
        if let Some(record) = map.get_mut(key) {
            record.count = record.count.saturating_sub(1);
            if record.count == 0 {
                map.remove(key);
            }
        }
    }

    fn prune(&mut self, now: Instant) {
        let live = |r: &mut Record| now.duration_since(r.last) <= FORGET_AFTER;
        self.pairs.retain(|_, r| live(r));
        self.addresses.retain(|_, r| live(r));
        self.accounts.retain(|_, r| live(r));
    }
}

/// Seconds to wait after `count` failures (`free` of them free), the last
/// `since` ago: 0, or 1, 2, 4 … 256 s after the last failure.
pub fn wait_secs(count: u32, free: u32, since: Duration) -> u64 {
    if count < free {
        return 0;
    }
    let penalty = Duration::from_secs(1u64 << (count - free).min(8));
    penalty
        .saturating_sub(since)
        .as_secs()
        .max(u64::from(penalty > since))
}

/// The wait an attempt faces with these counters, as (failures, time since
/// the last one): the pair's and the address's waits, the pair getting
/// fewer free failures while the account is under attack.
fn wait_for(pair: (u32, Duration), address: (u32, Duration), account: u32) -> u64 {
    let free_pair = if account >= ACCOUNT_UNDER_ATTACK {
        FREE_PAIR_FAILURES_UNDER_ATTACK
    } else {
        FREE_PAIR_FAILURES
    };
    wait_secs(pair.0, free_pair, pair.1).max(wait_secs(address.0, FREE_ADDRESS_FAILURES, address.1))
}

/// The address key of a client: an IPv4 address, or the /64 prefix of an
/// IPv6 one; anything unparsable is its own key.
pub fn address_key(client: &str) -> String {
    match client.parse::<IpAddr>() {
        Ok(IpAddr::V6(v6)) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
        Ok(ip) => ip.to_string(),
        Err(_) => client.to_string(),
    }
}

/// Counts and bounds sign-in attempts (see the module documentation).
pub struct Limiter {
    state: Mutex<State>,
    slots: Arc<Semaphore>,
    permits: usize,
    in_line: Arc<AtomicUsize>,
    verifications: Arc<AtomicU64>,
    verifying: Arc<AtomicUsize>,
    peak_verifying: Arc<AtomicUsize>,
    /// Verification memory, one per slot in use at most.
    memories: Arc<Mutex<Vec<Memory>>>,
    /// The database the counts are shared through (PostgreSQL replicas).
    shared: std::sync::OnceLock<sea_orm::DatabaseConnection>,
}

impl Limiter {
    /// A limiter running at most `permits` verifications at once.
    pub fn new(permits: usize) -> Self {
        let permits = permits.max(1);
        Self {
            state: Mutex::default(),
            slots: Arc::new(Semaphore::new(permits)),
            permits,
            in_line: Arc::default(),
            verifications: Arc::default(),
            verifying: Arc::default(),
            peak_verifying: Arc::default(),
            memories: Arc::default(),
            shared: std::sync::OnceLock::new(),
        }
    }

    /// Shares the counts with the other replicas through `conn` (a
    /// PostgreSQL database); set once.
    pub fn share(&self, conn: sea_orm::DatabaseConnection) {
        let _ = self.shared.set(conn);
    }

    /// One verification slot per core (at least 1, at most 8).
    pub fn for_this_machine() -> Self {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        Self::new(cores.clamp(1, 8))
    }

    /// Verifications started so far (right and wrong passwords).
    pub fn verifications(&self) -> u64 {
        self.verifications.load(Ordering::Relaxed)
    }

    /// The most verifications that ran at once so far.
    pub fn peak_verifying(&self) -> usize {
        self.peak_verifying.load(Ordering::SeqCst)
    }

    /// Verification slots.
    pub fn permits(&self) -> usize {
        self.permits
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // The state stays consistent even if a holder panicked: every
        // update is a few field writes.
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Admits an attempt to sign in to `account` from `client`: refuses it
    /// (not counted) if it has to wait, otherwise counts it as a failure and
    /// waits for a verification slot (refusing it, uncounted, when too many
    /// already wait).
    pub async fn begin(&self, account: &str, client: &str) -> Result<Attempt<'_>, Refusal> {
        let account: String = account.trim().to_lowercase().chars().take(64).collect();
        let address = address_key(client);
        let pair = (account.clone(), address.clone());
        let now = Instant::now();
        {
            let mut state = self.lock();
            let since =
                |r: Option<&Record>| r.map_or(Duration::MAX, |r| now.duration_since(r.last));
            let wait = wait_for(
                (
                    State::count(&state.pairs, &pair, now),
                    since(state.pairs.get(&pair)),
                ),
                (
                    State::count(&state.addresses, &address, now),
                    since(state.addresses.get(&address)),
                ),
                State::count(&state.accounts, &account, now),
            );
            if wait > 0 {
                return Err(Refusal::Throttled(wait));
            }
            if state.in_flight.get(&address).copied().unwrap_or(0) > 0 {
                return Err(Refusal::Busy(BUSY_RETRY_SECS));
            }
            State::bump(&mut state.pairs, pair, now);
            State::bump(&mut state.addresses, address.clone(), now);
            State::bump(&mut state.accounts, account.clone(), now);
            *state.in_flight.entry(address.clone()).or_default() += 1;
            state.reservations += 1;
            if state.reservations.is_multiple_of(256) {
                state.prune(now);
            }
        }
        let mut attempt = Attempt {
            limiter: self,
            account,
            address,
            permit: None,
            holds_place: false,
            shared: false,
        };
        let waiting = self.in_line.fetch_add(1, Ordering::SeqCst);
        attempt.holds_place = true;
        let admitted = waiting < self.permits * (1 + WAITING_PER_PERMIT);
        if admitted {
            if let Ok(permit) = self.slots.clone().acquire_owned().await {
                attempt.permit = Some(permit);
                // Within the bound on this replica's attempts, so a flood
                // of sign-ins never holds more database connections than
                // there are verification slots.
                if let Some(db) = self.shared.get() {
                    let decided = crate::shared_state::sign_in::admit(
                        db,
                        &attempt.account,
                        &attempt.address,
                        FORGET_AFTER,
                        |c| match wait_for(
                            (c.pair.count, c.pair.since),
                            (c.address.count, c.address.since),
                            c.account.count,
                        ) {
                            0 => Ok(()),
                            wait => Err(wait),
                        },
                    )
                    .await;
                    match decided {
                        Ok(Ok(())) => attempt.shared = true,
                        Ok(Err(wait)) => {
                            attempt.refund();
                            return Err(Refusal::Throttled(wait));
                        }
                        Err(e) => {
                            // Fail closed: without the shared counts nobody may guess.
                            tracing::error!(
                                "sign-in limiter: the shared counts are unavailable: {e}"
                            );
                            attempt.refund();
                            return Err(Refusal::Busy(BUSY_RETRY_SECS));
                        }
                    }
                }
                return Ok(attempt);
            }
        }
        // Refused for lack of room: no password was verified, so the
        // attempt is not a failure.
        attempt.refund();
        Err(Refusal::Busy(BUSY_RETRY_SECS))
    }
}

/// An admitted sign-in attempt, counted as a failure until
/// [`Attempt::succeeded`].
pub struct Attempt<'a> {
    limiter: &'a Limiter,
    account: String,
    address: String,
    permit: Option<OwnedSemaphorePermit>,
    /// Its place in line (waiting or verifying) is released when it drops;
    /// false before it has one and once a [`Slot`] took the place over.
    holds_place: bool,
    /// Counted in the shared counts too.
    shared: bool,
}

/// A verification slot, held for as long as the verification runs (move it
/// into the blocking task).
pub struct Slot {
    _permit: Option<OwnedSemaphorePermit>,
    in_line: Arc<AtomicUsize>,
    verifying: Arc<AtomicUsize>,
    memory: Option<Memory>,
    memories: Arc<Mutex<Vec<Memory>>>,
}

impl Slot {
    /// The slot's verification memory (from the pool, or new the first
    /// time a slot is used).
    pub fn memory(&mut self) -> &mut Memory {
        self.memory.get_or_insert_with(|| {
            self.memories
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .pop()
                .unwrap_or_default()
        })
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        if let Some(memory) = self.memory.take() {
            self.memories
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .push(memory);
        }
        self.verifying.fetch_sub(1, Ordering::SeqCst);
        self.in_line.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Attempt<'_> {
    /// Takes the verification slot (and counts the verification); the slot
    /// is free again when the returned value is dropped.
    pub fn slot(&mut self) -> Slot {
        let limiter = self.limiter;
        limiter.verifications.fetch_add(1, Ordering::Relaxed);
        let now = limiter.verifying.fetch_add(1, Ordering::SeqCst) + 1;
        limiter.peak_verifying.fetch_max(now, Ordering::SeqCst);
        self.holds_place = false;
        Slot {
            _permit: self.permit.take(),
            in_line: limiter.in_line.clone(),
            verifying: limiter.verifying.clone(),
            memory: None,
            memories: limiter.memories.clone(),
        }
    }

    /// The password was right: the attempt is not a failure, and the pair's
    /// earlier failures are forgotten.
    pub fn succeeded(self) {
        let mut state = self.limiter.lock();
        state
            .pairs
            .remove(&(self.account.clone(), self.address.clone()));
        State::refund(&mut state.addresses, &self.address);
        State::refund(&mut state.accounts, &self.account);
        drop(state);
        self.refund_shared(true);
    }

    /// Takes the attempt back from the shared counts, in the background.
    fn refund_shared(&self, forget_pair: bool) {
        let (Some(db), true) = (self.limiter.shared.get(), self.shared) else {
            return;
        };
        let Ok(handle) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let (db, account, address) = (db.clone(), self.account.clone(), self.address.clone());
        handle.spawn(async move {
            if let Err(e) =
                crate::shared_state::sign_in::refund(&db, &account, &address, forget_pair).await
            {
                tracing::warn!("sign-in limiter: cannot take an attempt back: {e}");
            }
        });
    }

    fn refund(&mut self) {
        let mut state = self.limiter.lock();
        State::refund(
            &mut state.pairs,
            &(self.account.clone(), self.address.clone()),
        );
        State::refund(&mut state.addresses, &self.address);
        State::refund(&mut state.accounts, &self.account);
        drop(state);
        self.refund_shared(false);
    }
}

impl Drop for Attempt<'_> {
    fn drop(&mut self) {
        let mut state = self.limiter.lock();
        if let Some(n) = state.in_flight.get_mut(&self.address) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                state.in_flight.remove(&self.address);
            }
        }
        drop(state);
        // Refused, gone while waiting, or never verified: its place in line
        // is released here; a verification's when its `Slot` drops.
        if self.holds_place {
            self.limiter.in_line.fetch_sub(1, Ordering::SeqCst);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::future::Future;

    #[test]
    fn waits_grow_after_the_free_failures() {
        assert_eq!(wait_secs(2, 3, Duration::ZERO), 0);
        assert_eq!(wait_secs(3, 3, Duration::ZERO), 1);
        assert_eq!(wait_secs(5, 3, Duration::ZERO), 4);
        assert_eq!(wait_secs(5, 3, Duration::from_secs(10)), 0);
        assert_eq!(wait_secs(40, 3, Duration::ZERO), 256);
        assert_eq!(wait_secs(1, 1, Duration::ZERO), 1);
    }

    #[test]
    fn ipv6_clients_are_keyed_by_their_64_prefix() {
        assert_eq!(address_key("2001:db8:1:2:aaaa::1"), "2001:db8:1:2::/64");
        assert_eq!(
            address_key("2001:db8:1:2:ffff::9"),
            address_key("2001:db8:1:2::1")
        );
        assert_ne!(
            address_key("2001:db8:1:3::1"),
            address_key("2001:db8:1:2::1")
        );
        assert_eq!(address_key("::ffff:10.0.0.1"), "10.0.0.1");
        assert_eq!(address_key("10.0.0.1"), "10.0.0.1");
    }

    fn block_on<F: std::future::Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(f)
    }

    /// Attempts are counted when admitted: the fourth from one pair waits
    /// even though no verification finished; a success takes its attempt
    /// back and forgets the pair.
    #[test]
    fn attempts_are_counted_before_verifying() {
        let limiter = Limiter::new(2);
        block_on(async {
            for _ in 0..FREE_PAIR_FAILURES {
                let attempt = limiter.begin("Root", "10.0.0.1").await.unwrap();
                drop(attempt); // a failure (never `succeeded`)
            }
            assert_eq!(
                limiter.begin("root", "10.0.0.1").await.err(),
                Some(Refusal::Throttled(1))
            );
            // Another address, the same account: free.
            let attempt = limiter.begin("root", "10.0.0.2").await.unwrap();
            attempt.succeeded();
            let state = limiter.lock();
            assert!(!state
                .pairs
                .contains_key(&("root".into(), "10.0.0.2".into())));
            assert_eq!(
                State::count(&state.accounts, &"root".into(), Instant::now()),
                3
            );
        });
    }

    /// One address has one attempt in flight; a full line refuses at once
    /// and counts nothing.
    #[test]
    fn the_line_is_bounded_and_refusals_are_not_counted() {
        let limiter = Limiter::new(1);
        block_on(async {
            let mut first = limiter.begin("a", "10.0.0.1").await.unwrap();
            assert_eq!(
                limiter.begin("b", "10.0.0.1").await.err(),
                Some(Refusal::Busy(1))
            );
            let slot = first.slot();
            // 1 verifying + 2 waiting fill the line for one permit.
            let mut waiting: Vec<_> = (2..4)
                .map(|i| {
                    let limiter = &limiter;
                    Box::pin(async move { limiter.begin("a", &format!("10.0.0.{i}")).await })
                })
                .collect();
            let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
            for f in &mut waiting {
                assert!(f.as_mut().poll(&mut cx).is_pending());
            }
            assert_eq!(
                limiter.begin("a", "10.0.0.9").await.err(),
                Some(Refusal::Busy(1))
            );
            {
                let state = limiter.lock();
                assert!(!state.addresses.contains_key("10.0.0.9"), "not counted");
            }
            drop(slot);
            drop(first);
            let next = waiting.remove(0).await.unwrap();
            drop(next);
            drop(waiting);
            assert_eq!(limiter.in_line.load(Ordering::SeqCst), 0);
            assert_eq!(limiter.lock().in_flight.len(), 0);
        });
    }
}
