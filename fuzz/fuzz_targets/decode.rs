//! Feeds arbitrary bytes to the ETF decoder, standalone and as a distribution-frame body with an atom cache.
//! Whatever decodes must encode and decode back to an equal term.
#![no_main]

use bytes::Bytes;
use erlnode_etf::{Atom, Decoder, Encoder, Term};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let input = Bytes::copy_from_slice(data);
    if let Ok(term) = Term::decode_bytes(&input) {
        check_round_trip(&term);
    }
    let cache = [Atom::OK, Atom::ERROR, Atom::UNDEFINED];
    if let Ok((term, used)) = Decoder::new().atom_cache(&cache).decode_body(data) {
        assert!(used <= data.len());
        check_round_trip(&term);
    }
});

fn check_round_trip(term: &Term) {
    let bytes = term.encode().expect("a decoded term encodes");
    let again = Term::decode(&bytes).expect("an encoded term decodes");
    assert_eq!(&again, term);
    let packed = Encoder::new().compressed(1).encode(term).expect("a decoded term encodes compressed");
    assert_eq!(&Term::decode(&packed).expect("a compressed term decodes"), term);
}
