//! A visit push sent with `Content-Encoding: zstd`. The first byte chooses what the rest is:
//!
//! - 0 (and any value but 1 and 2): the compressed body as sent, so that corrupt, truncated,
//!   lying (a declared size that is not the real one) and bomb frames reach the decoder;
//! - 1: a plain body, compressed here with its size declared (as the phones send it: the
//!   decoder's one-shot path);
//! - 2: a plain body, compressed here as a stream without its size (the decoder's streaming
//!   path).
//!
//! For 1 and 2 the answer must be the same as for the plain body sent uncompressed.
#![no_main]

use std::io::{Read, Write};

use doorstep_server::fuzzing::{Encoding, limits, visit_push};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    match mode {
        1 | 2 => {
            let body = if mode == 1 {
                zstd::bulk::compress(rest, 1).expect("compressing in memory")
            } else {
                let mut enc = zstd::stream::write::Encoder::new(Vec::new(), 1).expect("an encoder");
                enc.write_all(rest).expect("compressing in memory");
                enc.finish().expect("compressing in memory")
            };
            let outcome = visit_push(&body, Encoding::Zstd);
            doorstep_fuzz::check_push(Some(rest), &outcome);
            if rest.len() <= limits().max_decompressed_bytes {
                assert_eq!(outcome, visit_push(rest, Encoding::Identity), "compressed or not, a body is read the same");
            }
        }
        _ => {
            let outcome = visit_push(rest, Encoding::Zstd);
            // What the frames hold, decoded here on their own, when that is a whole body.
            let mut plain = Vec::new();
            let whole = zstd::stream::read::Decoder::new(rest)
                .is_ok_and(|d| d.take(limits().max_decompressed_bytes as u64 + 1).read_to_end(&mut plain).is_ok())
                && plain.len() <= limits().max_decompressed_bytes;
            doorstep_fuzz::check_push(whole.then_some(plain.as_slice()), &outcome);
        }
    }
});
