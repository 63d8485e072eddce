//! Pixel conformance: every case in `golden/pixels/` (recorded from Gymnasium 1.4.0 /
//! MuJoCo 3.17.0 by `golden/gen/record_pixel_cases.py`) replays to identical frames.
#![cfg(feature = "pixels")]

use acktr::conformance::pixels::{case_files, load_case, run_case};

mod common;

#[test]
fn every_pixel_case_draws_gymnasiums_frames() {
    let dir = common::repo().join("golden/pixels");
    let files = case_files(&dir).unwrap();
    assert!(files.len() >= 7, "{} cases in {}", files.len(), dir.display());
    let mut failed = Vec::new();
    for f in &files {
        let case = load_case(f).unwrap();
        match run_case(&case) {
            Ok(()) => println!("pixel case {}: ok", case.name),
            Err(e) => {
                println!("pixel case {}: {e}", case.name);
                failed.push(case.name);
            }
        }
    }
    assert!(failed.is_empty(), "pixel cases that differ: {failed:?}");
}

/// The replay can fail: one byte of one recorded frame changed is found, and named.
#[test]
fn a_frame_one_byte_off_is_caught() {
    use base64::Engine as _;
    let mut case = load_case(&common::repo().join("golden/pixels/reacher_free_fast.json")).unwrap();
    let frame = &mut case.segments[1].frames[3];
    let mut bytes = base64::engine::general_purpose::STANDARD.decode(&frame.rgb).unwrap();
    bytes[42 * 3 * 20 + 3 * 7 + 1] ^= 1;
    frame.rgb = base64::engine::general_purpose::STANDARD.encode(&bytes);
    let e = run_case(&case).unwrap_err();
    assert!(e.contains("segment 1") && e.contains("frame 3") && e.contains("row 20, column 7") && e.contains("1 of 5292 bytes"), "{e}");
}
