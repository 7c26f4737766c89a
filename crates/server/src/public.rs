//! Public aggregates, off unless the server is started with `--public-aggregates`: area and
//! hexagon figures without a login, and nothing else (no points, no ids, no people). A group of
//! fewer than k households known is never shown. Nor is one whose figures could be worked out as
//! a published total minus the groups shown: when the hidden groups add up to fewer than k
//! households, the smallest shown ones are hidden too until they reach k or all are hidden. The
//! hidden ones are published merged, and only when they hold k or more. Answers are reused for a
//! minute: anyone may ask, and a province's hexagons take a read of every household.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use doorstep_domain::protocol::Coverage;
use serde_json::{Value, json};

use crate::filter::Tally;

/// The default k: groups of fewer households known are hidden.
pub const DEFAULT_K: i64 = 5;

/// How long a public answer is reused: anyone may ask, without a login, for figures that cost
/// up to half a second for a province, so a burst of requests costs one read a minute.
const CACHE_FOR: Duration = Duration::from_secs(60);
/// The most answers kept; past it the expired ones go, and if none had, all.
const CACHE_MAX: usize = 1024;

/// The public view when it is on: its k and its recent answers.
pub struct PublicView {
    pub k: i64,
    cache: Mutex<HashMap<String, (Instant, Value)>>,
}

impl PublicView {
    pub fn new(k: i64) -> PublicView {
        PublicView { k, cache: Mutex::new(HashMap::new()) }
    }

    pub(crate) fn cached(&self, key: &str) -> Option<Value> {
        let cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        cache.get(key).filter(|(at, _)| at.elapsed() < CACHE_FOR).map(|(_, v)| v.clone())
    }

    pub(crate) fn keep(&self, key: String, v: &Value) {
        let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        if cache.len() >= CACHE_MAX {
            cache.retain(|_, (at, _)| at.elapsed() < CACHE_FOR);
            if cache.len() >= CACHE_MAX {
                cache.clear();
            }
        }
        cache.insert(key, (Instant::now(), v.clone()));
    }
}

/// What may be published of a list of groups.
#[derive(Debug, Clone, PartialEq)]
pub struct Suppressed<T> {
    /// The groups shown, in the order given.
    pub shown: Vec<(T, Tally)>,
    /// How many groups are hidden.
    pub hidden: usize,
    /// The hidden groups merged, when they hold k households or more.
    pub hidden_total: Option<Tally>,
}

/// Hides the groups of fewer than `k` households known, and then, while the hidden ones add up
/// to between 1 and k-1 households, the smallest shown one too.
pub fn suppress<T>(groups: Vec<(T, Tally)>, k: i64) -> Suppressed<T> {
    let (mut shown, mut hidden): (Vec<_>, Vec<_>) =
        groups.into_iter().enumerate().partition(|(_, (_, t))| t.households_known >= k);
    let total = |h: &[(usize, (T, Tally))]| h.iter().map(|(_, (_, t))| t.households_known).sum::<i64>();
    while (1..k).contains(&total(&hidden)) {
        let Some(smallest) = shown.iter().enumerate().min_by_key(|(_, (_, (_, t)))| t.households_known).map(|(i, _)| i)
        else {
            break;
        };
        hidden.push(shown.remove(smallest));
    }
    let sum = total(&hidden);
    let hidden_total = (sum >= k).then(|| {
        let mut t = Tally::default();
        for (_, (_, h)) in &hidden {
            t.merge(h);
        }
        t
    });
    shown.sort_by_key(|(i, _)| *i);
    Suppressed { shown: shown.into_iter().map(|(_, g)| g).collect(), hidden: hidden.len(), hidden_total }
}

/// `v` (an object) with the figures a public answer carries: counts and rates, no outcome
/// breakdown.
pub(crate) fn with_figures(mut v: Value, t: &Tally) -> Value {
    if let Some(obj) = v.as_object_mut() {
        obj.insert("households_known".into(), t.households_known.into());
        obj.insert("households_visited".into(), t.households_visited.into());
        obj.insert("smartphones_seen".into(), t.smartphones_seen.into());
        obj.insert("with_app".into(), t.with_app().into());
        obj.insert("coverage_rate".into(), t.coverage_rate().into());
        obj.insert("install_rate".into(), t.install_rate().into());
    }
    v
}

pub(crate) fn hidden_json(count: usize, total: Option<&Tally>, what: &str) -> Value {
    let v = json!({ what: count });
    match total {
        Some(t) => with_figures(v, t),
        None => v,
    }
}

pub(crate) fn tally_of(c: &Coverage) -> Tally {
    Tally {
        households_known: c.households_known,
        households_visited: c.households_visited,
        by_outcome: c.by_outcome.clone(),
        smartphones_seen: c.smartphones_seen,
        already_installed: c.already_installed,
        installed_now: c.installed_now,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(known: i64) -> Tally {
        Tally { households_known: known, households_visited: known / 2, ..Tally::default() }
    }

    fn names<T: Clone>(s: &Suppressed<T>) -> Vec<T> {
        s.shown.iter().map(|(n, _)| n.clone()).collect()
    }

    #[test]
    fn answers_are_kept_a_while_and_the_cache_stays_bounded() {
        let view = PublicView::new(5);
        assert_eq!(view.cached("a"), None);
        view.keep("a".into(), &json!(1));
        assert_eq!(view.cached("a"), Some(json!(1)));
        for i in 0..CACHE_MAX + 10 {
            view.keep(format!("k{i}"), &json!(i));
        }
        assert!(view.cache.lock().unwrap().len() <= CACHE_MAX);
    }

    #[test]
    fn groups_below_k_are_hidden_and_merged_only_when_the_merge_holds_k() {
        let s = suppress(vec![("a", t(5)), ("b", t(4)), ("c", t(1)), ("d", t(9))], 5);
        assert_eq!(names(&s), ["a", "d"]);
        assert_eq!(s.hidden, 2);
        assert_eq!(s.hidden_total.as_ref().map(|t| t.households_known), Some(5));
    }

    #[test]
    fn a_small_remainder_takes_the_smallest_shown_group_with_it() {
        // b alone (4) could be read as the total minus a and d: a (the smallest) goes too.
        let s = suppress(vec![("a", t(5)), ("b", t(4)), ("d", t(9))], 5);
        assert_eq!(names(&s), ["d"]);
        assert_eq!(s.hidden, 2);
        assert_eq!(s.hidden_total.as_ref().map(|t| t.households_known), Some(9));
        // Nothing big enough: all hidden, nothing merged.
        let s = suppress(vec![("a", t(2)), ("b", t(1))], 5);
        assert!(s.shown.is_empty() && s.hidden == 2 && s.hidden_total.is_none());
        // Empty groups hide nothing anyone could read.
        let s = suppress(vec![("a", t(0)), ("b", t(7))], 5);
        assert_eq!(names(&s), ["b"]);
        assert_eq!(s.hidden_total, None);
    }
}
