//! A map for the few entries most processes hold (the monitors a caller sets for one call, the callers
//! watching a server): a vector searched in order while it is small, a hash map once it grows.
//!
//! A `gen_server` call adds and removes a monitor on both sides; in a vector of a few entries that is a
//! compare or two, where a hash map hashes the reference and probes its table each time. A process that
//! holds many monitors still gets constant-time operations.

use std::hash::Hash;

use crate::hash::NumberMap;

/// Entries kept in the vector before the map switches to hashing.
const FEW: usize = 8;

/// A map keyed by pids, references or atoms, small ones kept in a vector (see the module docs).
#[derive(Debug, Clone)]
pub(crate) enum SmallMap<K, V> {
    /// At most [`FEW`] entries, in no particular order.
    Few(Vec<(K, V)>),
    /// More than that at some point.
    Many(NumberMap<K, V>),
}

impl<K, V> Default for SmallMap<K, V> {
    fn default() -> SmallMap<K, V> {
        SmallMap::Few(Vec::new())
    }
}

impl<K: Eq + Hash, V> SmallMap<K, V> {
    /// Sets `key` to `value`; the value it had, if any.
    pub(crate) fn insert(&mut self, key: K, value: V) -> Option<V> {
        match self {
            SmallMap::Few(entries) => {
                if let Some((_, old)) = entries.iter_mut().find(|(k, _)| *k == key) {
                    return Some(std::mem::replace(old, value));
                }
                if entries.len() < FEW {
                    entries.push((key, value));
                    return None;
                }
                let mut map: NumberMap<K, V> = std::mem::take(entries).into_iter().collect();
                map.insert(key, value);
                *self = SmallMap::Many(map);
                None
            }
            SmallMap::Many(map) => map.insert(key, value),
        }
    }

    /// Removes `key`; its value, if it had one.
    pub(crate) fn remove(&mut self, key: &K) -> Option<V> {
        match self {
            SmallMap::Few(entries) => {
                let at = entries.iter().position(|(k, _)| k == key)?;
                Some(entries.swap_remove(at).1)
            }
            SmallMap::Many(map) => map.remove(key),
        }
    }

    /// The value of `key`.
    pub(crate) fn get(&self, key: &K) -> Option<&V> {
        match self {
            SmallMap::Few(entries) => entries.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            SmallMap::Many(map) => map.get(key),
        }
    }

    /// The value of `key`, to change.
    pub(crate) fn get_mut(&mut self, key: &K) -> Option<&mut V> {
        match self {
            SmallMap::Few(entries) => entries.iter_mut().find(|(k, _)| k == key).map(|(_, v)| v),
            SmallMap::Many(map) => map.get_mut(key),
        }
    }

    /// Keeps only the entries for which `keep` is true.
    pub(crate) fn retain(&mut self, mut keep: impl FnMut(&K, &mut V) -> bool) {
        match self {
            SmallMap::Few(entries) => entries.retain_mut(|(k, v)| keep(k, v)),
            SmallMap::Many(map) => map.retain(|k, v| keep(k, v)),
        }
    }

    /// All entries, in no particular order.
    pub(crate) fn iter(&self) -> Iter<'_, K, V> {
        match self {
            SmallMap::Few(entries) => Iter::Few(entries.iter()),
            SmallMap::Many(map) => Iter::Many(map.iter()),
        }
    }

    /// All values, in no particular order.
    pub(crate) fn values(&self) -> impl Iterator<Item = &V> + '_ {
        self.iter().map(|(_, v)| v)
    }

    /// The number of entries the map has room for without growing.
    pub(crate) fn capacity(&self) -> usize {
        match self {
            SmallMap::Few(entries) => entries.capacity(),
            SmallMap::Many(map) => map.capacity(),
        }
    }

    /// The number of entries.
    pub(crate) fn len(&self) -> usize {
        match self {
            SmallMap::Few(entries) => entries.len(),
            SmallMap::Many(map) => map.len(),
        }
    }
}

impl<K, V> IntoIterator for SmallMap<K, V> {
    type Item = (K, V);
    type IntoIter = IntoIter<K, V>;

    fn into_iter(self) -> IntoIter<K, V> {
        match self {
            SmallMap::Few(entries) => IntoIter::Few(entries.into_iter()),
            SmallMap::Many(map) => IntoIter::Many(map.into_iter()),
        }
    }
}

/// The entries of a [`SmallMap`], borrowed.
pub(crate) enum Iter<'a, K, V> {
    Few(std::slice::Iter<'a, (K, V)>),
    Many(std::collections::hash_map::Iter<'a, K, V>),
}

impl<'a, K, V> Iterator for Iter<'a, K, V> {
    type Item = (&'a K, &'a V);

    fn next(&mut self) -> Option<(&'a K, &'a V)> {
        match self {
            Iter::Few(entries) => entries.next().map(|(k, v)| (k, v)),
            Iter::Many(entries) => entries.next(),
        }
    }
}

/// The entries of a [`SmallMap`], taken.
pub(crate) enum IntoIter<K, V> {
    Few(std::vec::IntoIter<(K, V)>),
    Many(std::collections::hash_map::IntoIter<K, V>),
}

impl<K, V> Iterator for IntoIter<K, V> {
    type Item = (K, V);

    fn next(&mut self) -> Option<(K, V)> {
        match self {
            IntoIter::Few(entries) => entries.next(),
            IntoIter::Many(entries) => entries.next(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn behaves_as_a_map_below_and_above_the_switch() {
        let mut small = SmallMap::default();
        let mut model = std::collections::HashMap::new();
        // Keys from a small range, so inserts replace and removes hit, across the switch to hashing.
        let mut x: u64 = 7;
        for step in 0..4000u64 {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            let key = (x >> 33) % 24;
            match (x >> 20) % 3 {
                0 | 1 => assert_eq!(small.insert(key, step), model.insert(key, step)),
                _ => assert_eq!(small.remove(&key), model.remove(&key)),
            }
            assert_eq!(small.get(&key), model.get(&key));
            assert_eq!(small.len(), model.len());
            if step % 500 == 0 {
                small.retain(|k, _| k % 2 == 0);
                model.retain(|k, _| k % 2 == 0);
            }
        }
        if let Some(v) = small.get_mut(&4) {
            *v = 1;
            model.insert(4, 1);
        }
        let mut all: Vec<(u64, u64)> = small.into_iter().collect();
        let mut expected: Vec<(u64, u64)> = model.into_iter().collect();
        all.sort_unstable();
        expected.sort_unstable();
        assert_eq!(all, expected);
    }
}
