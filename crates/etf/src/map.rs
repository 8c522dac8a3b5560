//! Erlang maps.

use crate::Term;
use crate::order::map_key_cmp;

/// An Erlang map: keys of any term, kept sorted in Erlang's map key order, without duplicates.
///
/// Sorted storage gives O(log n) look-ups, a canonical form (two maps are equal when their entries are),
/// and OTP's own encoding order for small maps. Build one with [`FromIterator`] (a later duplicate key
/// replaces an earlier one, as `maps:from_list/1` does) or [`Map::insert`].
///
/// ```
/// use erlnode_etf::{Map, Term};
/// let mut m: Map = [(Term::atom("b"), Term::from(2)), (Term::atom("a"), Term::from(1))].into_iter().collect();
/// m.insert(Term::atom("c"), Term::from(3));
/// assert_eq!(m.get(&Term::atom("a")), Some(&Term::from(1)));
/// assert_eq!(Term::Map(m).to_string(), "#{a => 1,b => 2,c => 3}");
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Map {
    entries: Vec<(Term, Term)>,
}

impl Map {
    /// An empty map.
    pub fn new() -> Map {
        Map::default()
    }

    /// Builds a map from entries already sorted by key with no duplicates, or reports the first key that is
    /// out of order or repeated (the decoder uses this to refuse duplicate keys).
    pub(crate) fn from_sorted_or_sort(mut entries: Vec<(Term, Term)>) -> Result<Map, Term> {
        if !entries.windows(2).all(|w| map_key_cmp(&w[0].0, &w[1].0).is_lt()) {
            entries.sort_by(|a, b| map_key_cmp(&a.0, &b.0));
            if let Some(w) = entries.windows(2).find(|w| w[0].0 == w[1].0) {
                return Err(w[0].0.clone());
            }
        }
        Ok(Map { entries })
    }

    /// The number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// `true` for `#{}`.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    fn position(&self, key: &Term) -> Result<usize, usize> {
        self.entries.binary_search_by(|(k, _)| map_key_cmp(k, key))
    }

    /// The value under `key`.
    pub fn get(&self, key: &Term) -> Option<&Term> {
        self.position(key).ok().map(|i| &self.entries[i].1)
    }

    /// The value under the atom key `name` (the usual key of Erlang records-as-maps and Elixir structs).
    pub fn get_atom(&self, name: &str) -> Option<&Term> {
        let atom = crate::Atom::lookup(name)?;
        self.get(&Term::Atom(atom))
    }

    /// Sets `key` to `value`, returning the value it replaced.
    pub fn insert(&mut self, key: Term, value: Term) -> Option<Term> {
        match self.position(&key) {
            Ok(i) => Some(std::mem::replace(&mut self.entries[i].1, value)),
            Err(i) => {
                self.entries.insert(i, (key, value));
                None
            }
        }
    }

    /// Removes `key`, returning its value.
    pub fn remove(&mut self, key: &Term) -> Option<Term> {
        self.position(key).ok().map(|i| self.entries.remove(i).1)
    }

    /// The entries in key order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (&Term, &Term)> {
        self.entries.iter().map(|(k, v)| (k, v))
    }

    /// The entries as a sorted slice.
    pub fn entries(&self) -> &[(Term, Term)] {
        &self.entries
    }
}

impl FromIterator<(Term, Term)> for Map {
    fn from_iter<I: IntoIterator<Item = (Term, Term)>>(iter: I) -> Map {
        let mut entries: Vec<(Term, Term)> = iter.into_iter().collect();
        // A stable sort keeps equal keys in input order; keeping the last of each run makes later win.
        entries.sort_by(|a, b| map_key_cmp(&a.0, &b.0));
        let mut out: Vec<(Term, Term)> = Vec::with_capacity(entries.len());
        for entry in entries {
            match out.last_mut() {
                Some(last) if last.0 == entry.0 => *last = entry,
                _ => out.push(entry),
            }
        }
        Map { entries: out }
    }
}

impl IntoIterator for Map {
    type Item = (Term, Term);
    type IntoIter = std::vec::IntoIter<(Term, Term)>;

    fn into_iter(self) -> Self::IntoIter {
        self.entries.into_iter()
    }
}

impl<'a> IntoIterator for &'a Map {
    type Item = &'a (Term, Term);
    type IntoIter = std::slice::Iter<'a, (Term, Term)>;

    fn into_iter(self) -> Self::IntoIter {
        self.entries.iter()
    }
}
