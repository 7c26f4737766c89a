//! A venue push sent uncompressed: any bytes as the body of `POST /api/v1/sync/venues`. Its
//! decompression is the visit push's, which `push_zstd` covers.
#![no_main]

use doorstep_server::fuzzing::{Encoding, venue_push};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|body: &[u8]| {
    let outcome = venue_push(body, Encoding::Identity);
    doorstep_fuzz::check_push(Some(body), &outcome);
});
