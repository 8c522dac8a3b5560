//! Erlang's term orders, and the equality and hashing that agree with them.
//!
//! The standard order (`<`, `lists:sort/1`, [`Ord`] for [`Term`]) is
//! `number < atom < reference < fun < port < pid < tuple < map < [] < list < bitstring`, with numbers
//! compared by value. Map keys use a second order that differs in one point: every integer sorts before
//! every float, at any depth (`maps:keys(#{1.0 => a, 2 => b})` is `[2, 1.0]`); [`Map`](crate::Map) keeps
//! its keys in that order, as OTP does, which also gives OTP's encoding order for small maps.
//!
//! Both orders agree with exact equality (`=:=`): an integer sorts before a float of equal value, so `1`
//! and `1.0` are different terms, and floats compare by total order, keeping `-0.0` apart from `0.0` so
//! that encode and decode are an exact round trip. Lists compare element by element whatever their
//! representation, then by their tails. Tuples compare by size first, then element by element; maps by
//! size, then keys in key order, then values.

use std::cmp::Ordering;
use std::hash::{Hash, Hasher};

use crate::{BigInt, Fun, Term};

/// Which order numbers follow.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Numbers {
    /// By value (the standard term order).
    ByValue,
    /// Integers before floats (map key order).
    IntegersFirst,
}

/// The position of a term's type in Erlang's order; floats get their own rank in map key order.
fn rank(t: &Term, numbers: Numbers) -> u8 {
    match t {
        Term::Int(_) | Term::Big(_) => 0,
        Term::Float(_) => u8::from(numbers == Numbers::IntegersFirst),
        Term::Atom(_) => 2,
        Term::Ref(_) => 3,
        Term::Fun(_) | Term::Export(_) => 4,
        Term::Port(_) => 5,
        Term::Pid(_) => 6,
        Term::Tuple(_) => 7,
        Term::Map(_) => 8,
        Term::List(l) if l.is_empty() => NIL_RANK,
        Term::Charlist(b) if b.is_empty() => NIL_RANK,
        Term::List(_) | Term::Charlist(_) | Term::Improper(..) => LIST_RANK,
        Term::Binary(_) | Term::Bits(_) => 11,
    }
}

const NIL_RANK: u8 = 9;
const LIST_RANK: u8 = 10;

/// One element of a list, whatever its representation.
enum Elem<'a> {
    Term(&'a Term),
    Byte(u8),
}

impl Elem<'_> {
    fn cmp(&self, other: &Elem<'_>, numbers: Numbers) -> Ordering {
        match (self, other) {
            (Elem::Byte(a), Elem::Byte(b)) => a.cmp(b),
            (Elem::Term(a), Elem::Term(b)) => compare(a, b, numbers),
            (Elem::Term(a), Elem::Byte(b)) => compare(a, &Term::Int(i64::from(*b)), numbers),
            (Elem::Byte(a), Elem::Term(b)) => compare(&Term::Int(i64::from(*a)), b, numbers),
        }
    }
}

/// A list's element count and its tail (`None` for a proper list).
fn list_view(t: &Term) -> (usize, Option<&Term>) {
    match t {
        Term::List(l) => (l.len(), None),
        Term::Charlist(b) => (b.len(), None),
        Term::Improper(h, tail) => (h.len(), Some(tail)),
        _ => (0, None),
    }
}

fn list_elem(t: &Term, i: usize) -> Elem<'_> {
    match t {
        Term::List(l) | Term::Improper(l, _) => Elem::Term(&l[i]),
        Term::Charlist(b) => Elem::Byte(b[i]),
        _ => Elem::Byte(0),
    }
}

fn cmp_lists(a: &Term, b: &Term, numbers: Numbers) -> Ordering {
    let (alen, atail) = list_view(a);
    let (blen, btail) = list_view(b);
    for i in 0..alen.min(blen) {
        let o = list_elem(a, i).cmp(&list_elem(b, i), numbers);
        if o != Ordering::Equal {
            return o;
        }
    }
    // One side ran out: its rest is its tail ([] when proper); the other's rest is a non-empty list.
    let nil = Term::NIL;
    match alen.cmp(&blen) {
        Ordering::Less => rank(atail.unwrap_or(&nil), numbers).cmp(&LIST_RANK),
        Ordering::Greater => LIST_RANK.cmp(&rank(btail.unwrap_or(&nil), numbers)),
        Ordering::Equal => compare(atail.unwrap_or(&nil), btail.unwrap_or(&nil), numbers),
    }
}

fn big_to_f64(b: &BigInt) -> f64 {
    let m = b.magnitude().iter().rev().fold(0f64, |acc, &d| acc * 256.0 + f64::from(d));
    if b.is_negative() { -m } else { m }
}

/// Compares an integer (as `i128` when it fits) with a float by exact value.
fn cmp_int_float(i: Option<i128>, big: Option<&BigInt>, f: f64) -> Ordering {
    const LIMIT: f64 = 1.7014118346046923e38; // 2^127
    match i {
        Some(i) if (-LIMIT..LIMIT).contains(&f) => {
            let whole = f.trunc();
            match i.cmp(&(whole as i128)) {
                Ordering::Equal if f > whole => Ordering::Less,
                Ordering::Equal if f < whole => Ordering::Greater,
                // Equal value: the integer sorts first.
                Ordering::Equal => Ordering::Less,
                o => o,
            }
        }
        Some(_) => {
            if f > 0.0 {
                Ordering::Less
            } else {
                Ordering::Greater
            }
        }
        None => {
            let v = big.map_or(0.0, big_to_f64);
            v.partial_cmp(&f).unwrap_or(Ordering::Equal).then(Ordering::Less)
        }
    }
}

fn int_value(t: &Term) -> (Option<i128>, Option<&BigInt>) {
    match t {
        Term::Int(i) => (Some(i128::from(*i)), None),
        Term::Big(b) => (b.to_i128(), Some(b)),
        _ => (None, None),
    }
}

fn cmp_numbers(a: &Term, b: &Term) -> Ordering {
    match (a, b) {
        (Term::Int(x), Term::Int(y)) => x.cmp(y),
        (Term::Float(x), Term::Float(y)) => x.total_cmp(y),
        (Term::Float(x), _) => {
            let (i, big) = int_value(b);
            cmp_int_float(i, big, *x).reverse()
        }
        (_, Term::Float(y)) => {
            let (i, big) = int_value(a);
            cmp_int_float(i, big, *y)
        }
        _ => match (int_value(a), int_value(b)) {
            ((Some(x), _), (Some(y), _)) => x.cmp(&y),
            ((_, Some(x)), (_, Some(y))) => x.cmp(y),
            ((Some(_), _), (_, Some(y))) => {
                if y.is_negative() {
                    Ordering::Greater
                } else {
                    Ordering::Less
                }
            }
            ((_, Some(x)), (Some(_), _)) => {
                if x.is_negative() {
                    Ordering::Less
                } else {
                    Ordering::Greater
                }
            }
            _ => Ordering::Equal,
        },
    }
}

fn bit_view(t: &Term) -> (&[u8], usize) {
    match t {
        Term::Binary(d) => (d, d.len() * 8),
        Term::Bits(bs) => (bs.data(), bs.bit_len()),
        _ => (&[], 0),
    }
}

/// Compares the common bytes, then the bit lengths (a prefix sorts first).
fn cmp_bitstrings(a: &Term, b: &Term) -> Ordering {
    let (ad, abits) = bit_view(a);
    let (bd, bbits) = bit_view(b);
    ad.cmp(bd).then(abits.cmp(&bbits))
}

fn cmp_maps(a: &crate::Map, b: &crate::Map, numbers: Numbers) -> Ordering {
    let (ea, eb) = (a.entries(), b.entries());
    ea.len()
        .cmp(&eb.len())
        .then_with(|| cmp_seq(ea.iter().map(|e| &e.0), eb.iter().map(|e| &e.0), Numbers::IntegersFirst))
        .then_with(|| cmp_seq(ea.iter().map(|e| &e.1), eb.iter().map(|e| &e.1), numbers))
}

fn cmp_seq<'a>(a: impl Iterator<Item = &'a Term>, b: impl Iterator<Item = &'a Term>, numbers: Numbers) -> Ordering {
    for (x, y) in a.zip(b) {
        let o = compare(x, y, numbers);
        if o != Ordering::Equal {
            return o;
        }
    }
    Ordering::Equal
}

fn compare(a: &Term, b: &Term, numbers: Numbers) -> Ordering {
    let (ra, rb) = (rank(a, numbers), rank(b, numbers));
    if ra != rb {
        return ra.cmp(&rb);
    }
    match (a, b) {
        (Term::Atom(x), Term::Atom(y)) => x.cmp(y),
        (Term::Ref(x), Term::Ref(y)) => x.cmp(y),
        (Term::Fun(x), Term::Fun(y)) => x.cmp(y),
        (Term::Export(x), Term::Export(y)) => x.cmp(y),
        (Term::Fun(_), Term::Export(_)) => Ordering::Less,
        (Term::Export(_), Term::Fun(_)) => Ordering::Greater,
        (Term::Port(x), Term::Port(y)) => x.cmp(y),
        (Term::Pid(x), Term::Pid(y)) => x.cmp(y),
        (Term::Tuple(x), Term::Tuple(y)) => x.len().cmp(&y.len()).then_with(|| cmp_seq(x.iter(), y.iter(), numbers)),
        (Term::Map(x), Term::Map(y)) => cmp_maps(x, y, numbers),
        (Term::Binary(x), Term::Binary(y)) => x.cmp(y),
        _ => match ra {
            0 | 1 => cmp_numbers(a, b),
            NIL_RANK => Ordering::Equal,
            LIST_RANK => cmp_lists(a, b, numbers),
            _ => cmp_bitstrings(a, b),
        },
    }
}

/// Erlang's map key order: the standard order, except that all integers sort before all floats.
pub(crate) fn map_key_cmp(a: &Term, b: &Term) -> Ordering {
    // Atom keys are by far the most common; compare them without the general dispatch.
    if let (Term::Atom(x), Term::Atom(y)) = (a, b) {
        return x.cmp(y);
    }
    compare(a, b, Numbers::IntegersFirst)
}

impl Ord for Term {
    fn cmp(&self, other: &Term) -> Ordering {
        compare(self, other, Numbers::ByValue)
    }
}

/// Maps compare as Erlang compares them: by size, then keys, then values.
impl Ord for crate::Map {
    fn cmp(&self, other: &crate::Map) -> Ordering {
        cmp_maps(self, other, Numbers::ByValue)
    }
}

impl PartialOrd for crate::Map {
    fn partial_cmp(&self, other: &crate::Map) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialOrd for Term {
    fn partial_cmp(&self, other: &Term) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Term {
    fn eq(&self, other: &Term) -> bool {
        match (self, other) {
            (Term::Int(a), Term::Int(b)) => a == b,
            (Term::Atom(a), Term::Atom(b)) => a == b,
            (Term::Binary(a), Term::Binary(b)) => a == b,
            (Term::Tuple(a), Term::Tuple(b)) => a == b,
            (Term::List(a), Term::List(b)) => a == b,
            // Identifiers are equal under the term order exactly when all their fields are.
            (Term::Pid(a), Term::Pid(b)) => a == b,
            (Term::Ref(a), Term::Ref(b)) => a == b,
            _ => self.cmp(other) == Ordering::Equal,
        }
    }
}

impl Eq for Term {}

/// Hashes a term so that terms equal under [`Ord`] hash alike whatever their representation.
impl Hash for Term {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_u8(rank(self, Numbers::IntegersFirst));
        match self {
            Term::Int(i) => i.hash(state),
            Term::Big(b) => match b.to_i64() {
                Some(i) => i.hash(state),
                None => b.hash(state),
            },
            Term::Float(f) => f.to_bits().hash(state),
            Term::Atom(a) => a.hash(state),
            Term::Ref(x) => x.hash(state),
            Term::Fun(x) => x.hash(state),
            Term::Export(x) => x.hash(state),
            Term::Port(x) => x.hash(state),
            Term::Pid(x) => x.hash(state),
            Term::Tuple(x) => x.hash(state),
            Term::Map(x) => x.hash(state),
            Term::List(l) => l.iter().for_each(|t| t.hash(state)),
            Term::Charlist(b) => b.iter().for_each(|&c| Term::Int(i64::from(c)).hash(state)),
            Term::Improper(h, tail) => {
                h.iter().for_each(|t| t.hash(state));
                tail.hash(state);
            }
            // A `Binary` and a `Bits` are never equal, so their bytes alone are enough.
            Term::Binary(b) => b.hash(state),
            Term::Bits(b) => b.hash(state),
        }
    }
}

impl Fun {
    fn key(&self) -> (crate::Atom, u32, u32, [u8; 16], u8, crate::Pid) {
        (self.module, self.old_index, self.index, self.uniq, self.arity, self.pid)
    }
}

impl Ord for Fun {
    fn cmp(&self, other: &Fun) -> Ordering {
        self.key()
            .cmp(&other.key())
            .then(self.old_uniq.cmp(&other.old_uniq))
            .then_with(|| self.free_vars.cmp(&other.free_vars))
    }
}

impl PartialOrd for Fun {
    fn partial_cmp(&self, other: &Fun) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Fun {
    fn eq(&self, other: &Fun) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Fun {}

impl Hash for Fun {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.key().hash(state);
        self.old_uniq.hash(state);
        self.free_vars.hash(state);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Atom, Pid};
    use std::collections::hash_map::DefaultHasher;

    fn h(t: &Term) -> u64 {
        let mut s = DefaultHasher::new();
        t.hash(&mut s);
        s.finish()
    }

    #[test]
    fn type_order() {
        let pid = Term::Pid(Pid::new(Atom::new("a@h"), 1, 0, 1));
        let sorted = [
            Term::from(-5),
            Term::from(1),
            Term::from(1.0),
            Term::from(2),
            Term::atom("a"),
            pid.clone(),
            Term::tuple(vec![]),
            Term::Map(Default::default()),
            Term::NIL,
            Term::list(vec![Term::from(1)]),
            Term::binary(&b""[..]),
        ];
        for w in sorted.windows(2) {
            assert!(w[0] < w[1], "{:?} < {:?}", w[0], w[1]);
        }
    }

    #[test]
    fn charlists_equal_lists() {
        let a = Term::Charlist(bytes::Bytes::from_static(b"ab"));
        let b = Term::list(vec![Term::from(97), Term::from(98)]);
        assert_eq!(a, b);
        assert_eq!(h(&a), h(&b));
        assert!(Term::Charlist(bytes::Bytes::from_static(b"ab")) < Term::list(vec![Term::from(97), Term::from(99)]));
        assert_eq!(Term::Charlist(bytes::Bytes::new()), Term::NIL);
    }

    #[test]
    fn improper_tails_compare() {
        let improper = Term::improper(vec![Term::from(1)], Term::from(2));
        let proper = Term::list(vec![Term::from(1), Term::from(2)]);
        // [1|2] < [1,2] because 2 (a number) < [2] (a list); [1|2] < [1] because 2 < [].
        assert!(improper < proper);
        assert!(improper < Term::list(vec![Term::from(1)]));
        assert_ne!(improper, proper);
    }

    #[test]
    fn map_keys_put_integers_before_floats() {
        use std::cmp::Ordering::*;
        assert_eq!(map_key_cmp(&Term::from(2), &Term::from(1.0)), Less);
        assert_eq!(Term::from(2).cmp(&Term::from(1.0)), Greater);
        let (a, b) = (Term::tuple(vec![Term::from(1.0)]), Term::tuple(vec![Term::from(2)]));
        assert_eq!(map_key_cmp(&b, &a), Less);
        assert_eq!(a.cmp(&b), Less);
        assert_eq!(map_key_cmp(&Term::from(1.5), &Term::atom("a")), Less);
    }

    #[test]
    fn numbers() {
        assert!(Term::from(1) < Term::from(1.5));
        assert!(Term::from(2) > Term::from(1.5));
        assert!(Term::from(u64::MAX) > Term::from(1.0e10));
        assert!(Term::from(-(1i128 << 100)) < Term::from(-1.0e10));
        assert!(Term::from(1i128 << 100) < Term::from(1.0e300));
        assert_ne!(Term::from(0.0), Term::from(-0.0));
        assert_eq!(Term::Big(BigInt::from(5i64)), Term::from(5));
        assert_eq!(h(&Term::Big(BigInt::from(5i64))), h(&Term::from(5)));
    }
}
