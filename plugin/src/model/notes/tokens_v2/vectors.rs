//! The shared vectors that tokens.py also passes (`models/notes2/vectors.json`): every encode,
//! decode, attribute, quantization and error case, each failure reported by case name.

use super::*;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::fmt::Debug;

const VECTORS: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../models/notes2/vectors.json"
));

type JsonParts = BTreeMap<String, Vec<[i64; 4]>>;

#[derive(Deserialize)]
struct Vectors {
    vocab_version: u32,
    vocab_size: usize,
    ticks_per_quarter: u32,
    encode: Vec<EncodeCase>,
    decode: Vec<DecodeCase>,
    attrs: Vec<AttrsCase>,
    quantize: Vec<QuantizeCase>,
    errors: Vec<ErrorCase>,
}

#[derive(Deserialize)]
struct EncodeCase {
    name: String,
    ts: (u32, u32),
    tags: Vec<String>,
    header: Option<Vec<(String, Vec<String>)>>,
    num_bars: Option<u32>,
    mode: String,
    parts: JsonParts,
    expected_ids: Vec<u32>,
    expected_names: Vec<String>,
    expected_decoded: JsonParts,
}

#[derive(Deserialize)]
struct DecodeCase {
    name: String,
    ts: (u32, u32),
    ids: Vec<i64>,
    names: Vec<Option<String>>,
    prompt_len: usize,
    expected_parts: JsonParts,
}

#[derive(Deserialize)]
struct AttrsCase {
    name: String,
    ts: (u32, u32),
    role: String,
    num_bars: u32,
    notes: Vec<[i64; 4]>,
    expected_attrs: Vec<String>,
}

#[derive(Deserialize)]
struct QuantizeCase {
    name: String,
    ppq: u32,
    notes: Vec<[i64; 4]>,
    expected: Vec<[i64; 4]>,
}

#[derive(Deserialize)]
struct ErrorCase {
    name: String,
    ts: (u32, u32),
}

fn load() -> Vectors {
    serde_json::from_str(VECTORS).expect("models/notes2/vectors.json parses")
}

fn to_notes(rows: &[[i64; 4]]) -> Vec<Note> {
    rows.iter()
        .map(|&[s, d, p, v]| Note::new(s, d, p as i32, v as i32))
        .collect()
}

fn to_parts(json: &JsonParts) -> Result<Parts, TokenError> {
    json.iter()
        .map(|(role, rows)| Ok((Role::from_name(role)?, to_notes(rows))))
        .collect()
}

fn ids_to_names(ids: &[u32]) -> Vec<String> {
    let name_of = |&id| vocab::name(id).unwrap_or("<out of range>").to_string();
    ids.iter().map(name_of).collect()
}

/// Collects every mismatch so one run reports all failing cases by name.
#[derive(Default)]
struct Failures(Vec<String>);

impl Failures {
    fn check<T: PartialEq + Debug>(&mut self, what: &str, got: T, want: T) {
        if got != want {
            self.0
                .push(format!("{what}:\n  got  {got:?}\n  want {want:?}"));
        }
    }

    fn report(self, num_cases: usize) {
        assert!(num_cases > 0, "no cases in vectors.json");
        assert!(
            self.0.is_empty(),
            "{} failure(s) of {num_cases} case(s):\n{}",
            self.0.len(),
            self.0.join("\n")
        );
    }
}

#[test]
fn header_matches_this_vocabulary() {
    let v = load();
    assert_eq!(v.vocab_version, VOCAB_VERSION);
    assert_eq!(v.vocab_size, VOCAB_SIZE);
    assert_eq!(v.ticks_per_quarter, TICKS_PER_QUARTER);
    let num_cases = v.encode.len() + v.decode.len() + v.attrs.len();
    assert_eq!(num_cases + v.quantize.len() + v.errors.len(), 47);
}

#[test]
fn encode_cases() {
    let v = load();
    let mut failures = Failures::default();
    for c in &v.encode {
        let ts = TimeSig {
            num: c.ts.0,
            den: c.ts.1,
        };
        let globals = Globals::from_names(&c.tags);
        let parsed = to_parts(&c.parts).and_then(|parts| {
            let header = c
                .header
                .as_ref()
                .map(|h| {
                    h.iter()
                        .map(|(role, attrs)| HeaderEntry::from_names(role, attrs))
                        .collect::<Result<Vec<_>, _>>()
                })
                .transpose()?;
            Ok((parts, header))
        });
        let (parts, header) = match parsed {
            Ok(parsed) => parsed,
            Err(e) => {
                failures.0.push(format!("encode {}: bad case: {e}", c.name));
                continue;
            }
        };
        let header = header.as_deref();
        let ids = match c.mode.as_str() {
            "full" => encode(&parts, ts, &globals, header, c.num_bars),
            "prompt" => encode_prompt(&parts, ts, &globals, header, c.num_bars),
            other => panic!("encode {}: unknown mode {other:?}", c.name),
        };
        failures.check(
            &format!("encode ids {}", c.name),
            ids.as_ref(),
            Ok(&c.expected_ids),
        );
        failures.check(
            &format!("encode names {}", c.name),
            ids_to_names(&c.expected_ids),
            c.expected_names.clone(),
        );
        failures.check(
            &format!("decode of encode {}", c.name),
            decode(&c.expected_ids, ts),
            to_parts(&c.expected_decoded),
        );
        if c.mode == "full" {
            failures.check(
                &format!("round trip (quantized) {}", c.name),
                quantized(&parts, ts, c.num_bars),
                to_parts(&c.expected_decoded),
            );
        }
    }
    failures.report(v.encode.len());
}

#[test]
fn decode_cases() {
    let v = load();
    let mut failures = Failures::default();
    for c in &v.decode {
        let ts = TimeSig {
            num: c.ts.0,
            den: c.ts.1,
        };
        let names: Vec<Option<&str>> = c
            .ids
            .iter()
            .map(|&id| u32::try_from(id).ok().and_then(vocab::name))
            .collect();
        let want_names: Vec<Option<&str>> = c.names.iter().map(Option::as_deref).collect();
        failures.check(&format!("decode names {}", c.name), names, want_names);
        let (prompt, generated) = c.ids.split_at(c.prompt_len.min(c.ids.len()));
        failures.check(
            &format!("decode {}", c.name),
            decode_continuation(prompt, generated, ts),
            to_parts(&c.expected_parts),
        );
    }
    failures.report(v.decode.len());
}

#[test]
fn attrs_cases() {
    let v = load();
    let mut failures = Failures::default();
    for c in &v.attrs {
        let ts = TimeSig {
            num: c.ts.0,
            den: c.ts.1,
        };
        let got = Role::from_name(&c.role).and_then(|role| {
            let attrs = derive_part_attrs(role, &to_notes(&c.notes), ts, c.num_bars)?;
            Ok(ids_to_names(&attrs.ids(role)))
        });
        failures.check(
            &format!("attrs {}", c.name),
            got,
            Ok(c.expected_attrs.clone()),
        );
    }
    failures.report(v.attrs.len());
}

#[test]
fn quantize_cases() {
    let v = load();
    let mut failures = Failures::default();
    for c in &v.quantize {
        let Some(ppq) = std::num::NonZeroU32::new(c.ppq) else {
            failures.0.push(format!("quantize {}: ppq 0", c.name));
            continue;
        };
        let source: Vec<SourceNote> = c
            .notes
            .iter()
            .map(|&[start, end, pitch, vel]| SourceNote {
                start_ticks: start,
                end_ticks: end,
                pitch: pitch as i32,
                velocity: vel as i32,
            })
            .collect();
        failures.check(
            &format!("quantize {}", c.name),
            quantize_notes(&source, ppq),
            to_notes(&c.expected),
        );
    }
    failures.report(v.quantize.len());
}

#[test]
fn error_cases() {
    let v = load();
    let mut failures = Failures::default();
    for c in &v.errors {
        let (num, den) = c.ts;
        let ts = TimeSig { num, den };
        let err = TokenError::UnsupportedTimeSig { num, den };
        let name = &c.name;
        let globals = Globals::default();
        failures.check(
            &format!("TimeSig::new {name}"),
            TimeSig::new(num, den),
            Err(err.clone()),
        );
        failures.check(
            &format!("encode {name}"),
            encode(&Parts::new(), ts, &globals, None, None),
            Err(err.clone()),
        );
        failures.check(
            &format!("encode_prompt {name}"),
            encode_prompt(&Parts::new(), ts, &globals, None, Some(1)),
            Err(err.clone()),
        );
        failures.check(
            &format!("decode {name}"),
            decode(&[1u32, 3, 2], ts),
            Err(err.clone()),
        );
        failures.check(
            &format!("Decoder::new {name}"),
            Decoder::new(ts).map(|_| ()),
            Err(err.clone()),
        );
    }
    failures.report(v.errors.len());
}
