//! Answers reused for a while: derived figures and geometry that are costly to read at a
//! province's scale and may lag the data by the time they are kept.
//!
//! Requests for the same key while its value is being made wait for that one computation rather
//! than starting their own: a dashboard opened twice at once (or reloaded during its first load)
//! reads the province's households once, not twice on the same two cores. The computation runs
//! in its own task, so a request that goes away (a page reloaded) does not abandon it half done.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::OnceCell;

type Slot<V> = Arc<OnceCell<Arc<V>>>;

struct Entry<V> {
    /// When the slot's computation started.
    at: Instant,
    slot: Slot<V>,
    /// The value before this slot's, with when it was started: served while the slot is made.
    previous: Option<(Instant, Arc<V>)>,
}

/// Values by key, each fresh for `keep` from when its computation started; after that, the next
/// request starts a new one and, within `stale` of the old value's start, is answered the old
/// value at once (the new one is made in the background). At most `max` keys (the stale ones are
/// dropped first, then all).
pub struct TtlCache<V> {
    keep: Duration,
    stale: Duration,
    max: usize,
    entries: Mutex<HashMap<String, Entry<V>>>,
}

impl<V> std::fmt::Debug for TtlCache<V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TtlCache")
            .field("keep", &self.keep)
            .field("stale", &self.stale)
            .field("max", &self.max)
            .finish_non_exhaustive()
    }
}

impl<V> TtlCache<V> {
    /// Values fresh for `keep`; an old one is never served.
    pub fn new(keep: Duration, max: usize) -> TtlCache<V> {
        TtlCache::serving_stale(keep, Duration::ZERO, max)
    }

    /// Values fresh for `keep`, and served for `stale` (from their start) while the next is made.
    pub fn serving_stale(keep: Duration, stale: Duration, max: usize) -> TtlCache<V> {
        TtlCache { keep, stale, max, entries: Mutex::new(HashMap::new()) }
    }

    /// Whether a value for `key` is made and fresh.
    pub fn holds(&self, key: &str) -> bool {
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries.get(key).is_some_and(|e| e.at.elapsed() < self.keep && e.slot.get().is_some())
    }

    /// The value kept for `key`, or the one `make` makes (once, however many ask meanwhile). A
    /// failure is not kept: the next request tries again.
    pub async fn get_or_try_make<E, F, Fut>(&self, key: &str, make: F) -> Result<Arc<V>, E>
    where
        V: Send + Sync + 'static,
        E: From<tokio::task::JoinError> + Send + 'static,
        F: FnOnce() -> Fut + Send + 'static,
        Fut: Future<Output = Result<V, E>> + Send + 'static,
    {
        let (slot, stale) = {
            let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
            let fresh = entries.get(key).filter(|e| e.at.elapsed() < self.keep);
            match fresh {
                Some(e) => (e.slot.clone(), e.previous.clone()),
                None => {
                    let previous =
                        entries.remove(key).and_then(|e| e.slot.get().map(|v| (e.at, v.clone())).or(e.previous));
                    if entries.len() >= self.max {
                        let keep = self.keep.max(self.stale);
                        entries.retain(|_, e| e.at.elapsed() < keep);
                        if entries.len() >= self.max {
                            entries.clear();
                        }
                    }
                    let slot: Slot<V> = Arc::new(OnceCell::new());
                    entries.insert(
                        key.to_string(),
                        Entry { at: Instant::now(), slot: slot.clone(), previous: previous.clone() },
                    );
                    (slot, previous)
                }
            }
        };
        if let Some(v) = slot.get() {
            return Ok(v.clone());
        }
        let task =
            tokio::spawn(async move { slot.get_or_try_init(|| async { make().await.map(Arc::new) }).await.cloned() });
        match stale.filter(|(at, _)| at.elapsed() < self.stale) {
            // The new value goes on being made in its task, for the next request.
            Some((_, old)) => Ok(old),
            None => task.await?,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use std::sync::atomic::{AtomicUsize, Ordering};

    #[derive(Debug)]
    struct Failed;

    impl From<tokio::task::JoinError> for Failed {
        fn from(_: tokio::task::JoinError) -> Self {
            Failed
        }
    }

    async fn get(c: &TtlCache<i32>, key: &str, value: i32, made: &Arc<AtomicUsize>) -> i32 {
        let made = made.clone();
        let v = c
            .get_or_try_make(key, move || async move {
                made.fetch_add(1, Ordering::SeqCst);
                Ok::<_, Failed>(value)
            })
            .await
            .unwrap();
        *v
    }

    #[tokio::test]
    async fn values_are_reused_until_they_are_too_old_and_the_size_stays_bounded() {
        let made = Arc::new(AtomicUsize::new(0));
        let c: TtlCache<i32> = TtlCache::new(Duration::from_millis(50), 2);
        assert_eq!(get(&c, "a", 1, &made).await, 1);
        assert_eq!(get(&c, "a", 9, &made).await, 1, "reused");
        assert_eq!(made.load(Ordering::SeqCst), 1);
        get(&c, "b", 2, &made).await;
        get(&c, "c", 3, &made).await;
        // Full with fresh entries: cleared, then the new one kept.
        assert_eq!(get(&c, "a", 4, &made).await, 4, "a was dropped");
        tokio::time::sleep(Duration::from_millis(60)).await;
        assert_eq!(get(&c, "a", 5, &made).await, 5, "too old");
    }

    #[tokio::test]
    async fn requests_while_a_value_is_made_wait_for_it_and_a_failure_is_not_kept() {
        let c: Arc<TtlCache<i32>> = Arc::new(TtlCache::new(Duration::from_secs(60), 8));
        let made = Arc::new(AtomicUsize::new(0));
        let slow = |c: Arc<TtlCache<i32>>, made: Arc<AtomicUsize>| async move {
            c.get_or_try_make("k", move || async move {
                made.fetch_add(1, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(50)).await;
                Ok::<_, Failed>(7)
            })
            .await
        };
        let (a, b) = tokio::join!(slow(c.clone(), made.clone()), slow(c.clone(), made.clone()));
        assert_eq!((*a.unwrap(), *b.unwrap()), (7, 7));
        assert_eq!(made.load(Ordering::SeqCst), 1, "made once for both");

        let failed: Result<Arc<i32>, Failed> = c.get_or_try_make("f", || async { Err(Failed) }).await;
        assert!(failed.is_err());
        let again: Result<Arc<i32>, Failed> = c.get_or_try_make("f", || async { Ok(3) }).await;
        assert_eq!(*again.unwrap(), 3, "tried again after a failure");
    }

    #[tokio::test]
    async fn a_request_that_goes_away_does_not_abandon_the_value() {
        let c: Arc<TtlCache<i32>> = Arc::new(TtlCache::new(Duration::from_secs(60), 8));
        let made = Arc::new(AtomicUsize::new(0));
        let m = made.clone();
        let gone = tokio::time::timeout(
            Duration::from_millis(10),
            c.get_or_try_make("k", move || async move {
                m.fetch_add(1, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(80)).await;
                Ok::<_, Failed>(5)
            }),
        )
        .await;
        assert!(gone.is_err(), "the first request gave up");
        // The next one finds the same computation under way (or done), not a new one.
        assert_eq!(get(&c, "k", 9, &made).await, 5);
        assert_eq!(made.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn an_old_value_is_answered_at_once_while_the_next_is_made_within_the_stale_window() {
        let c: Arc<TtlCache<i32>> =
            Arc::new(TtlCache::serving_stale(Duration::from_millis(30), Duration::from_millis(400), 8));
        let made = Arc::new(AtomicUsize::new(0));
        assert_eq!(get(&c, "k", 1, &made).await, 1);
        tokio::time::sleep(Duration::from_millis(40)).await;
        // Expired: the old value at once, the new one made in the background.
        let slow = c.get_or_try_make("k", || async {
            tokio::time::sleep(Duration::from_millis(50)).await;
            Ok::<_, Failed>(2)
        });
        let started = std::time::Instant::now();
        assert_eq!(*slow.await.unwrap(), 1, "the old value, not waiting for the new");
        assert!(started.elapsed() < Duration::from_millis(40));
        tokio::time::sleep(Duration::from_millis(80)).await;
        assert_eq!(get(&c, "k", 9, &made).await, 2, "then the new one");
        // Past the stale window, a request waits for a fresh value.
        tokio::time::sleep(Duration::from_millis(450)).await;
        assert_eq!(get(&c, "k", 3, &made).await, 3);
    }
}
