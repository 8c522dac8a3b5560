//! Reading Erlang term syntax.
//!
//! [`Term`]'s `FromStr` reads one term, as `erl_parse:parse_term/1` does, plus the forms that
//! [`Display`](std::fmt::Display) prints for pids, ports, references and external funs; [`Term::parse_all`]
//! reads a file of dot-terminated terms, as `file:consult/1` does.
//!
//! - integers: `42`, `-7`, `1_000`, `16#FF`, `$a`, `$\n`, any size;
//! - floats: `1.5`, `-0.0`, `1.0e10`, `2.5E-3`;
//! - atoms: `ok`, `'hello world'`, `'\n'`;
//! - strings: `"abc"` (a charlist; adjacent strings are joined, `"ab" "c"` is `"abc"`);
//! - binaries: `<<>>`, `<<1,2,3>>`, `<<"abc">>`, `<<"é"/utf8>>`, `<<1:3>>`, `<<256:16>>`, `<<-1:16/little>>`;
//! - tuples `{a,b}`, lists `[1,2]` and `[H|T]`, maps `#{k => v}`;
//! - `<node@host.1.2>`, `#Port<node@host.7>`, `#Ref<node@host.3.2.1>` (with creation 0, which the printed
//!   forms leave out), and `fun m:f/2`; not `#Fun<...>`, which leaves out most of a closure.
//!
//! Whitespace and `%` comments may separate tokens, and a term may end with `.`. Nesting is bounded, so no
//! input can exhaust the stack, and binaries are bounded in size.

use std::str::FromStr;

use bytes::Bytes;

use crate::display::{is_atom_start, is_name_char, is_reserved_word};
use crate::{Atom, BigInt, BitString, Export, Map, Pid, Port, Ref, Term};

/// Text that is not an Erlang term.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("parse error at {offset}: {message}")]
pub struct ParseError {
    /// Byte offset in the text where the problem was found.
    pub offset: usize,
    /// What went wrong.
    pub message: String,
}

/// How deeply tuples, lists and maps may nest.
const MAX_DEPTH: usize = 512;

/// The most bits the binaries of one text may hold together (16 MiB).
const MAX_BINARY_BITS: u64 = 1 << 27;

/// The most digits an integer literal may have (a bound on the quadratic cost of base conversion).
const MAX_INT_DIGITS: usize = 1 << 16;

type Result<T> = std::result::Result<T, ParseError>;

impl FromStr for Term {
    type Err = ParseError;

    /// Reads one term, optionally followed by `.`: `"{ok, [1,2,3]}".parse::<Term>()`.
    fn from_str(s: &str) -> Result<Term> {
        let mut p = Parser::new(s);
        let term = p.term(0)?;
        p.skip_space();
        if p.peek() == Some('.') {
            p.pos += 1;
            p.skip_space();
        }
        match p.peek() {
            None => Ok(term),
            Some(c) => Err(p.err(format!("unexpected {c:?} after the term"))),
        }
    }
}

impl Term {
    /// Reads a sequence of terms each ending with `.`, as `file:consult/1` reads a file.
    ///
    /// ```
    /// use erlnode_etf::Term;
    /// let terms = Term::parse_all("{a, 1}.\n% a comment\n[b].\n").unwrap();
    /// assert_eq!(terms, vec!["{a,1}".parse().unwrap(), "[b]".parse().unwrap()]);
    /// ```
    pub fn parse_all(text: &str) -> std::result::Result<Vec<Term>, ParseError> {
        let mut p = Parser::new(text);
        let mut terms = Vec::new();
        loop {
            p.skip_space();
            if p.peek().is_none() {
                return Ok(terms);
            }
            terms.push(p.term(0)?);
            p.skip_space();
            if p.peek() != Some('.') {
                return Err(p.err("expected `.` after the term"));
            }
            p.pos += 1;
            // Erlang's full stop is a `.` followed by whitespace, a comment or the end.
            match p.peek() {
                Some(c) if !is_space(c) && c != '%' => return Err(p.err(format!("unexpected {c:?} after `.`"))),
                _ => {}
            }
        }
    }
}

/// Erlang's whitespace: every character up to space, and Latin-1's C1 controls and no-break space.
fn is_space(c: char) -> bool {
    c <= ' ' || ('\u{80}'..='\u{a0}').contains(&c)
}

fn err_at(offset: usize, message: impl Into<String>) -> ParseError {
    ParseError { offset, message: message.into() }
}

/// The value of an integer literal's digits (each below `base`), as `Int` or `Big`.
fn integer_from_digits(negative: bool, digits: &[u8], base: u32) -> Term {
    let base = u64::from(base);
    let mut limbs: Vec<u32> = Vec::new();
    // Take as many digits at a time as fit in one limb, to do fewer passes over the limbs.
    let mut chunk = 0u64;
    let mut scale = 1u64;
    // limbs = limbs * scale + chunk, where scale and chunk are below 2^32.
    fn flush(limbs: &mut Vec<u32>, chunk: u64, scale: u64) {
        let mut carry = chunk;
        for limb in limbs.iter_mut() {
            let cur = u64::from(*limb) * scale + carry;
            *limb = cur as u32;
            carry = cur >> 32;
        }
        if carry != 0 {
            limbs.push(carry as u32);
        }
    }
    for &d in digits {
        if scale * base > u64::from(u32::MAX) {
            flush(&mut limbs, chunk, scale);
            chunk = 0;
            scale = 1;
        }
        chunk = chunk * base + u64::from(d);
        scale *= base;
    }
    flush(&mut limbs, chunk, scale);
    let bytes: Vec<u8> = limbs.iter().flat_map(|l| l.to_le_bytes()).collect();
    Term::integer(BigInt::from_le_bytes(negative, &bytes))
}

/// An integer's sign and little-endian magnitude.
fn int_parts(t: &Term) -> Option<(bool, Vec<u8>)> {
    match t {
        Term::Int(i) => Some((*i < 0, i.unsigned_abs().to_le_bytes().to_vec())),
        Term::Big(b) => Some((b.is_negative(), b.magnitude().to_vec())),
        _ => None,
    }
}

/// The low `8 * len` bits of an integer in two's complement, little-endian.
fn twos_complement(negative: bool, magnitude: &[u8], len: usize) -> Vec<u8> {
    let mut out = vec![0u8; len];
    let n = magnitude.len().min(len);
    out[..n].copy_from_slice(&magnitude[..n]);
    if negative {
        let mut carry = true;
        for b in out.iter_mut() {
            let (v, c) = (!*b).overflowing_add(u8::from(carry));
            *b = v;
            carry = c;
        }
    }
    out
}

/// Bits appended one segment at a time, most significant first.
#[derive(Default)]
struct BitWriter {
    bytes: Vec<u8>,
    bits: usize,
}

impl BitWriter {
    /// Appends the low `n` (0 to 8) bits of `value`.
    fn push(&mut self, value: u8, n: usize) {
        if n == 0 {
            return;
        }
        let value = if n >= 8 { value } else { value & ((1u8 << n) - 1) };
        let used = self.bits % 8;
        if used == 0 {
            self.bytes.push(value << (8 - n.min(8)));
        } else if let Some(last) = self.bytes.last_mut() {
            let free = 8 - used;
            if n <= free {
                *last |= value << (free - n);
            } else {
                *last |= value >> (n - free);
                self.bytes.push(value << (8 - (n - free)));
            }
        }
        self.bits += n;
    }

    fn finish(self) -> Term {
        let tail = (self.bits % 8) as u8;
        if tail == 0 {
            return Term::Binary(Bytes::from(self.bytes));
        }
        match BitString::new(Bytes::from(self.bytes), tail) {
            Some(b) => Term::Bits(b),
            None => Term::Binary(Bytes::new()),
        }
    }
}

/// The type of a binary segment.
#[derive(Clone, Copy, PartialEq, Eq)]
enum SegmentType {
    Integer,
    Utf8,
    Utf16,
    Utf32,
}

/// A segment's value: one integer, or the characters of a string (each a segment of its own).
enum SegmentValue {
    Int(Term),
    Chars(Vec<char>),
}

struct Parser<'a> {
    src: &'a str,
    pos: usize,
    /// Bits the binaries read so far hold together.
    binary_bits: u64,
}

impl<'a> Parser<'a> {
    fn new(src: &'a str) -> Parser<'a> {
        Parser { src, pos: 0, binary_bits: 0 }
    }

    fn rest(&self) -> &'a str {
        self.src.get(self.pos..).unwrap_or("")
    }

    fn peek(&self) -> Option<char> {
        self.rest().chars().next()
    }

    fn peek2(&self) -> Option<char> {
        self.rest().chars().nth(1)
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += c.len_utf8();
        Some(c)
    }

    fn eat(&mut self, s: &str) -> bool {
        if self.rest().starts_with(s) {
            self.pos += s.len();
            true
        } else {
            false
        }
    }

    fn expect(&mut self, s: &str) -> Result<()> {
        if self.eat(s) {
            return Ok(());
        }
        Err(match self.peek() {
            Some(c) => self.err(format!("expected `{s}`, found {c:?}")),
            None => self.err(format!("expected `{s}`, found the end of the text")),
        })
    }

    fn err(&self, message: impl Into<String>) -> ParseError {
        err_at(self.pos, message)
    }

    /// Skips whitespace and `%` comments.
    fn skip_space(&mut self) {
        while let Some(c) = self.peek() {
            if is_space(c) {
                self.pos += c.len_utf8();
            } else if c == '%' {
                let line = self.rest();
                self.pos += line.find('\n').unwrap_or(line.len());
            } else {
                break;
            }
        }
    }

    fn term(&mut self, depth: usize) -> Result<Term> {
        self.skip_space();
        let start = self.pos;
        let Some(c) = self.peek() else {
            return Err(self.err("expected a term, found the end of the text"));
        };
        match c {
            '{' | '[' if depth >= MAX_DEPTH => Err(self.err(format!("terms nest more than {MAX_DEPTH} deep"))),
            '#' if depth >= MAX_DEPTH && self.rest().starts_with("#{") => {
                Err(self.err(format!("terms nest more than {MAX_DEPTH} deep")))
            }
            '{' => {
                self.pos += 1;
                self.sequence('}', depth).map(Term::Tuple)
            }
            '[' => self.list(depth),
            '#' => self.hash_form(depth),
            '<' if self.rest().starts_with("<<") => self.binary(),
            '<' => self.pid(),
            '"' => Ok(chars_term(&self.string()?)),
            '\'' => self.quoted_atom().map(Term::Atom),
            '0'..='9' | '$' => self.number(false),
            '-' | '+' => {
                self.pos += 1;
                self.skip_space();
                match self.peek() {
                    Some('0'..='9' | '$') => self.number(c == '-'),
                    _ => Err(self.err(format!("expected a number after `{c}`"))),
                }
            }
            c if is_atom_start(c) => {
                let name = self.bare_name();
                match name {
                    "fun" => self.export(),
                    "maybe" | "else" => self.atom_at(start, name).map(Term::Atom),
                    _ if is_reserved_word(name) => {
                        Err(err_at(start, format!("`{name}` is a reserved word; write the atom as '{name}'")))
                    }
                    _ => self.atom_at(start, name).map(Term::Atom),
                }
            }
            c if c == '_' || c.is_uppercase() => Err(self.err("a variable is not a term")),
            c => Err(self.err(format!("unexpected {c:?}"))),
        }
    }

    /// Terms separated by `,` up to `close`, the opening bracket already read.
    fn sequence(&mut self, close: char, depth: usize) -> Result<Vec<Term>> {
        let mut items = Vec::new();
        self.skip_space();
        if self.peek() == Some(close) {
            self.pos += 1;
            return Ok(items);
        }
        loop {
            items.push(self.term(depth + 1)?);
            self.skip_space();
            match self.peek() {
                Some(',') => self.pos += 1,
                Some(c) if c == close => {
                    self.pos += 1;
                    return Ok(items);
                }
                _ => return Err(self.err(format!("expected `,` or `{close}`"))),
            }
        }
    }

    fn list(&mut self, depth: usize) -> Result<Term> {
        self.pos += 1;
        let mut items = Vec::new();
        self.skip_space();
        if self.eat("]") {
            return Ok(Term::NIL);
        }
        loop {
            items.push(self.term(depth + 1)?);
            self.skip_space();
            if self.eat(",") {
                continue;
            }
            if self.eat("]") {
                return Ok(Term::List(items));
            }
            if self.eat("|") {
                let tail = self.term(depth + 1)?;
                self.skip_space();
                self.expect("]")?;
                return Ok(Term::improper(items, tail));
            }
            return Err(self.err("expected `,`, `|` or `]`"));
        }
    }

    /// `#{...}`, `#Port<...>`, `#Ref<...>`.
    fn hash_form(&mut self, depth: usize) -> Result<Term> {
        if self.eat("#{") {
            return self.map(depth);
        }
        if self.eat("#Port<") {
            let node = self.node()?;
            self.expect(".")?;
            let id = self.id("port number")?;
            self.expect(">")?;
            return Ok(Term::Port(Port::new(node, id, 0)));
        }
        if self.eat("#Ref<") {
            let node = self.node()?;
            let mut words = Vec::new();
            while self.eat(".") {
                if words.len() == crate::MAX_REF_WORDS {
                    return Err(self.err(format!("a reference has at most {} numbers", crate::MAX_REF_WORDS)));
                }
                words.push(self.id("reference number")?);
            }
            self.expect(">")?;
            words.reverse();
            return Ref::new(node, 0, &words).map(Term::Ref).ok_or_else(|| self.err("a reference needs numbers"));
        }
        if self.rest().starts_with("#Fun<") {
            return Err(self.err("a closure (#Fun<...>) cannot be read back"));
        }
        Err(self.err("expected `#{`, `#Port<` or `#Ref<`"))
    }

    fn map(&mut self, depth: usize) -> Result<Term> {
        let mut entries = Vec::new();
        self.skip_space();
        if self.eat("}") {
            return Ok(Term::Map(Map::new()));
        }
        loop {
            let key = self.term(depth + 1)?;
            self.skip_space();
            self.expect("=>")?;
            let value = self.term(depth + 1)?;
            entries.push((key, value));
            self.skip_space();
            if self.eat(",") {
                continue;
            }
            if self.eat("}") {
                // A later duplicate key wins, as in an Erlang map expression.
                return Ok(Term::Map(entries.into_iter().collect()));
            }
            return Err(self.err("expected `,` or `}`"));
        }
    }

    /// `<node.Id.Serial>`.
    fn pid(&mut self) -> Result<Term> {
        self.pos += 1;
        let node = self.node()?;
        self.expect(".")?;
        let id = self.id("process number")?;
        self.expect(".")?;
        let serial = self.id("serial")?;
        self.expect(">")?;
        Ok(Term::Pid(Pid::new(node, id, serial, 0)))
    }

    /// The node atom at the start of a pid, port or reference.
    fn node(&mut self) -> Result<Atom> {
        self.any_atom("expected a node name (an atom, such as name@host)")
    }

    /// A quoted or bare atom, reserved words included (pid nodes and the parts of `fun M:F/A`).
    fn any_atom(&mut self, expected: &str) -> Result<Atom> {
        let start = self.pos;
        match self.peek() {
            Some('\'') => self.quoted_atom(),
            Some(c) if is_atom_start(c) => {
                let name = self.bare_name();
                self.atom_at(start, name)
            }
            _ => Err(self.err(expected)),
        }
    }

    /// A decimal number inside a pid, port or reference.
    fn id<T: TryFrom<u64>>(&mut self, what: &str) -> Result<T> {
        let start = self.pos;
        let digits = self.rest().bytes().take_while(u8::is_ascii_digit).count();
        let text = self.rest().get(..digits).unwrap_or("");
        self.pos += digits;
        if text.is_empty() {
            return Err(err_at(start, format!("expected a {what}")));
        }
        text.parse::<u64>()
            .ok()
            .and_then(|v| T::try_from(v).ok())
            .ok_or_else(|| err_at(start, format!("{what} {text} is out of range")))
    }

    /// `fun M:F/A`, after `fun`.
    fn export(&mut self) -> Result<Term> {
        let module = self.export_part()?;
        self.skip_space();
        self.expect(":")?;
        let function = self.export_part()?;
        self.skip_space();
        self.expect("/")?;
        self.skip_space();
        let start = self.pos;
        let arity = match self.peek() {
            Some('0'..='9') => self.number(false)?,
            _ => return Err(self.err("expected the arity")),
        };
        let arity = arity
            .as_i64()
            .and_then(|a| u8::try_from(a).ok())
            .ok_or_else(|| err_at(start, "an arity is an integer from 0 to 255"))?;
        Ok(Term::Export(Export::new(module, function, arity)))
    }

    fn export_part(&mut self) -> Result<Atom> {
        self.skip_space();
        // Erlang prints `fun m:receive/0` with reserved words bare, so they are read here too.
        self.any_atom("expected `fun Module:Function/Arity`")
    }

    /// The name characters from here on.
    fn bare_name(&mut self) -> &'a str {
        let rest = self.rest();
        let len = rest.find(|c: char| !is_name_char(c)).unwrap_or(rest.len());
        self.pos += len;
        rest.get(..len).unwrap_or("")
    }

    fn atom_at(&self, start: usize, name: &str) -> Result<Atom> {
        Atom::try_new(name).map_err(|e| err_at(start, e.to_string()))
    }

    fn quoted_atom(&mut self) -> Result<Atom> {
        let start = self.pos;
        let chars = self.quoted('\'')?;
        let name: String = chars.into_iter().collect();
        self.atom_at(start, &name)
    }

    /// A string literal, joined with any string literals that follow it.
    fn string(&mut self) -> Result<Vec<char>> {
        let mut chars = self.quoted('"')?;
        loop {
            let before = self.pos;
            self.skip_space();
            if self.peek() == Some('"') {
                chars.extend(self.quoted('"')?);
            } else {
                self.pos = before;
                return Ok(chars);
            }
        }
    }

    /// The characters between `quote`s, escapes resolved.
    fn quoted(&mut self, quote: char) -> Result<Vec<char>> {
        let start = self.pos;
        self.pos += quote.len_utf8();
        let mut chars = Vec::new();
        loop {
            match self.bump() {
                None => return Err(err_at(start, "unterminated quoted text")),
                Some(c) if c == quote => return Ok(chars),
                Some('\\') => chars.push(self.escape()?),
                Some(c) => chars.push(c),
            }
        }
    }

    /// The character an escape sequence stands for, after its `\`.
    fn escape(&mut self) -> Result<char> {
        let start = self.pos - 1;
        let Some(c) = self.bump() else {
            return Err(err_at(start, "unterminated escape sequence"));
        };
        let code: u32 = match c {
            'b' => 8,
            'd' => 127,
            'e' => 27,
            'f' => 12,
            'n' => 10,
            'r' => 13,
            's' => 32,
            't' => 9,
            'v' => 11,
            '0'..='7' => {
                let mut code = c as u32 - u32::from(b'0');
                for _ in 0..2 {
                    match self.peek() {
                        Some(d @ '0'..='7') => {
                            code = code * 8 + (d as u32 - u32::from(b'0'));
                            self.pos += 1;
                        }
                        _ => break,
                    }
                }
                code
            }
            'x' => {
                let digits = if self.eat("{") {
                    let rest = self.rest();
                    let len = rest.find('}').ok_or_else(|| err_at(start, "unterminated \\x{...}"))?;
                    let digits = rest.get(..len).unwrap_or("");
                    self.pos += len + 1;
                    digits
                } else {
                    let rest = self.rest();
                    let len = rest.bytes().take(2).take_while(u8::is_ascii_hexdigit).count();
                    self.pos += len;
                    if len < 2 {
                        return Err(err_at(start, "\\x needs two hexadecimal digits or {...}"));
                    }
                    rest.get(..len).unwrap_or("")
                };
                if digits.is_empty() || digits.len() > 8 || !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
                    return Err(err_at(start, "bad hexadecimal escape"));
                }
                u32::from_str_radix(digits, 16).map_err(|_| err_at(start, "bad hexadecimal escape"))?
            }
            // OTP 25 reads `\^C` as the low five bits of C.
            '^' => match self.bump() {
                Some(c) => u32::from(c) & 31,
                None => return Err(err_at(start, "unterminated escape sequence")),
            },
            c => u32::from(c),
        };
        char::from_u32(code).ok_or_else(|| err_at(start, format!("{code:#x} is not a Unicode character")))
    }

    /// An integer or float, the sign already read: `42`, `1_000`, `16#ff`, `$a`, `1.5e3`.
    fn number(&mut self, negative: bool) -> Result<Term> {
        let start = self.pos;
        if self.eat("$") {
            let c = match self.bump() {
                Some('\\') => self.escape()?,
                Some(c) => c,
                None => return Err(err_at(start, "expected a character after `$`")),
            };
            let code = i64::from(u32::from(c));
            return Ok(Term::Int(if negative { -code } else { code }));
        }
        let whole = self.digits(10)?;
        if self.peek() == Some('#') {
            let base: u32 = whole
                .iter()
                .try_fold(0u32, |acc, &d| acc.checked_mul(10).and_then(|v| v.checked_add(u32::from(d))))
                .filter(|b| (2..=36).contains(b))
                .ok_or_else(|| err_at(start, "a base is from 2 to 36"))?;
            self.pos += 1;
            let digits = self.digits(base)?;
            return Ok(integer_from_digits(negative, &digits, base));
        }
        if self.peek() == Some('.') && self.peek2().is_some_and(|c| c.is_ascii_digit()) {
            self.pos += 1;
            self.digits(10)?;
            if matches!(self.peek(), Some('e' | 'E')) {
                let mark = self.pos;
                self.pos += 1;
                if matches!(self.peek(), Some('+' | '-')) {
                    self.pos += 1;
                }
                if self.peek().is_some_and(|c| c.is_ascii_digit()) {
                    self.digits(10)?;
                } else {
                    self.pos = mark;
                }
            }
            let text: String = self.src.get(start..self.pos).unwrap_or("").chars().filter(|&c| c != '_').collect();
            let v: f64 = text.parse().map_err(|_| err_at(start, "bad float"))?;
            if !v.is_finite() {
                return Err(err_at(start, "float out of range"));
            }
            return Ok(Term::Float(if negative { -v } else { v }));
        }
        Ok(integer_from_digits(negative, &whole, 10))
    }

    /// Digits of `base` with single `_` between them; their values.
    fn digits(&mut self, base: u32) -> Result<Vec<u8>> {
        let start = self.pos;
        let mut out = Vec::new();
        while let Some(c) = self.peek() {
            if let Some(d) = c.to_digit(base) {
                out.push(d as u8);
                self.pos += 1;
            } else if c == '_' && !out.is_empty() && self.peek2().and_then(|n| n.to_digit(base)).is_some() {
                self.pos += 1;
            } else {
                break;
            }
            if out.len() > MAX_INT_DIGITS {
                return Err(err_at(start, format!("more than {MAX_INT_DIGITS} digits")));
            }
        }
        if out.is_empty() {
            return Err(err_at(start, format!("expected a base-{base} digit")));
        }
        Ok(out)
    }

    /// `<<Segment, ...>>`.
    fn binary(&mut self) -> Result<Term> {
        self.pos += 2;
        let mut out = BitWriter::default();
        self.skip_space();
        if self.eat(">>") {
            return Ok(Term::Binary(Bytes::new()));
        }
        loop {
            self.segment(&mut out)?;
            self.skip_space();
            if self.eat(",") {
                continue;
            }
            if self.eat(">>") {
                return Ok(out.finish());
            }
            return Err(self.err("expected `,` or `>>`"));
        }
    }

    /// One segment: `Value[:Size][/Type-Specifiers]`.
    fn segment(&mut self, out: &mut BitWriter) -> Result<()> {
        self.skip_space();
        let start = self.pos;
        let value = match self.peek() {
            Some('"') => SegmentValue::Chars(self.string()?),
            Some('0'..='9' | '$') => SegmentValue::Int(self.number(false)?),
            Some(c @ ('-' | '+')) => {
                self.pos += 1;
                self.skip_space();
                match self.peek() {
                    Some('0'..='9' | '$') => SegmentValue::Int(self.number(c == '-')?),
                    _ => return Err(self.err(format!("expected a number after `{c}`"))),
                }
            }
            _ => return Err(self.err("a binary segment here is an integer or a string")),
        };
        if let SegmentValue::Int(Term::Float(_)) = value {
            return Err(err_at(start, "float segments are not supported"));
        }
        self.skip_space();
        let size = if self.eat(":") {
            self.skip_space();
            let at = self.pos;
            if !self.peek().is_some_and(|c| c.is_ascii_digit()) {
                return Err(self.err("expected a segment size"));
            }
            let size = self.number(false)?;
            Some(size.as_i64().and_then(|s| u64::try_from(s).ok()).ok_or_else(|| err_at(at, "bad segment size"))?)
        } else {
            None
        };
        self.skip_space();
        let mut kind = SegmentType::Integer;
        let mut little = false;
        if self.eat("/") {
            loop {
                self.skip_space();
                let at = self.pos;
                match self.bare_name() {
                    "integer" => kind = SegmentType::Integer,
                    "utf8" => kind = SegmentType::Utf8,
                    "utf16" => kind = SegmentType::Utf16,
                    "utf32" => kind = SegmentType::Utf32,
                    "big" => little = false,
                    "little" => little = true,
                    "native" => little = cfg!(target_endian = "little"),
                    "signed" | "unsigned" => {}
                    "" => return Err(self.err("expected a type specifier")),
                    other => return Err(err_at(at, format!("unsupported type specifier `{other}`"))),
                }
                self.skip_space();
                if !self.eat("-") {
                    break;
                }
            }
        }
        if kind != SegmentType::Integer && size.is_some() {
            return Err(err_at(start, "a utf segment takes no size"));
        }
        let size = size.unwrap_or(8);
        match value {
            SegmentValue::Int(v) => self.put(out, &v, kind, size, little, start),
            SegmentValue::Chars(chars) => {
                for c in chars {
                    self.put(out, &Term::Int(i64::from(u32::from(c))), kind, size, little, start)?;
                }
                Ok(())
            }
        }
    }

    /// Appends one integer or character as a segment of `kind`.
    fn put(
        &mut self,
        out: &mut BitWriter,
        v: &Term,
        kind: SegmentType,
        size: u64,
        little: bool,
        at: usize,
    ) -> Result<()> {
        let Some((negative, magnitude)) = int_parts(v) else {
            return Err(err_at(at, "a binary segment value must be an integer"));
        };
        if kind == SegmentType::Integer {
            return self.put_int(out, negative, &magnitude, size, little, at);
        }
        let c = v
            .as_i64()
            .and_then(|c| u32::try_from(c).ok())
            .and_then(char::from_u32)
            .ok_or_else(|| err_at(at, "not a Unicode character"))?;
        let code = u64::from(u32::from(c));
        match kind {
            SegmentType::Utf8 => {
                let mut buf = [0u8; 4];
                for &b in c.encode_utf8(&mut buf).as_bytes() {
                    self.put_int(out, false, &[b], 8, false, at)?;
                }
                Ok(())
            }
            SegmentType::Utf16 => {
                let mut buf = [0u16; 2];
                for &unit in c.encode_utf16(&mut buf).iter() {
                    self.put_int(out, false, &unit.to_le_bytes(), 16, little, at)?;
                }
                Ok(())
            }
            _ => self.put_int(out, false, &code.to_le_bytes(), 32, little, at),
        }
    }

    /// Appends the low `size` bits of an integer, big- or little-endian.
    fn put_int(
        &mut self,
        out: &mut BitWriter,
        negative: bool,
        magnitude: &[u8],
        size: u64,
        little: bool,
        at: usize,
    ) -> Result<()> {
        self.binary_bits = self.binary_bits.saturating_add(size);
        if self.binary_bits > MAX_BINARY_BITS {
            return Err(err_at(at, format!("binaries over {} bytes are not supported", MAX_BINARY_BITS / 8)));
        }
        let size = size as usize;
        let whole = size / 8;
        let partial = size % 8;
        let bytes = twos_complement(negative, magnitude, whole + usize::from(partial > 0));
        if little {
            // Whole bytes from the least significant, then the remaining high bits.
            for &b in bytes.iter().take(whole) {
                out.push(b, 8);
            }
            if let Some(&b) = bytes.get(whole).filter(|_| partial > 0) {
                out.push(b, partial);
            }
        } else {
            if let Some(&b) = bytes.get(whole).filter(|_| partial > 0) {
                out.push(b, partial);
            }
            for &b in bytes.iter().take(whole).rev() {
                out.push(b, 8);
            }
        }
        Ok(())
    }
}

/// The term for a string's characters: a charlist when all are below 256, else a list of code points.
fn chars_term(chars: &[char]) -> Term {
    if chars.is_empty() {
        return Term::NIL;
    }
    let text: String = chars.iter().collect();
    Term::charlist(&text)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Term {
        match s.parse::<Term>() {
            Ok(t) => t,
            Err(e) => panic!("{s:?} did not parse: {e}"),
        }
    }

    fn fails(s: &str) -> ParseError {
        match s.parse::<Term>() {
            Ok(t) => panic!("{s:?} parsed as {t:?}"),
            Err(e) => e,
        }
    }

    fn int(v: i64) -> Term {
        Term::Int(v)
    }

    fn bin(bytes: &[u8]) -> Term {
        Term::Binary(Bytes::copy_from_slice(bytes))
    }

    fn bits(bytes: &[u8], tail: u8) -> Term {
        match BitString::new(Bytes::copy_from_slice(bytes), tail) {
            Some(b) => Term::Bits(b),
            None => panic!("bad bitstring"),
        }
    }

    fn node() -> Atom {
        Atom::new("demo@localhost")
    }

    #[test]
    fn integers() {
        assert_eq!(parse("42"), int(42));
        assert_eq!(parse("-7"), int(-7));
        assert_eq!(parse("- 7"), int(-7));
        assert_eq!(parse("+7"), int(7));
        assert_eq!(parse("1_000_000"), int(1_000_000));
        assert_eq!(parse("16#FF"), int(255));
        assert_eq!(parse("16#ff_ff"), int(65535));
        assert_eq!(parse("-16#10"), int(-16));
        assert_eq!(parse("2#1010"), int(10));
        assert_eq!(parse("36#zz"), int(1295));
        assert_eq!(parse("$a"), int(97));
        assert_eq!(parse("-$a"), int(-97));
        assert_eq!(parse("$\\n"), int(10));
        assert_eq!(parse("$ "), int(32));
        assert_eq!(parse("$é"), int(233));
        assert_eq!(parse("$😀"), int(128512));
        assert_eq!(parse("$\\x41"), int(65));
        assert_eq!(parse("$\\x{1F600}"), int(128512));
        assert_eq!(parse("$\\101"), int(65));
        assert_eq!(parse("$\\^a"), int(1));
        assert_eq!(parse("$\\^?"), int(31));
        assert_eq!(parse("$\\'"), int(39));
        assert_eq!(parse("9223372036854775807"), int(i64::MAX));
        assert_eq!(parse("-9223372036854775808"), int(i64::MIN));
        assert!(matches!(parse("-9223372036854775808"), Term::Int(_)));
        let big = "123456789012345678901234567890123456789012345678901234567890";
        assert_eq!(parse(big), Term::Big(big.parse().unwrap_or_else(|_| panic!("bigint"))));
        assert_eq!(parse(&format!("-{big}")).to_string(), format!("-{big}"));
        assert_eq!(parse("16#FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF"), Term::from(u128::MAX));
        assert_eq!(parse("18446744073709551616"), Term::from(1u128 << 64));
    }

    #[test]
    fn floats() {
        assert_eq!(parse("1.5"), Term::Float(1.5));
        assert_eq!(parse("1.0e10"), Term::Float(1.0e10));
        assert_eq!(parse("2.5E-3"), Term::Float(2.5e-3));
        assert_eq!(parse("1.0e+2"), Term::Float(100.0));
        assert_eq!(parse("1_0.0_1e1_0"), Term::Float(10.01e10));
        assert_eq!(parse("5.0e-324"), Term::Float(5.0e-324));
        let neg_zero = parse("-0.0");
        assert!(matches!(neg_zero, Term::Float(f) if f == 0.0 && f.is_sign_negative()));
        assert!(matches!(parse("0.0"), Term::Float(f) if f.is_sign_positive()));
        assert!(fails("1.0e400").message.contains("range"));
    }

    #[test]
    fn atoms() {
        assert_eq!(parse("ok"), Term::atom("ok"));
        assert_eq!(parse("a_B@1"), Term::atom("a_B@1"));
        assert_eq!(parse("héllo"), Term::atom("héllo"));
        assert_eq!(parse("'hello world'"), Term::atom("hello world"));
        assert_eq!(parse("'A'"), Term::atom("A"));
        assert_eq!(parse("''"), Term::atom(""));
        assert_eq!(parse("'a\\'b'"), Term::atom("a'b"));
        assert_eq!(parse("'a\\nb\\tc\\\\d'"), Term::atom("a\nb\tc\\d"));
        assert_eq!(parse("'\\e\\v\\b\\f\\r\\d\\s'"), Term::atom("\u{1b}\u{b}\u{8}\u{c}\r\u{7f} "));
        assert_eq!(parse("'\\001\\200\\237'"), Term::atom("\u{1}\u{80}\u{9f}"));
        assert_eq!(parse("'😀'"), Term::atom("😀"));
        assert_eq!(parse("'after'"), Term::atom("after"));
        assert_eq!(parse("maybe"), Term::atom("maybe"));
        assert_eq!(parse("funny"), Term::atom("funny"));
        assert_eq!(parse("true"), Term::bool(true));
        assert!(fails("after").message.contains("reserved"));
        assert!(fails("Var").message.contains("variable"));
        assert!(fails("_").message.contains("variable"));
        assert!(fails(&format!("'{}'", "a".repeat(256))).message.contains("255"));
        assert_eq!(parse(&format!("'{}'", "é".repeat(255))), Term::atom(&"é".repeat(255)));
    }

    #[test]
    fn strings() {
        assert_eq!(parse("\"abc\""), Term::charlist("abc"));
        assert_eq!(parse("\"\""), Term::NIL);
        assert_eq!(parse("\"a\\nb\\\"c'\""), Term::charlist("a\nb\"c'"));
        assert_eq!(parse("\"ab\" \"cd\""), Term::charlist("abcd"));
        assert_eq!(parse("\"ab\" % comment\n \"cd\""), Term::charlist("abcd"));
        assert_eq!(parse("\"é\""), Term::charlist("é"));
        assert!(matches!(parse("\"é\""), Term::Charlist(_)));
        assert_eq!(parse("\"a😀\""), Term::list(vec![int(97), int(128512)]));
        assert_eq!(parse("\"\\x{10FFFF}\""), Term::list(vec![int(0x10FFFF)]));
        assert_eq!(parse("\"\\x41G\""), Term::charlist("AG"));
        assert_eq!(parse("\"\\101\\1012\""), Term::charlist("AA2"));
        assert_eq!(parse("\"\\q\""), Term::charlist("q"));
        assert_eq!(parse("\"multi\nline\""), Term::charlist("multi\nline"));
        assert!(fails("\"\\x{D800}\"").message.contains("Unicode"));
        assert!(fails("\"\\x{110000}\"").message.contains("Unicode"));
        assert!(fails("\"abc").message.contains("unterminated"));
    }

    #[test]
    fn binaries() {
        assert_eq!(parse("<<>>"), bin(b""));
        assert_eq!(parse("<< >>"), bin(b""));
        assert_eq!(parse("<<1,2,3>>"), bin(&[1, 2, 3]));
        assert_eq!(parse("<<\"abc\">>"), bin(b"abc"));
        assert_eq!(parse("<<\"ab\", 0, $c>>"), bin(b"ab\0c"));
        assert_eq!(parse("<<\"é\"/utf8>>"), bin("é".as_bytes()));
        assert_eq!(parse("<<\"é\">>"), bin(&[233]));
        assert_eq!(parse("<<\"é😀\">>"), bin(&[233, 0]));
        assert_eq!(parse("<<\"ab\":16>>"), bin(&[0, 97, 0, 98]));
        assert_eq!(parse("<<233/utf8>>"), bin("é".as_bytes()));
        assert_eq!(parse("<<233/utf16-little>>"), bin(&[233, 0]));
        assert_eq!(parse("<<16#1F600/utf16>>"), bin(&[0xd8, 0x3d, 0xde, 0x00]));
        assert_eq!(parse("<<\"a\"/utf32>>"), bin(&[0, 0, 0, 97]));
        assert_eq!(parse("<<256:16>>"), bin(&[1, 0]));
        assert_eq!(parse("<<256:16/little>>"), bin(&[0, 1]));
        assert_eq!(parse("<<-1>>"), bin(&[255]));
        assert_eq!(parse("<<-1:16/signed>>"), bin(&[255, 255]));
        assert_eq!(parse("<<300>>"), bin(&[44]));
        assert_eq!(parse("<<1:0>>"), bin(b""));
        assert_eq!(parse("<<16#FFFFFFFFFFFFFFFFFF:72>>"), bin(&[255; 9]));
        assert_eq!(parse("<<1:3>>"), bits(&[32], 3));
        assert_eq!(parse("<<1,2:4>>"), bits(&[1, 32], 4));
        assert_eq!(parse("<<1,2,3:4>>"), bits(&[1, 2, 0x30], 4));
        assert_eq!(parse("<<1:4, 2:4>>"), bin(&[0x12]));
        assert_eq!(parse("<<5:3, 255>>"), bits(&[0xbf, 0xe0], 3));
        // Checked against OTP 25.
        assert_eq!(parse("<<16#ABC:12/little>>"), bits(&[0xbc, 0xa0], 4));
        assert_eq!(parse("<<16#ABCDE:20/little>>"), bits(&[0xde, 0xbc, 0xa0], 4));
        assert_eq!(parse("<<-1:12>>"), bits(&[255, 0xf0], 4));
        assert_eq!(parse("<<-1:70>>"), bits(&[255, 255, 255, 255, 255, 255, 255, 255, 0xfc], 6));
        assert!(fails("<<1.5>>").message.contains("float"));
        assert!(fails("<<a>>").message.contains("segment"));
        assert!(fails("<<\"a\":8/utf8>>").message.contains("size"));
        assert!(fails("<<1/binary>>").message.contains("binary"));
        assert!(fails("<<1:99999999999>>").message.contains("bytes"));
        assert!(fails("<<1:99999999999999999999999>>").message.contains("size"));
        assert!(fails("<<-1:1/utf8>>").message.contains("size"));
        assert!(fails("<<-1/utf8>>").message.contains("Unicode"));
    }

    #[test]
    fn containers() {
        assert_eq!(parse("{}"), Term::tuple(vec![]));
        assert_eq!(parse("{ a , 1 }"), Term::tuple(vec![Term::atom("a"), int(1)]));
        assert_eq!(parse("[]"), Term::NIL);
        assert_eq!(parse("[1,2,3]"), Term::list(vec![int(1), int(2), int(3)]));
        assert_eq!(parse("[1,2|3]"), Term::improper(vec![int(1), int(2)], int(3)));
        assert!(matches!(parse("[1|2]"), Term::Improper(..)));
        assert_eq!(parse("[1|[2,3]]"), Term::list(vec![int(1), int(2), int(3)]));
        assert_eq!(parse("[$a|\"bc\"]"), Term::charlist("abc"));
        assert_eq!(parse("[1|[]]"), Term::list(vec![int(1)]));
        assert_eq!(parse("#{}"), Term::Map(Map::new()));
        let m = parse("#{b => 2, a => 1, a => 3}");
        let expected: Map = [(Term::atom("a"), int(3)), (Term::atom("b"), int(2))].into_iter().collect();
        assert_eq!(m, Term::Map(expected));
        assert_eq!(parse("#{[1] => {x}}").to_string(), "#{[1] => {x}}");
    }

    #[test]
    fn identifiers() {
        assert_eq!(parse("<demo@localhost.42.0>"), Term::Pid(Pid::new(node(), 42, 0, 0)));
        assert_eq!(parse("<'a@b.c'.1.2>"), Term::Pid(Pid::new(Atom::new("a@b.c"), 1, 2, 0)));
        assert_eq!(parse("#Port<demo@localhost.7>"), Term::Port(Port::new(node(), 7, 0)));
        assert_eq!(parse("#Port<demo@localhost.18446744073709551615>"), Term::Port(Port::new(node(), u64::MAX, 0)));
        let r = Ref::new(node(), 0, &[1, 2, 3]).map(Term::Ref);
        assert_eq!(Some(parse("#Ref<demo@localhost.3.2.1>")), r);
        assert!(fails("#Ref<a@b>").message.contains("numbers"));
        assert!(fails("#Ref<a@b.1.2.3.4.5.6>").message.contains("at most"));
        assert!(fails("<a@b.4294967296.0>").message.contains("range"));
        assert!(fails("<0.42.0>").message.contains("node"));
        assert!(fails("#Fun<t.0.1>").message.contains("closure"));
        let e = Term::Export(Export::new(Atom::new("lists"), Atom::new("map"), 2));
        assert_eq!(parse("fun lists:map/2"), e);
        assert_eq!(parse("fun lists : map / 2"), e);
        let quoted = Term::Export(Export::new(Atom::new("A"), Atom::new("b c"), 255));
        assert_eq!(parse("fun 'A':'b c'/255"), quoted);
        // Erlang prints reserved words bare here (`fun m:receive/0`); Display quotes them.
        let reserved = Term::Export(Export::new(Atom::new("m"), Atom::new("receive"), 0));
        assert_eq!(parse("fun m:receive/0"), reserved);
        assert_eq!(parse("fun 'm':'receive'/0"), reserved);
        assert!(fails("fun a:b/256").message.contains("arity"));
        assert!(fails("fun a/1").message.contains(':'));
    }

    #[test]
    fn space_comments_and_full_stop() {
        assert_eq!(parse("  {a, % one\n  b}  % end\n"), Term::tuple(vec![Term::atom("a"), Term::atom("b")]));
        assert_eq!(parse("ok."), Term::atom("ok"));
        assert_eq!(parse("1. "), int(1));
        assert_eq!(parse("\u{a0}\t[1]\r\n. % x"), Term::list(vec![int(1)]));
        assert!(fails("ok. ok").message.contains("after"));
        assert!(fails("a.b").message.contains("after"));
        assert!(fails("").message.contains("end"));
        assert!(fails("% only a comment").message.contains("end"));
    }

    #[test]
    fn parse_all_reads_consult_files() {
        let text = "%% config\n{a, 1}.\n[1,2|3].\n\"x\". 1.5.\n#{k => <<\"v\">>}.  \n";
        let terms = Term::parse_all(text).unwrap_or_default();
        assert_eq!(terms.len(), 5);
        assert_eq!(terms[0], parse("{a,1}"));
        assert_eq!(terms[3], Term::Float(1.5));
        assert_eq!(Term::parse_all("").map(|v| v.len()), Ok(0));
        assert_eq!(Term::parse_all(" % nothing\n").map(|v| v.len()), Ok(0));
        assert_eq!(Term::parse_all("1.").map(|v| v.len()), Ok(1));
        assert!(Term::parse_all("a").is_err());
        assert!(Term::parse_all("a.b.").is_err());
        assert!(Term::parse_all("a. b").is_err());
        assert_eq!(Term::parse_all("a. b").map_err(|e| e.offset), Err(4));
    }

    #[test]
    fn depth_is_bounded() {
        let ok = format!("{}{}", "[".repeat(MAX_DEPTH), "]".repeat(MAX_DEPTH));
        assert!(ok.parse::<Term>().is_ok());
        let deep = format!("{}{}", "[".repeat(MAX_DEPTH + 1), "]".repeat(MAX_DEPTH + 1));
        assert!(fails(&deep).message.contains("nest"));
        assert!("{".repeat(100_000).parse::<Term>().is_err());
        assert!("#{".repeat(100_000).parse::<Term>().is_err());
    }

    #[test]
    fn garbage_is_an_error() {
        for s in [
            "{",
            "}",
            "[1,",
            "[1|",
            "[1|2",
            "[1|2,3]",
            "{1 2}",
            "#{a}",
            "#{a =>}",
            "#{a => 1,}",
            "<<1",
            "<<1,>>",
            "<<1:>>",
            "<<1/>>",
            "<<1/foo>>",
            "<<\"a\"",
            "#",
            "#Port<",
            "#Port<a@b.>",
            "#Ref<a@b.1",
            "<",
            "<a",
            "<a.1>",
            "<a.1.2",
            "<<<",
            "$",
            "$\\",
            "'abc",
            "'\\x{41'",
            "\"\\x4\"",
            "16#",
            "37#1",
            "0#1",
            "1__0",
            "1_",
            "16#G",
            "1.0e",
            "1.e5",
            "- a",
            "-",
            "+[]",
            "fun",
            "fun a",
            "fun a:b",
            "fun a:b/",
            "fun 1:b/2",
            "a b",
            "1 2",
            ")",
            "=>",
            "|",
            ",",
            ".",
            "\u{0}",
            "É",
            "ß\u{300}",
            "😀",
            "'\\",
            "\"\\^",
            "[a,,b]",
        ] {
            let e = fails(s);
            assert!(e.offset <= s.len(), "{s:?}: offset {} past the end", e.offset);
        }
    }

    #[test]
    fn no_panic_on_any_prefix_or_mutation() {
        let sample = "{ok, [1,2|3], <<\"hi\", 1:3>>, #{a => 'b c'}, $\\x{41}, \"s\\n\", 16#ff, -1.5e3, \
                      <a@b.1.2>, #Ref<a@b.3.2.1>, #Port<a@b.7>, fun m:f/2}.";
        for end in 0..=sample.len() {
            if let Some(prefix) = sample.get(..end) {
                let _ = prefix.parse::<Term>();
                let _ = Term::parse_all(prefix);
            }
        }
        let bytes = sample.as_bytes();
        for i in 0..bytes.len() {
            for replacement in [b'{', b'}', b'<', b'>', b'"', b'\'', b'\\', b'.', b'#', b'$', b':', b'/', b'|', b' '] {
                let mut mutated = bytes.to_vec();
                mutated[i] = replacement;
                if let Ok(text) = std::str::from_utf8(&mutated) {
                    let _ = text.parse::<Term>();
                }
            }
        }
    }

    fn sample_terms() -> Vec<Term> {
        let node = node();
        let mut map: Map = Map::new();
        map.insert(Term::atom("a"), int(1));
        map.insert(Term::charlist("key"), Term::tuple(vec![Term::Float(-0.0), Term::NIL]));
        map.insert(Term::from(1u128 << 100), Term::from("v"));
        vec![
            int(0),
            int(-1),
            int(i64::MIN),
            Term::from(u64::MAX),
            Term::from(-(1i128 << 120)),
            Term::Float(0.1 + 0.2),
            Term::Float(-0.0),
            Term::Float(1.0e100),
            Term::Float(5.0e-324),
            Term::Float(f64::MAX),
            Term::Float(123456.789),
            Term::atom("ok"),
            Term::atom(""),
            Term::atom("hello world"),
            Term::atom("It's"),
            Term::atom("a\\b\n\u{1}\u{7f}\u{80}\u{9f}\u{a0}ÿ😀"),
            Term::atom("after"),
            Term::atom("maybe"),
            Term::atom("héllo"),
            Term::atom("a@b.c"),
            Term::NIL,
            Term::charlist("hello\n\t\"world\"\u{1b}\u{b}\u{8}\u{c}\r"),
            Term::charlist("é ÿ"),
            Term::charlist("a😀"),
            Term::list(vec![int(0), int(1), int(127), int(128), int(159), int(256), int(-1)]),
            Term::improper(vec![int(1), int(2)], int(3)),
            Term::improper(vec![int(104), int(105)], Term::atom("x")),
            Term::improper(vec![Term::NIL], Term::from("b")),
            Term::tuple(vec![]),
            Term::tuple(vec![Term::tuple(vec![Term::atom("nested")]), Term::NIL]),
            Term::Map(Map::new()),
            Term::Map(map),
            bin(b""),
            bin(b"hi"),
            bin(b"with \"quotes\" and \\ and \n"),
            bin("é".as_bytes()),
            bin("é\u{a0}ÿ".as_bytes()),
            bin(&[233, 255]),
            bin("😀".as_bytes()),
            bin(&[0, 1, 2, 255]),
            bin(&[127]),
            bits(&[32], 3),
            bits(&[1, 2, 0x30], 4),
            bits(b"abc\x80", 1),
            bits(&[0xfe], 7),
            Term::Pid(Pid::new(node, 42, 0, 0)),
            Term::Pid(Pid::new(Atom::new("a@b.c"), u32::MAX, 3, 0)),
            Term::Port(Port::new(node, 7, 0)),
            Term::Port(Port::new(Atom::new("Node@Host"), u64::MAX, 0)),
            Ref::new(node, 0, &[1, 2, 3]).map(Term::Ref).unwrap_or_default(),
            Ref::new(node, 0, &[u32::MAX; 5]).map(Term::Ref).unwrap_or_default(),
            Ref::new(Atom::new("x"), 0, &[9]).map(Term::Ref).unwrap_or_default(),
            Term::Export(Export::new(Atom::new("lists"), Atom::new("map"), 2)),
            Term::Export(Export::new(Atom::new("Elixir.Enum"), Atom::new("map"), 0)),
            Term::Export(Export::new(Atom::new("m"), Atom::new("receive"), 255)),
        ]
    }

    #[test]
    fn display_then_parse_is_the_identity() {
        let all = sample_terms();
        for t in all.iter().chain([&Term::list(all.clone()), &Term::tuple(all.clone())]) {
            let text = t.to_string();
            let back = match text.parse::<Term>() {
                Ok(back) => back,
                Err(e) => panic!("{text:?} did not parse back: {e}"),
            };
            assert_eq!(&back, t, "{text}");
            assert_eq!(back.to_string(), text);
            if let (Term::Float(a), Term::Float(b)) = (t, &back) {
                assert_eq!(a.to_bits(), b.to_bits(), "{text}");
            }
        }
    }

    #[test]
    fn display_matches_erlang_for_a_mixed_term() {
        // `io:format("~tp", [T])` in OTP 25, with the node index replaced by the node name.
        let t = parse(
            "{ok, [1, 2, 3], <<\"hi\">>, #{a => 1}, \"str\", [], 'A b', 1.0e15, 0.1, -0.0, <<1:3>>, \
             [a|b], <<\"é\"/utf8>>, <<233>>, <<240,159,152,128>>, [256], {}, 16#FF}",
        );
        assert_eq!(
            t.to_string(),
            "{ok,[1,2,3],<<\"hi\">>,#{a => 1},\"str\",[],'A b',1.0e15,0.1,-0.0,<<1:3>>,[a|b],\
             <<\"é\"/utf8>>,<<\"é\">>,<<240,159,152,128>>,[256],{},255}"
        );
    }
}
