//! Answers reused for a while: derived figures and geometry that are costly to read at a
//! province's scale and may lag the data by the time they are kept.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

type Entries<V> = HashMap<String, (Instant, Arc<V>)>;

/// Values by key, each reused for `keep`; at most `max` keys (the stale ones are dropped first,
/// then all).
#[derive(Debug)]
pub struct TtlCache<V> {
    keep: Duration,
    max: usize,
    entries: Mutex<Entries<V>>,
}

impl<V> TtlCache<V> {
    pub fn new(keep: Duration, max: usize) -> TtlCache<V> {
        TtlCache {
            keep,
            max,
            entries: Mutex::new(HashMap::new()),
        }
    }

    pub fn get(&self, key: &str) -> Option<Arc<V>> {
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries
            .get(key)
            .filter(|(at, _)| at.elapsed() < self.keep)
            .map(|(_, v)| v.clone())
    }

    pub fn put(&self, key: &str, value: Arc<V>) {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if entries.len() >= self.max {
            entries.retain(|_, (at, _)| at.elapsed() < self.keep);
            if entries.len() >= self.max {
                entries.clear();
            }
        }
        entries.insert(key.to_string(), (Instant::now(), value));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_reused_until_they_are_too_old_and_the_size_stays_bounded() {
        let c: TtlCache<i32> = TtlCache::new(Duration::from_millis(50), 2);
        c.put("a", Arc::new(1));
        assert_eq!(c.get("a").as_deref(), Some(&1));
        assert!(c.get("b").is_none());
        c.put("b", Arc::new(2));
        c.put("c", Arc::new(3));
        // Full with fresh entries: cleared, then the new one kept.
        assert!(c.get("a").is_none());
        assert_eq!(c.get("c").as_deref(), Some(&3));
        std::thread::sleep(Duration::from_millis(60));
        assert!(c.get("c").is_none(), "too old");
    }
}
