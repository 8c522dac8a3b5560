//! Property tests: for generated terms, decoding what was encoded gives the same term back, with every
//! encoder option, and the decoder never panics on arbitrary or mutated input.

use bytes::Bytes;
use erlnode_etf::{Atom, BigInt, BitString, Decoder, Encoder, Export, Fun, Map, Pid, Port, Ref, Term};
use proptest::prelude::*;

fn atom() -> impl Strategy<Value = Atom> {
    prop_oneof![
        Just(Atom::new("ok")),
        Just(Atom::new("")),
        "[a-z][a-zA-Z0-9_@]{0,12}".prop_map(|s| Atom::new(&s)),
        "\\PC{0,8}".prop_map(|s| Atom::new(&s)),
        Just(Atom::new(&"😀".repeat(255))),
        Just(Atom::new(&"é".repeat(255))),
    ]
}

fn node() -> impl Strategy<Value = Atom> {
    prop_oneof![Just(Atom::new("a@localhost")), Just(Atom::new("nonode@nohost")), Just(Atom::new("b@h.example"))]
}

fn leaf() -> impl Strategy<Value = Term> {
    prop_oneof![
        any::<i64>().prop_map(Term::Int),
        (0i64..=255).prop_map(Term::Int),
        any::<i128>().prop_map(Term::from),
        (any::<bool>(), prop::collection::vec(any::<u8>(), 0..300))
            .prop_map(|(neg, digits)| Term::integer(BigInt::from_le_bytes(neg, &digits))),
        any::<f64>().prop_filter("finite", |f| f.is_finite()).prop_map(Term::Float),
        Just(Term::Float(-0.0)),
        atom().prop_map(Term::Atom),
        prop::collection::vec(any::<u8>(), 0..64).prop_map(|b| Term::Binary(Bytes::from(b))),
        (prop::collection::vec(any::<u8>(), 1..16), 1u8..=7).prop_filter_map("bits", |(b, n)| BitString::new(
            Bytes::from(b),
            n
        )
        .map(Term::Bits)),
        prop::collection::vec(any::<u8>(), 0..64).prop_map(|b| Term::Charlist(Bytes::from(b))),
        (node(), any::<u32>(), any::<u32>(), any::<u32>()).prop_map(|(n, i, s, c)| Term::Pid(Pid::new(n, i, s, c))),
        (node(), any::<u64>(), any::<u32>()).prop_map(|(n, i, c)| Term::Port(Port::new(n, i, c))),
        (node(), any::<u32>(), prop::collection::vec(any::<u32>(), 1..=5))
            .prop_filter_map("ref", |(n, c, ids)| Ref::new(n, c, &ids).map(Term::Ref)),
        (atom(), atom(), any::<u8>()).prop_map(|(m, f, a)| Term::Export(Export::new(m, f, a))),
        Just(Term::NIL),
    ]
}

fn term() -> impl Strategy<Value = Term> {
    leaf().prop_recursive(6, 256, 12, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..12).prop_map(Term::Tuple),
            prop::collection::vec(inner.clone(), 0..12).prop_map(Term::List),
            (prop::collection::vec(inner.clone(), 1..6), inner.clone()).prop_map(|(h, t)| Term::improper(h, t)),
            prop::collection::vec((inner.clone(), inner.clone()), 0..10)
                .prop_map(|kv| Term::Map(kv.into_iter().collect::<Map>())),
            (atom(), any::<u8>(), any::<[u8; 16]>(), any::<u32>(), any::<u32>(), any::<u32>(), node()).prop_flat_map(
                move |(module, arity, uniq, index, old_index, old_uniq, n)| {
                    prop::collection::vec(inner.clone(), 0..4).prop_map(move |free_vars| {
                        Term::from(Fun {
                            module,
                            arity,
                            uniq,
                            index,
                            old_index,
                            old_uniq,
                            pid: Pid::new(n, 1, 0, 1),
                            free_vars,
                        })
                    })
                }
            ),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn encode_then_decode_is_identity(t in term()) {
        let bytes = t.encode().expect("encodable");
        prop_assert_eq!(&Term::decode(&bytes).expect("decodable"), &t);
        prop_assert_eq!(&Term::decode_bytes(&Bytes::from(bytes)).expect("decodable"), &t);
    }

    #[test]
    fn every_encoder_option_round_trips(t in term(), level in 0u32..=9) {
        let utf8 = Encoder::new().utf8_atoms(true).encode(&t).expect("encodable");
        prop_assert_eq!(&Term::decode(&utf8).expect("decodable"), &t);
        let packed = Encoder::new().compressed(level).encode(&t).expect("encodable");
        prop_assert_eq!(&Term::decode(&packed).expect("decodable"), &t);
    }

    #[test]
    fn body_decoding_reports_its_length(t in term(), trailing in prop::collection::vec(any::<u8>(), 0..8)) {
        let mut body = Vec::new();
        Encoder::new().encode_body(&t, &mut body).expect("encodable");
        let len = body.len();
        body.extend(trailing);
        let (decoded, used) = Decoder::new().decode_body(&body).expect("decodable");
        prop_assert_eq!(used, len);
        prop_assert_eq!(decoded, t);
    }

    #[test]
    fn arbitrary_bytes_never_panic(mut bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        let _ = Term::decode(&bytes);
        bytes.insert(0, 131);
        let _ = Term::decode(&bytes);
    }

    #[test]
    fn mutated_encodings_never_panic(t in term(), flips in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4), cut in any::<prop::sample::Index>()) {
        let mut bytes = t.encode().expect("encodable");
        for (at, value) in flips {
            let i = at.index(bytes.len());
            bytes[i] = value;
        }
        let _ = Term::decode(&bytes);
        bytes.truncate(cut.index(bytes.len() + 1));
        let _ = Term::decode(&bytes);
    }

    #[test]
    fn equal_terms_hash_alike(t in term()) {
        use std::hash::{Hash, Hasher};
        let again = Term::decode(&t.encode().expect("encodable")).expect("decodable");
        let h = |x: &Term| { let mut s = std::collections::hash_map::DefaultHasher::new(); x.hash(&mut s); s.finish() };
        prop_assert_eq!(h(&t), h(&again));
    }
}
