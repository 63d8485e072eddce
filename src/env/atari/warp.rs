//! baselines' `WarpFrame` (`common/atari_wrappers.py`): `cv2.cvtColor(frame,
//! cv2.COLOR_RGB2GRAY)` then `cv2.resize(frame, (84, 84), interpolation=cv2.INTER_AREA)`,
//! reproduced bit for bit as OpenCV 4.14 computes it (`../shared/env-conformance/FORMAT.md`,
//! "warp(o)"): the fixed-point grey conversion, then the area resampling's tables and its
//! float32 row-then-column accumulation, rounded half to even.

use super::ale::{SCREEN_H, SCREEN_W};

/// Side of the warped frame.
pub const SIZE: usize = 84;

/// One entry of an area-resampling table: output index, source index, weight.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Tap {
    dst: usize,
    src: usize,
    w: f32,
}

/// OpenCV's `computeResizeAreaTab` for `s` source pixels onto `d` (float64 coordinates,
/// weights rounded to float32).
fn area_table(s: usize, d: usize) -> Vec<Tap> {
    let scale = s as f64 / d as f64;
    let mut taps = Vec::with_capacity(3 * d);
    for dx in 0..d {
        let f1 = dx as f64 * scale;
        let f2 = f1 + scale;
        let cw = scale.min(s as f64 - f1);
        let mut s1 = f1.ceil() as usize;
        let s2 = (f2.floor() as usize).min(s - 1);
        s1 = s1.min(s2);
        if s1 as f64 - f1 > 1e-3 {
            taps.push(Tap { dst: dx, src: s1 - 1, w: ((s1 as f64 - f1) / cw) as f32 });
        }
        for sx in s1..s2 {
            taps.push(Tap { dst: dx, src: sx, w: (1.0 / cw) as f32 });
        }
        if f2 - s2 as f64 > 1e-3 {
            taps.push(Tap { dst: dx, src: s2, w: ((f2 - s2 as f64).min(1.0).min(cw) / cw) as f32 });
        }
    }
    taps
}

/// The grey conversion and both tables, made once per environment.
#[derive(Debug, Clone)]
pub struct Warp {
    cols: Vec<Tap>,
    rows: Vec<Tap>,
    grey: Vec<u8>,
    buf: Vec<f32>,
}

impl Default for Warp {
    fn default() -> Self {
        Self::new()
    }
}

impl Warp {
    pub fn new() -> Self {
        Self {
            cols: area_table(SCREEN_W, SIZE),
            rows: area_table(SCREEN_H, SIZE),
            grey: vec![0; SCREEN_W * SCREEN_H],
            buf: vec![0.0; SCREEN_H * SIZE],
        }
    }

    /// OpenCV's RGB2GRAY for 8-bit images: `(9798 R + 19235 G + 3735 B + 2^14) >> 15`.
    pub fn grey(r: u8, g: u8, b: u8) -> u8 {
        ((9798 * u32::from(r) + 19235 * u32::from(g) + 3735 * u32::from(b) + 16384) >> 15) as u8
    }

    /// Warps one 210x160 RGB screen into an 84x84 grey frame.
    pub fn apply(&mut self, rgb: &[u8], out: &mut [u8]) {
        assert_eq!(rgb.len(), SCREEN_W * SCREEN_H * 3);
        assert_eq!(out.len(), SIZE * SIZE);
        for (g, p) in self.grey.iter_mut().zip(rgb.chunks_exact(3)) {
            *g = Self::grey(p[0], p[1], p[2]);
        }
        // Horizontal pass: every source row onto 84 columns, taps in table order.
        for y in 0..SCREEN_H {
            let src = &self.grey[y * SCREEN_W..(y + 1) * SCREEN_W];
            let row = &mut self.buf[y * SIZE..(y + 1) * SIZE];
            row.fill(0.0);
            for t in &self.cols {
                // Separate multiply and add, each rounded to float32 (no FMA: Rust never
                // contracts `a * b + c` on its own).
                let p = f32::from(src[t.src]) * t.w;
                row[t.dst] += p;
            }
        }
        // Vertical pass, accumulated per output row in table order.
        let mut acc = [0f32; SIZE];
        let mut current = usize::MAX;
        let flush = |dy: usize, acc: &[f32; SIZE], out: &mut [u8]| {
            for (o, a) in out[dy * SIZE..(dy + 1) * SIZE].iter_mut().zip(acc) {
                *o = a.round_ties_even().clamp(0.0, 255.0) as u8;
            }
        };
        for t in &self.rows {
            if t.dst != current {
                if current != usize::MAX {
                    flush(current, &acc, out);
                }
                current = t.dst;
                acc = [0.0; SIZE];
            }
            let src = &self.buf[t.src * SIZE..(t.src + 1) * SIZE];
            for (a, b) in acc.iter_mut().zip(src) {
                let p = t.w * *b;
                *a += p;
            }
        }
        flush(current, &acc, out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_have_the_sizes_of_format_md() {
        let c = area_table(160, 84);
        let r = area_table(210, 84);
        assert_eq!(c.len(), 240);
        assert_eq!(r.len(), 252);
        for t in [&c, &r] {
            for d in 0..84 {
                let n = t.iter().filter(|x| x.dst == d).count();
                assert!((1..=3).contains(&n), "{n} taps for {d}");
                let sum: f64 = t.iter().filter(|x| x.dst == d).map(|x| f64::from(x.w)).sum();
                assert!((sum - 1.0).abs() < 1e-5, "weights of {d} sum to {sum}");
            }
        }
    }

    #[test]
    fn grey_matches_opencv_on_corners() {
        assert_eq!(Warp::grey(0, 0, 0), 0);
        assert_eq!(Warp::grey(255, 255, 255), 255);
        // 9798*255 + 16384 >> 15 = 76.74.. -> 76
        assert_eq!(Warp::grey(255, 0, 0), 76);
        assert_eq!(Warp::grey(0, 255, 0), 150);
        assert_eq!(Warp::grey(0, 0, 255), 29);
    }

    #[test]
    fn a_flat_screen_stays_flat() {
        let mut w = Warp::new();
        let rgb = vec![100u8; SCREEN_W * SCREEN_H * 3];
        let mut out = vec![0u8; SIZE * SIZE];
        w.apply(&rgb, &mut out);
        assert!(out.iter().all(|&v| v == 100), "{:?}", &out[..8]);
    }
}
