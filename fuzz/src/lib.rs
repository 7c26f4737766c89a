//! What every push target checks of what the server made of a body, besides not panicking.
//! A failed check panics, which libFuzzer reports as a crash and saves the input.

use doorstep_server::fuzzing::{Record, Refusal, limits};
use serde::de::IgnoredAny;

#[derive(serde::Deserialize)]
struct Sent {
    records: Vec<IgnoredAny>,
}

/// A batch refused whole gets a 4xx with a code and a message in both languages.
pub fn check_refusal(r: &Refusal) {
    assert!((400..500).contains(&r.status), "a refusal's status is 4xx: {r:?}");
    assert!(!r.code.is_empty(), "a refusal has a code: {r:?}");
    assert!(!r.vi.trim().is_empty() && !r.en.trim().is_empty(), "both messages: {r:?}");
    if let Some(field) = &r.field {
        assert!(!field.is_empty(), "a named field is not empty: {r:?}");
    }
}

/// Checks a push's outcome. `plain`: the body as the server read it after decompression, when
/// the target knows it, to count the envelope's records independently.
pub fn check_push(plain: Option<&[u8]>, outcome: &Result<Vec<Record>, Refusal>) {
    let records = match outcome {
        Err(refusal) => return check_refusal(refusal),
        Ok(records) => records,
    };
    assert!(records.len() <= limits().max_records_per_push, "{} records read past the limit", records.len());
    if let Some(plain) = plain {
        // One outcome per record sent, in order. Counted on their own: the records are skipped
        // here, not read, because one the server cannot read (a lone surrogate escape, say) is
        // still a record of the batch, refused on its own.
        let sent: Sent = serde_json::from_slice(plain).expect("a batch that was read has a records array");
        assert_eq!(records.len(), sent.records.len(), "one outcome per record sent");
    }
    for r in records {
        match r {
            Record::Valid { id, canonical_stable } => {
                assert!(!id.is_empty(), "a stored record has an id");
                assert!(
                    canonical_stable,
                    "record {id}: its canonical form does not validate to the same record and hash"
                );
            }
            Record::Refused { refusal, .. } => {
                check_refusal(refusal);
                assert!(
                    refusal.field.as_deref().is_some_and(|f| !f.trim().is_empty()),
                    "a refused record names its field: {refusal:?}"
                );
            }
        }
    }
}
