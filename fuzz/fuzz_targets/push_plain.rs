//! A visit push sent uncompressed: any bytes as the body of `POST /api/v1/sync/push`.
#![no_main]

use doorstep_server::fuzzing::{Encoding, visit_push};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|body: &[u8]| {
    let outcome = visit_push(body, Encoding::Identity);
    doorstep_fuzz::check_push(Some(body), &outcome);
});
