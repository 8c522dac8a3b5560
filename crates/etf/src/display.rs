//! Printing terms in Erlang syntax, on one line, the way `io:format("~tp")` prints a term that fits.
//!
//! The output is Erlang source text that reads back as the same term (see [`Term`]'s `FromStr`). It departs
//! from OTP 25's in three places:
//! - pids, ports and references name their node (`<demo@localhost.42.0>`) where the BEAM prints a node index
//!   (`<0.42.0>`), since a Rust program has no node table to look indexes up in;
//! - `maybe` and `else` are quoted, as OTP 27 quotes them (they are reserved words since the `maybe`
//!   expression became standard);
//! - the atoms of an external fun are quoted by the same rules as other atoms (`fun m:'receive'/0`), where
//!   the BEAM's `erlang:fun_to_list/1` leaves reserved words bare and prints non-ASCII atoms byte by byte.
//!
//! What is a string follows `~tp` with the default printable range (`+pc latin1`): a list of Latin-1
//! printable characters prints as `"abc"`, a binary as `<<"abc">>`, or as `<<"é"/utf8>>` when it is UTF-8
//! for such characters that are not all ASCII.

use std::fmt::{self, Write as _};

use crate::{BitString, Export, Fun, Pid, Port, Ref, Term};

/// Words that must be quoted to be atoms (Erlang's reserved words, including `maybe` and `else`).
const RESERVED_WORDS: &[&str] = &[
    "after", "and", "andalso", "band", "begin", "bnot", "bor", "bsl", "bsr", "bxor", "case", "catch", "cond", "div",
    "else", "end", "fun", "if", "let", "maybe", "not", "of", "or", "orelse", "receive", "rem", "try", "when", "xor",
];

/// `true` for a character that may start an unquoted atom: a lowercase Latin-1 letter.
pub(crate) fn is_atom_start(c: char) -> bool {
    c.is_ascii_lowercase() || (('ß'..='ÿ').contains(&c) && c != '÷')
}

/// `true` for a character that may continue an unquoted atom: a Latin-1 letter, a digit, `_` or `@`.
pub(crate) fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric()
        || c == '_'
        || c == '@'
        || (('ß'..='ÿ').contains(&c) && c != '÷')
        || (('À'..='Þ').contains(&c) && c != '×')
}

/// `true` for Erlang's reserved words, which are atoms only when quoted.
pub(crate) fn is_reserved_word(text: &str) -> bool {
    RESERVED_WORDS.contains(&text)
}

/// `true` when the atom `text` must be written in single quotes.
fn atom_needs_quotes(text: &str) -> bool {
    let mut chars = text.chars();
    match chars.next() {
        Some(c) if is_atom_start(c) => !chars.all(is_name_char) || is_reserved_word(text),
        _ => true,
    }
}

/// Writes the atom named `text` as Erlang source would: bare when it can be, else quoted with escapes.
pub(crate) fn write_atom(f: &mut impl fmt::Write, text: &str) -> fmt::Result {
    if atom_needs_quotes(text) { write_quoted(f, text.chars(), '\'') } else { f.write_str(text) }
}

/// Writes `chars` between `quote`s, escaped as `io_lib:write_string/2` does.
fn write_quoted(f: &mut impl fmt::Write, chars: impl Iterator<Item = char>, quote: char) -> fmt::Result {
    f.write_char(quote)?;
    for c in chars {
        write_quoted_char(f, c, quote)?;
    }
    f.write_char(quote)
}

fn write_quoted_char(f: &mut impl fmt::Write, c: char, quote: char) -> fmt::Result {
    let escape = match c {
        '\\' => "\\\\",
        '\n' => "\\n",
        '\r' => "\\r",
        '\t' => "\\t",
        '\u{0b}' => "\\v",
        '\u{08}' => "\\b",
        '\u{0c}' => "\\f",
        '\u{1b}' => "\\e",
        '\u{7f}' => "\\d",
        c if c == quote => return write!(f, "\\{c}"),
        ' '..='~' => return f.write_char(c),
        // Other control characters, C0 and C1, as three octal digits.
        c if u32::from(c) < 0xa0 => return write!(f, "\\{:03o}", u32::from(c)),
        c => return f.write_char(c),
    };
    f.write_str(escape)
}

/// `true` for the characters `~p` prints inside a string with the default (Latin-1) printable range.
pub(crate) fn is_printable_latin1(c: u32) -> bool {
    matches!(c, 32..=126 | 160..=255 | 8..=13 | 27)
}

/// Writes `v` as `float_to_list(V, [short])` does: the shortest digits that read back as `v`, in fixed or
/// scientific notation, whichever is shorter (fixed on a tie), and always scientific from 2^53 on.
fn write_float(f: &mut impl fmt::Write, v: f64) -> fmt::Result {
    if !v.is_finite() {
        // Erlang has no such floats; print something recognisable rather than fail.
        return write!(f, "{v}");
    }
    if v.is_sign_negative() {
        f.write_char('-')?;
    }
    let a = v.abs();
    // Rust's `{:e}` gives the shortest digits that read back as `a`, but where two such digit strings are
    // equally close to `a` it takes the upper one, and Erlang (Ryu) the even one. Exact formatting at the same
    // length gives the closest digits, ties to even; they are Erlang's when they read back as `a` (at a
    // power of two they may not, the gap below being half the gap above).
    let shortest = format!("{a:e}");
    let precision = shortest.split_once('e').map_or(0, |(m, _)| m.len().saturating_sub(2));
    let closest = format!("{a:.precision$e}");
    let sci = if closest != shortest && closest.parse::<f64>() == Ok(a) { closest } else { shortest };
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let (first, rest) = digits.split_at(1.min(digits.len()));
    let rest = if rest.is_empty() { "0" } else { rest };
    let scientific = format!("{first}.{rest}e{exp}");
    if a >= 9_007_199_254_740_992.0 {
        return f.write_str(&scientific);
    }
    let fixed = if exp < 0 {
        let zeros = "0".repeat(exp.unsigned_abs() as usize - 1);
        format!("0.{zeros}{digits}")
    } else {
        let point = exp as usize + 1;
        if digits.len() <= point {
            format!("{digits}{}.0", "0".repeat(point - digits.len()))
        } else {
            format!("{}.{}", &digits[..point], &digits[point..])
        }
    };
    f.write_str(if fixed.len() <= scientific.len() { &fixed } else { &scientific })
}

/// One element of a list, however the list holds it.
#[derive(Clone, Copy)]
enum Item<'a> {
    Term(&'a Term),
    Byte(u8),
}

impl Item<'_> {
    fn as_char(self) -> Option<u32> {
        match self {
            Item::Byte(b) => Some(u32::from(b)),
            Item::Term(t) => t.as_i64().and_then(|i| u32::try_from(i).ok()),
        }
    }
}

/// The elements of the list `t` with its tail (`None` when proper), following tails that are lists.
fn list_items(t: &Term) -> (Vec<Item<'_>>, Option<&Term>) {
    let mut items = Vec::new();
    let mut cur = t;
    loop {
        match cur {
            Term::List(l) => {
                items.extend(l.iter().map(Item::Term));
                return (items, None);
            }
            Term::Charlist(b) => {
                items.extend(b.iter().map(|&b| Item::Byte(b)));
                return (items, None);
            }
            Term::Improper(head, tail) => {
                items.extend(head.iter().map(Item::Term));
                cur = tail;
            }
            other => return (items, Some(other)),
        }
    }
}

fn write_list(f: &mut fmt::Formatter<'_>, t: &Term) -> fmt::Result {
    let (items, tail) = list_items(t);
    if items.is_empty() {
        // `Improper` with no elements breaks the variant's invariant; it means its tail.
        return match tail {
            Some(tail) => write_term(f, tail),
            None => f.write_str("[]"),
        };
    }
    if tail.is_none() {
        let chars: Option<Vec<char>> =
            items.iter().map(|i| i.as_char().filter(|&c| is_printable_latin1(c)).and_then(char::from_u32)).collect();
        if let Some(chars) = chars {
            return write_quoted(f, chars.into_iter(), '"');
        }
    }
    f.write_char('[')?;
    for (n, item) in items.iter().enumerate() {
        if n > 0 {
            f.write_char(',')?;
        }
        match item {
            Item::Term(t) => write_term(f, t)?,
            Item::Byte(b) => write!(f, "{b}")?,
        }
    }
    if let Some(tail) = tail {
        f.write_char('|')?;
        write_term(f, tail)?;
    }
    f.write_char(']')
}

/// Writes a binary, or a bitstring when `tail` holds the value and width of a last partial byte.
fn write_bits(f: &mut impl fmt::Write, bytes: &[u8], tail: Option<(u8, u8)>) -> fmt::Result {
    if tail.is_none() && !bytes.is_empty() {
        match std::str::from_utf8(bytes) {
            Ok(text) => {
                if text.chars().all(|c| is_printable_latin1(u32::from(c))) {
                    f.write_str("<<")?;
                    write_quoted(f, text.chars(), '"')?;
                    return f.write_str(if text.is_ascii() { ">>" } else { "/utf8>>" });
                }
            }
            Err(_) => {
                if bytes.iter().all(|&b| is_printable_latin1(u32::from(b))) {
                    f.write_str("<<")?;
                    write_quoted(f, bytes.iter().map(|&b| char::from(b)), '"')?;
                    return f.write_str(">>");
                }
            }
        }
    }
    f.write_str("<<")?;
    for (n, b) in bytes.iter().enumerate() {
        if n > 0 {
            f.write_char(',')?;
        }
        write!(f, "{b}")?;
    }
    if let Some((value, bits)) = tail {
        if !bytes.is_empty() {
            f.write_char(',')?;
        }
        write!(f, "{value}:{bits}")?;
    }
    f.write_str(">>")
}

fn write_term(f: &mut fmt::Formatter<'_>, t: &Term) -> fmt::Result {
    match t {
        Term::Int(i) => write!(f, "{i}"),
        Term::Big(b) => write!(f, "{b}"),
        Term::Float(v) => write_float(f, *v),
        Term::Atom(a) => write_atom(f, a.as_str()),
        Term::Ref(r) => fmt::Display::fmt(r, f),
        Term::Fun(fun) => fmt::Display::fmt(fun, f),
        Term::Export(e) => fmt::Display::fmt(e, f),
        Term::Port(p) => fmt::Display::fmt(p, f),
        Term::Pid(p) => fmt::Display::fmt(p, f),
        Term::Tuple(elements) => {
            f.write_char('{')?;
            for (n, e) in elements.iter().enumerate() {
                if n > 0 {
                    f.write_char(',')?;
                }
                write_term(f, e)?;
            }
            f.write_char('}')
        }
        Term::Map(m) => {
            f.write_str("#{")?;
            for (n, (k, v)) in m.iter().enumerate() {
                if n > 0 {
                    f.write_char(',')?;
                }
                write_term(f, k)?;
                f.write_str(" => ")?;
                write_term(f, v)?;
            }
            f.write_char('}')
        }
        Term::List(_) | Term::Charlist(_) | Term::Improper(..) => write_list(f, t),
        Term::Binary(b) => write_bits(f, b, None),
        Term::Bits(b) => fmt::Display::fmt(b, f),
    }
}

/// Prints the term in Erlang syntax on one line, as `io:format("~tp")` does: `{ok,[1,2,3],<<"hi">>}`.
impl fmt::Display for Term {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_term(f, self)
    }
}

/// `<node.Id.Serial>`, naming the node where Erlang prints its index: `<demo@localhost.42.0>`.
impl fmt::Display for Pid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_char('<')?;
        write_atom(f, self.node.as_str())?;
        write!(f, ".{}.{}>", self.id, self.serial)
    }
}

/// `#Port<node.Id>`.
impl fmt::Display for Port {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("#Port<")?;
        write_atom(f, self.node.as_str())?;
        write!(f, ".{}>", self.id)
    }
}

/// `#Ref<node.W3.W2.W1>`, the id words most significant first.
impl fmt::Display for Ref {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("#Ref<")?;
        write_atom(f, self.node.as_str())?;
        for word in self.ids().iter().rev() {
            write!(f, ".{word}")?;
        }
        f.write_char('>')
    }
}

/// `fun Module:Function/Arity`.
impl fmt::Display for Export {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("fun ")?;
        write_atom(f, self.module.as_str())?;
        f.write_char(':')?;
        write_atom(f, self.function.as_str())?;
        write!(f, "/{}", self.arity)
    }
}

/// `#Fun<Module.OldIndex.OldUniq>`, as Erlang prints a closure (the module name unquoted, as the BEAM does).
impl fmt::Display for Fun {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#Fun<{}.{}.{}>", self.module.as_str(), self.old_index, self.old_uniq)
    }
}

/// `<<1,2,3:4>>`: the whole bytes, then the last partial byte as `Value:Bits`.
impl fmt::Display for BitString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let data = self.data();
        match data.split_last() {
            Some((&last, whole)) => {
                let bits = self.tail_bits().clamp(1, 8);
                write_bits(f, whole, Some((last >> (8 - bits), bits)))
            }
            None => f.write_str("<<>>"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Atom, BigInt, Map};
    use bytes::Bytes;

    fn show(t: &Term) -> String {
        t.to_string()
    }

    fn float(v: f64) -> String {
        Term::Float(v).to_string()
    }

    fn atom(text: &str) -> String {
        Term::atom(text).to_string()
    }

    #[test]
    fn atoms_are_quoted_when_erlang_quotes_them() {
        for (text, shown) in [
            ("ok", "ok"),
            ("a_B@1", "a_B@1"),
            ("héllo", "héllo"),
            ("ß", "ß"),
            ("aÀ", "aÀ"),
            ("A", "'A'"),
            ("_x", "'_x'"),
            ("1a", "'1a'"),
            ("", "''"),
            ("a b", "'a b'"),
            ("÷a", "'÷a'"),
            ("a÷", "'a÷'"),
            ("a×", "'a×'"),
            ("a@b.c", "'a@b.c'"),
            ("a'b", "'a\\'b'"),
            ("a\"b", "'a\"b'"),
            ("a\\b", "'a\\\\b'"),
            ("a\nb", "'a\\nb'"),
            ("a\tb", "'a\\tb'"),
            ("a\u{1}b", "'a\\001b'"),
            ("a\u{7f}b", "'a\\db'"),
            ("a\u{80}b", "'a\\200b'"),
            ("a\u{9f}b", "'a\\237b'"),
            ("a\u{a0}b", "'a\u{a0}b'"),
            ("a\u{1b}\u{b}\u{8}\u{c}\rb", "'a\\e\\v\\b\\f\\rb'"),
            ("😀", "'😀'"),
            ("a😀", "'a😀'"),
            ("[]", "'[]'"),
            ("nonode@nohost", "nonode@nohost"),
        ] {
            assert_eq!(atom(text), shown, "atom {text:?}");
        }
    }

    #[test]
    fn reserved_words_are_quoted() {
        for word in RESERVED_WORDS {
            assert_eq!(atom(word), format!("'{word}'"));
        }
        assert_eq!(atom("true"), "true");
        assert_eq!(atom("afters"), "afters");
    }

    #[test]
    fn floats_print_as_erlang_does() {
        // Each pair was checked against OTP 25's `io:format("~p", [F])`.
        for (v, shown) in [
            (100.0, "100.0"),
            (0.0001, "0.0001"),
            (12345.678, "12345.678"),
            (1.0e15, "1.0e15"),
            (1.0e-5, "1.0e-5"),
            (1.2345678901234568e17, "1.2345678901234568e17"),
            (1.0e100, "1.0e100"),
            (5.0e-324, "5.0e-324"),
            (-0.0, "-0.0"),
            (0.0, "0.0"),
            (0.1 + 0.2, "0.30000000000000004"),
            (1.0e16, "1.0e16"),
            (123456789012345.0, "123456789012345.0"),
            (1234567890123456.0, "1234567890123456.0"),
            (9007199254740992.0, "9.007199254740992e15"),
            (9007199254740991.0, "9007199254740991.0"),
            (4503599627370496.0, "4503599627370496.0"),
            (1.5e14, "1.5e14"),
            (100000.0, "1.0e5"),
            (1000.0, "1.0e3"),
            (10.0, "10.0"),
            (1.0, "1.0"),
            (1500.0, "1.5e3"),
            (0.001, "0.001"),
            (0.01, "0.01"),
            (1.5e-4, "1.5e-4"),
            (1.23456e-4, "1.23456e-4"),
            (12.5, "12.5"),
            (1.0e23, "1.0e23"),
            (f64::MAX, "1.7976931348623157e308"),
            (f64::MIN_POSITIVE, "2.2250738585072014e-308"),
            (12.0e10, "1.2e11"),
            (12.34567, "12.34567"),
            (-2.5, "-2.5"),
            (-1.0e-10, "-1.0e-10"),
            // Ties between two shortest digit strings go to the even one, as Erlang's Ryu does.
            (2.9802322387695312e-8, "2.9802322387695312e-8"),
            (256317133176956.12, "256317133176956.12"),
            (1809686960817377.2, "1809686960817377.2"),
            (7.120236347223045e-307, "7.120236347223045e-307"),
            (6.290184345309701e-235, "6.290184345309701e-235"),
        ] {
            assert_eq!(float(v), shown, "float {v:e}");
        }
    }

    #[test]
    fn integers() {
        assert_eq!(show(&Term::Int(-42)), "-42");
        assert_eq!(show(&Term::from(u64::MAX)), "18446744073709551615");
        let big = BigInt::from(-(1i128 << 100));
        assert_eq!(show(&Term::Big(big)), "-1267650600228229401496703205376");
    }

    #[test]
    fn lists_and_strings() {
        assert_eq!(show(&Term::NIL), "[]");
        assert_eq!(show(&Term::Charlist(Bytes::new())), "[]");
        assert_eq!(show(&Term::list(vec![1.into(), 2.into(), 3.into()])), "[1,2,3]");
        assert_eq!(show(&Term::improper(vec![1.into(), 2.into()], 3.into())), "[1,2|3]");
        assert_eq!(show(&Term::charlist("abc")), "\"abc\"");
        assert_eq!(show(&Term::charlist("a\nb\"c'")), "\"a\\nb\\\"c'\"");
        assert_eq!(show(&Term::charlist("\u{1b}\u{b}\u{8}\u{c}\r\t")), "\"\\e\\v\\b\\f\\r\\t\"");
        assert_eq!(show(&Term::charlist("ÿ\u{a0}")), "\"ÿ\u{a0}\"");
        assert_eq!(show(&Term::Charlist(Bytes::from_static(&[127]))), "[127]");
        assert_eq!(show(&Term::Charlist(Bytes::from_static(&[128]))), "[128]");
        assert_eq!(show(&Term::Charlist(Bytes::from_static(&[0, 1]))), "[0,1]");
        assert_eq!(show(&Term::list(vec![256.into()])), "[256]");
        assert_eq!(show(&Term::charlist("aé😀")), "[97,233,128512]");
        assert_eq!(show(&Term::list(vec![(-1).into()])), "[-1]");
        assert_eq!(show(&Term::improper(vec![97.into()], 98.into())), "[97|98]");
        assert_eq!(show(&Term::list(vec![Term::NIL, Term::charlist("x")])), "[[],\"x\"]");
        // The same list prints the same however it is held.
        let held_as_terms = Term::list(vec![104.into(), 105.into()]);
        assert_eq!(show(&held_as_terms), show(&Term::charlist("hi")));
        let held_as_big = Term::list(vec![Term::Big(BigInt::from(104i64))]);
        assert_eq!(show(&held_as_big), "\"h\"");
    }

    #[test]
    fn lists_out_of_canonical_shape_still_print_flat() {
        let tail = Term::Improper(vec![2.into()], Box::new(Term::charlist("ab")));
        let odd = Term::Improper(vec![1.into()], Box::new(tail));
        assert_eq!(show(&odd), "[1,2,97,98]");
        let printable = Term::Improper(vec![104.into()], Box::new(Term::charlist("i")));
        assert_eq!(show(&printable), "\"hi\"");
        assert_eq!(show(&Term::Improper(vec![], Box::new(Term::atom("x")))), "x");
        assert_eq!(show(&Term::Improper(vec![1.into()], Box::new(Term::NIL))), "[1]");
    }

    #[test]
    fn binaries() {
        let bin = |b: &'static [u8]| show(&Term::binary(Bytes::from_static(b)));
        assert_eq!(bin(b""), "<<>>");
        assert_eq!(bin(b"hi"), "<<\"hi\">>");
        assert_eq!(bin(b"a\nb"), "<<\"a\\nb\">>");
        assert_eq!(bin(b"a\"b"), "<<\"a\\\"b\">>");
        assert_eq!(bin("é".as_bytes()), "<<\"é\"/utf8>>");
        assert_eq!(bin(&[233]), "<<\"é\">>");
        assert_eq!(bin("😀".as_bytes()), "<<240,159,152,128>>");
        assert_eq!(bin(&[195, 169, 128]), "<<195,169,128>>");
        assert_eq!(bin(b"ab\0"), "<<97,98,0>>");
        assert_eq!(bin(&[127]), "<<127>>");
        assert_eq!(bin(&[1, 2, 3]), "<<1,2,3>>");
    }

    #[test]
    fn bitstrings() {
        let bits = |data: &'static [u8], n: u8| {
            BitString::new(Bytes::from_static(data), n).map(|b| show(&Term::Bits(b))).unwrap_or_default()
        };
        assert_eq!(bits(&[1, 2, 0x30], 4), "<<1,2,3:4>>");
        assert_eq!(bits(&[32], 3), "<<1:3>>");
        assert_eq!(bits(&[0xa0], 3), "<<5:3>>");
        assert_eq!(bits(b"abc\x20", 3), "<<97,98,99,1:3>>");
        assert_eq!(bits(&[0xff], 7), "<<127:7>>");
        assert_eq!(bits(&[0x80], 1), "<<1:1>>");
    }

    #[test]
    fn containers() {
        assert_eq!(show(&Term::tuple(vec![])), "{}");
        let t = Term::tuple(vec![Term::atom("ok"), Term::list(vec![1.into(), 2.into()]), Term::from("hi")]);
        assert_eq!(show(&t), "{ok,[1,2],<<\"hi\">>}");
        assert_eq!(show(&Term::Map(Map::new())), "#{}");
        let m: Map = [(Term::atom("b"), Term::from(-2)), (Term::from(1), Term::Float(1.5))].into_iter().collect();
        assert_eq!(show(&Term::Map(m)), "#{1 => 1.5,b => -2}");
    }

    #[test]
    fn identifiers() {
        let node = Atom::new("demo@localhost");
        assert_eq!(show(&Term::Pid(Pid::new(node, 42, 0, 1))), "<demo@localhost.42.0>");
        assert_eq!(show(&Term::Pid(Pid::new(Atom::new("a@b.c"), 1, 0, 0))), "<'a@b.c'.1.0>");
        assert_eq!(show(&Term::Port(Port::new(node, 7, 1))), "#Port<demo@localhost.7>");
        let r = Ref::new(node, 1, &[1, 2, 3]).map(Term::Ref).unwrap_or_default();
        assert_eq!(show(&r), "#Ref<demo@localhost.3.2.1>");
        let e = Export::new(Atom::new("A"), Atom::new("b c"), 2);
        assert_eq!(show(&Term::Export(e)), "fun 'A':'b c'/2");
        let fun = Fun {
            module: Atom::new("t"),
            arity: 1,
            uniq: [0; 16],
            index: 0,
            old_index: 0,
            old_uniq: 130978547,
            pid: Pid::new(node, 1, 0, 0),
            free_vars: vec![],
        };
        assert_eq!(show(&Term::from(fun.clone())), "#Fun<t.0.130978547>");
        let dotted = Fun { module: Atom::new("Q.m"), old_uniq: 21798878, ..fun };
        assert_eq!(dotted.to_string(), "#Fun<Q.m.0.21798878>");
    }
}
