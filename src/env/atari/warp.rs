//! baselines' `WarpFrame` (`common/atari_wrappers.py`): `cv2.cvtColor(frame,
//! cv2.COLOR_RGB2GRAY)` then `cv2.resize(frame, (84, 84), interpolation=cv2.INTER_AREA)`,
//! reproduced bit for bit as OpenCV 4.14 computes it (`../shared/env-conformance/FORMAT.md`,
//! "warp(o)"): the fixed-point grey conversion, then the area resampling's tables and its
//! float32 row-then-column accumulation, rounded half to even.
//!
//! Every output element is computed with exactly the float32 operations of FORMAT.md in
//! their order (each product rounded, then added; no fused multiply-add). The tables are
//! laid out per output index, padded to three taps with weight 0 after the real ones:
//! every sum is of non-negative terms, so an added `+0.0` (= `0 * x`) changes nothing and
//! the leading `0 +` of the accumulation is the first product itself.
//!
//! [`Warp::apply_indexed`] warps the max-pool of two palette-index screens through a
//! [`super::palette::Palette`]'s pooled grey table, and keeps what it computed: a source row
//! whose two index rows are those of the previous call keeps its horizontal pass, and an
//! output row none of whose source rows changed keeps its value. Both are pure functions of
//! those index rows, so the result is the same as computing everything again.

use super::ale::{SCREEN_H, SCREEN_W};
use super::palette::POOL_LEN;

/// Side of the warped frame.
pub const SIZE: usize = 84;
/// Taps of an output index, at most (FORMAT.md: at most 3 per dx).
const TAPS: usize = 3;
const PIXELS: usize = SCREEN_W * SCREEN_H;

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

/// A table per output index, in table order, padded with weight-0 taps on the last source.
#[derive(Debug, Clone)]
struct Padded<S> {
    src: [[S; TAPS]; SIZE],
    w: [[f32; TAPS]; SIZE],
}

fn padded<S: Copy + Default + TryFrom<usize>>(table: &[Tap]) -> Padded<S>
where
    S::Error: std::fmt::Debug,
{
    let mut p = Padded { src: [[S::default(); TAPS]; SIZE], w: [[0.0; TAPS]; SIZE] };
    for d in 0..SIZE {
        let taps: Vec<&Tap> = table.iter().filter(|t| t.dst == d).collect();
        assert!((1..=TAPS).contains(&taps.len()), "{} taps for {d}", taps.len());
        for k in 0..TAPS {
            let t = taps[k.min(taps.len() - 1)];
            p.src[d][k] = S::try_from(t.src).expect("source index fits");
            p.w[d][k] = if k < taps.len() { t.w } else { 0.0 };
        }
    }
    p
}

/// `x` rounded half to even, clamped to 0..255, for `0 <= x < 2^23`: adding 2^23 rounds to an
/// integer (the float32 spacing there is 1) in the default rounding mode, ties to even,
/// exactly as `round_ties_even`; subtracting it again is exact.
#[inline(always)]
fn round_u8(x: f32) -> u8 {
    const BIG: f32 = 8_388_608.0;
    debug_assert!((0.0..BIG).contains(&x));
    ((x + BIG) - BIG).clamp(0.0, 255.0) as u8
}

/// Whether two equally long byte rows are equal (a branch-free, vectorisable compare).
#[inline(always)]
pub(super) fn same_row(a: &[u8], b: &[u8]) -> bool {
    let mut d = 0u64;
    for (x, y) in a.chunks_exact(8).zip(b.chunks_exact(8)) {
        d |= u64::from_ne_bytes(x.try_into().unwrap()) ^ u64::from_ne_bytes(y.try_into().unwrap());
    }
    d == 0 && a.chunks_exact(8).remainder() == b.chunks_exact(8).remainder()
}

/// The grey conversion and both tables, made once per environment, with the work buffers and
/// [`Self::apply_indexed`]'s memory of its last input.
#[derive(Debug, Clone)]
pub struct Warp {
    /// Column taps; sources as `u8` index a 256-long row, so no bounds check is needed.
    cols: Padded<u8>,
    rows: Padded<usize>,
    /// One grey source row as float32 (160 used).
    line: [f32; 256],
    /// The horizontal pass: 210 rows of 84.
    h: Vec<f32>,
    /// `apply_indexed`'s last input (two index screens) and output; `valid` once it holds one.
    last_a: Vec<u8>,
    last_b: Vec<u8>,
    last_out: Vec<u8>,
    valid: bool,
    dirty: [bool; SCREEN_H],
}

impl Default for Warp {
    fn default() -> Self {
        Self::new()
    }
}

impl Warp {
    pub fn new() -> Self {
        assert!(SCREEN_W <= 256);
        Self {
            cols: padded(&area_table(SCREEN_W, SIZE)),
            rows: padded(&area_table(SCREEN_H, SIZE)),
            line: [0.0; 256],
            h: vec![0.0; SCREEN_H * SIZE],
            last_a: vec![0; PIXELS],
            last_b: vec![0; PIXELS],
            last_out: vec![0; SIZE * SIZE],
            valid: false,
            dirty: [true; SCREEN_H],
        }
    }

    /// OpenCV's RGB2GRAY for 8-bit images: `(9798 R + 19235 G + 3735 B + 2^14) >> 15`.
    pub fn grey(r: u8, g: u8, b: u8) -> u8 {
        ((9798 * u32::from(r) + 19235 * u32::from(g) + 3735 * u32::from(b) + 16384) >> 15) as u8
    }

    /// Horizontal pass of `self.line` into row `y` of `self.h`: for each column entry in
    /// order, `buf[y][dx] += float(g[y][sx]) * w`.
    #[inline(always)]
    fn h_row(&mut self, y: usize) {
        let line = &self.line;
        let row = &mut self.h[y * SIZE..(y + 1) * SIZE];
        for ((o, s), w) in row.iter_mut().zip(&self.cols.src).zip(&self.cols.w) {
            let p0 = line[usize::from(s[0])] * w[0];
            let p1 = line[usize::from(s[1])] * w[1];
            let p2 = line[usize::from(s[2])] * w[2];
            *o = (p0 + p1) + p2;
        }
    }

    /// Vertical pass for output row `dy` into `out` (84 bytes): for each row entry in order,
    /// `acc[dx] += w * buf[sy][dx]`, then rounded.
    #[inline(always)]
    fn v_row(&self, dy: usize, out: &mut [u8]) {
        let s = self.rows.src[dy];
        let w = self.rows.w[dy];
        let r0 = &self.h[s[0] * SIZE..][..SIZE];
        let r1 = &self.h[s[1] * SIZE..][..SIZE];
        let r2 = &self.h[s[2] * SIZE..][..SIZE];
        for (((o, a), b), c) in out[..SIZE].iter_mut().zip(r0).zip(r1).zip(r2) {
            let acc = (w[0] * *a + w[1] * *b) + w[2] * *c;
            *o = round_u8(acc);
        }
    }

    /// Warps one 210x160 RGB screen into an 84x84 grey frame.
    pub fn apply(&mut self, rgb: &[u8], out: &mut [u8]) {
        assert_eq!(rgb.len(), PIXELS * 3);
        assert_eq!(out.len(), SIZE * SIZE);
        for y in 0..SCREEN_H {
            let src = &rgb[y * SCREEN_W * 3..(y + 1) * SCREEN_W * 3];
            for (g, p) in self.line.iter_mut().zip(src.chunks_exact(3)) {
                *g = f32::from(Self::grey(p[0], p[1], p[2]));
            }
            self.h_row(y);
        }
        for dy in 0..SIZE {
            self.v_row(dy, &mut out[dy * SIZE..(dy + 1) * SIZE]);
        }
        // `self.h` no longer matches `apply_indexed`'s last input.
        self.valid = false;
    }

    /// Warps the max-pool of the index screens `a` and `b` (210x160 palette indices each)
    /// into an 84x84 grey frame, the grey of a pixel being `pool[a * 256 + b]`
    /// ([`super::palette::Palette::pool`]; every index of `a` and `b` must be known to it).
    /// A single screen is `apply_indexed(s, s, ..)`. `pool` must be the same table (or one
    /// that agrees with it on the indices of the previous calls) at every call.
    pub fn apply_indexed(&mut self, a: &[u8], b: &[u8], pool: &[u8], out: &mut [u8]) {
        assert_eq!(a.len(), PIXELS);
        assert_eq!(b.len(), PIXELS);
        assert_eq!(out.len(), SIZE * SIZE);
        let pool: &[u8; POOL_LEN] = pool.try_into().expect("a 256x256 pool table");
        let valid = self.valid;
        for y in 0..SCREEN_H {
            let r = y * SCREEN_W..(y + 1) * SCREEN_W;
            let (ra, rb) = (&a[r.clone()], &b[r.clone()]);
            let dirty = !valid || !same_row(ra, &self.last_a[r.clone()]) || !same_row(rb, &self.last_b[r.clone()]);
            self.dirty[y] = dirty;
            if dirty {
                for ((g, &i), &j) in self.line.iter_mut().zip(ra).zip(rb) {
                    *g = f32::from(pool[(usize::from(i) << 8) | usize::from(j)]);
                }
                self.h_row(y);
                self.last_a[r.clone()].copy_from_slice(ra);
                self.last_b[r].copy_from_slice(rb);
            }
        }
        let mut last_out = std::mem::take(&mut self.last_out);
        for dy in 0..SIZE {
            let s = self.rows.src[dy];
            if !valid || self.dirty[s[0]] || self.dirty[s[1]] || self.dirty[s[2]] {
                self.v_row(dy, &mut last_out[dy * SIZE..(dy + 1) * SIZE]);
            }
        }
        out.copy_from_slice(&last_out);
        self.last_out = last_out;
        self.valid = true;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    /// FORMAT.md's warp(o) written out literally (the implementation before the padded
    /// tables and the memory of the last input), to compare against.
    fn reference(rgb: &[u8]) -> Vec<u8> {
        let cols = area_table(SCREEN_W, SIZE);
        let rows = area_table(SCREEN_H, SIZE);
        let grey: Vec<u8> = rgb.chunks_exact(3).map(|p| Warp::grey(p[0], p[1], p[2])).collect();
        let mut buf = vec![0f32; SCREEN_H * SIZE];
        for y in 0..SCREEN_H {
            let src = &grey[y * SCREEN_W..(y + 1) * SCREEN_W];
            let row = &mut buf[y * SIZE..(y + 1) * SIZE];
            for t in &cols {
                let p = f32::from(src[t.src]) * t.w;
                row[t.dst] += p;
            }
        }
        let mut out = vec![0u8; SIZE * SIZE];
        for dy in 0..SIZE {
            let mut acc = [0f32; SIZE];
            for t in rows.iter().filter(|t| t.dst == dy) {
                for (a, b) in acc.iter_mut().zip(&buf[t.src * SIZE..(t.src + 1) * SIZE]) {
                    let p = t.w * *b;
                    *a += p;
                }
            }
            for (o, a) in out[dy * SIZE..].iter_mut().zip(&acc) {
                *o = a.round_ties_even().clamp(0.0, 255.0) as u8;
            }
        }
        out
    }

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

    #[test]
    fn rounding_is_half_to_even() {
        for i in 0..=600u32 {
            let x = i as f32 * 0.5;
            assert_eq!(round_u8(x), x.round_ties_even().clamp(0.0, 255.0) as u8, "{x}");
        }
        let mut rng = rand::rngs::StdRng::seed_from_u64(3);
        for _ in 0..100_000 {
            let x: f32 = rng.gen_range(0.0..300.0);
            assert_eq!(round_u8(x), x.round_ties_even().clamp(0.0, 255.0) as u8, "{x}");
        }
    }

    #[test]
    fn apply_equals_the_literal_warp_on_random_screens() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(1);
        let mut w = Warp::new();
        let mut out = vec![0u8; SIZE * SIZE];
        for _ in 0..20 {
            let rgb: Vec<u8> = (0..PIXELS * 3).map(|_| rng.gen()).collect();
            w.apply(&rgb, &mut out);
            assert_eq!(out, reference(&rgb));
        }
    }

    /// The indexed warp, with its memory of the last input, against the literal warp of the
    /// RGB max-pool, over a sequence of screens that change a few rows at a time (and
    /// sometimes entirely), interleaved with RGB warps.
    #[test]
    fn apply_indexed_equals_the_literal_warp_of_the_pool() {
        use super::super::palette::Palette;
        let mut rng = rand::rngs::StdRng::seed_from_u64(2);
        let idx: Vec<u8> = (0..128).map(|i| 2 * i as u8).collect();
        let colours: Vec<[u8; 3]> = (0..128).map(|_| [rng.gen(), rng.gen(), rng.gen()]).collect();
        let mut p = Palette::new();
        let rgb_of = |s: &[u8]| -> Vec<u8> { s.iter().flat_map(|&i| colours[usize::from(i / 2)]).collect() };
        p.learn(&idx, &rgb_of(&idx));
        let mut w = Warp::new();
        let mut out = vec![0u8; SIZE * SIZE];
        let mut a: Vec<u8> = (0..PIXELS).map(|_| idx[rng.gen_range(0..128)]).collect();
        let mut b = a.clone();
        for step in 0..60 {
            match step % 7 {
                0 => a.iter_mut().for_each(|x| *x = idx[rng.gen_range(0..4)]),
                3 => b.copy_from_slice(&a),
                _ => {
                    for _ in 0..rng.gen_range(0..6) {
                        let s = if rng.gen() { &mut a } else { &mut b };
                        let y = rng.gen_range(0..SCREEN_H);
                        let x = rng.gen_range(0..SCREEN_W);
                        s[y * SCREEN_W + x] = idx[rng.gen_range(0..128)];
                    }
                }
            }
            let (ra, rb) = (rgb_of(&a), rgb_of(&b));
            let pooled: Vec<u8> = ra.iter().zip(&rb).map(|(x, y)| *x.max(y)).collect();
            w.apply_indexed(&a, &b, p.pool(), &mut out);
            assert_eq!(out, reference(&pooled), "step {step}");
            w.apply_indexed(&a, &a, p.pool(), &mut out);
            assert_eq!(out, reference(&ra), "step {step}, single");
            if step % 5 == 0 {
                w.apply(&rb, &mut out);
                assert_eq!(out, reference(&rb), "step {step}, rgb");
            }
        }
    }
}
