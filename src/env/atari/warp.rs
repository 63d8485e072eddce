//! baselines' `WarpFrame` (`common/atari_wrappers.py`): `cv2.cvtColor(frame,
//! cv2.COLOR_RGB2GRAY)` then `cv2.resize(frame, (84, 84), interpolation=cv2.INTER_AREA)`,
//! reproduced bit for bit as OpenCV 4.14 computes it (`docs/src/formats/env-case.md`,
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
//! [`super::palette::Palette`]'s pooled grey table, and keeps what it computed: given the
//! words (8 pixels) of each row that changed since its last call on the same two screens
//! ([`changed_words`]), it computes again only those pixels' grey, the horizontal outputs
//! whose taps read them and the output rows that read those. Every value is a pure function
//! of the pixels it reads, so the result is the same as computing everything again.

use super::ale::{SCREEN_H, SCREEN_W};

/// Side of the warped frame.
pub const SIZE: usize = 84;

/// Entries of the pooled grey table [`Warp::apply_indexed`] reads (built by
/// [`super::palette::Palette`]): one per ordered pair of palette indices.
pub const POOL_LEN: usize = 256 * 256;

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
    let r = ((x + BIG) - BIG).clamp(0.0, 255.0);
    // SAFETY: `r` is an integer in 0..=255 (never NaN: `x` is a sum of non-negative products).
    unsafe { r.to_int_unchecked::<i32>() as u8 }
}

/// Words (8 pixels) of a screen row: the unit of change [`changed_words`] reports.
pub const WORDS: usize = SCREEN_W / 8;
const _: () = assert!(SCREEN_W % 8 == 0 && WORDS <= 32 && SCREEN_W % 32 == 0);

/// For every row `y` of two index screens, `masks[y]` gets bit `w` set iff the row's bytes
/// `8w..8w+8` differ between `new` and `old` (one 64-bit compare per word; plain Rust, no
/// hand-written SIMD: this is under 1% of a step).
pub fn changed_words(new: &[u8], old: &[u8], masks: &mut [u32]) {
    assert_eq!(new.len(), PIXELS);
    assert_eq!(old.len(), PIXELS);
    assert_eq!(masks.len(), SCREEN_H);
    for ((m, n), o) in masks.iter_mut().zip(new.chunks_exact(SCREEN_W)).zip(old.chunks_exact(SCREEN_W)) {
        let mut bits = 0u32;
        for (w, (x, y)) in n.chunks_exact(8).zip(o.chunks_exact(8)).enumerate() {
            let x = u64::from_ne_bytes(x.try_into().unwrap());
            let y = u64::from_ne_bytes(y.try_into().unwrap());
            bits |= u32::from(x != y) << w;
        }
        *m = bits;
    }
}

/// One index screen given to [`Warp::apply_indexed`]: its pixels, which of the caller's
/// screens it is (`slot`), and, per row, the words that may differ from what that screen
/// held when the warp last read it (a superset is fine).
#[derive(Debug, Clone, Copy)]
pub struct Indexed<'a> {
    pub px: &'a [u8],
    pub slot: usize,
    pub changed: &'a [u32],
}

/// Iterates over the set bits of `m`, lowest first.
#[inline(always)]
fn bits128(mut m: u128) -> impl Iterator<Item = usize> {
    std::iter::from_fn(move || {
        (m != 0).then(|| {
            let b = m.trailing_zeros() as usize;
            m &= m - 1;
            b
        })
    })
}

/// The grey conversion and both tables, made once per environment, with the work buffers and
/// what [`Self::apply_indexed`] computed last.
#[derive(Debug, Clone)]
pub struct Warp {
    /// Column taps; sources as `u8`.
    cols: Padded<u8>,
    rows: Padded<usize>,
    /// For each word of a row, the output columns whose taps read one of its pixels.
    word_cols: [u128; WORDS],
    /// The grey source image as float32, 210x160.
    grey: Vec<f32>,
    /// The horizontal pass: 210 rows of 84.
    h: Vec<f32>,
    /// The output last computed.
    out: Vec<u8>,
    /// Per source row, the output columns of `h` that `apply_indexed` recomputed.
    row_cols: [u128; SCREEN_H],
    /// The slots of `apply_indexed`'s last input, while `grey`, `h` and `out` are its warp.
    last: Option<(usize, usize)>,
}

impl Default for Warp {
    fn default() -> Self {
        Self::new()
    }
}

impl Warp {
    pub fn new() -> Self {
        const { assert!(SCREEN_W <= 256) };
        let cols: Padded<u8> = padded(&area_table(SCREEN_W, SIZE));
        let mut word_cols = [0u128; WORDS];
        for (dx, src) in cols.src.iter().enumerate() {
            for &s in src {
                word_cols[usize::from(s) / 8] |= 1 << dx;
            }
        }
        Self {
            cols,
            rows: padded(&area_table(SCREEN_H, SIZE)),
            word_cols,
            grey: vec![0.0; PIXELS],
            h: vec![0.0; SCREEN_H * SIZE],
            out: vec![0; SIZE * SIZE],
            row_cols: [0; SCREEN_H],
            last: None,
        }
    }

    /// OpenCV's RGB2GRAY for 8-bit images: `(9798 R + 19235 G + 3735 B + 2^14) >> 15`.
    pub fn grey(r: u8, g: u8, b: u8) -> u8 {
        ((9798 * u32::from(r) + 19235 * u32::from(g) + 3735 * u32::from(b) + 16384) >> 15) as u8
    }

    /// Horizontal pass of output column `dx` of source row `y`: for each column entry of `dx`
    /// in order, `buf[y][dx] += float(g[y][sx]) * w`.
    #[inline(always)]
    fn h_at(&mut self, y: usize, dx: usize) {
        let line: &[f32; SCREEN_W] = self.grey[y * SCREEN_W..(y + 1) * SCREEN_W].try_into().unwrap();
        let (s, w) = (self.cols.src[dx], self.cols.w[dx]);
        let p0 = line[usize::from(s[0])] * w[0];
        let p1 = line[usize::from(s[1])] * w[1];
        let p2 = line[usize::from(s[2])] * w[2];
        self.h[y * SIZE + dx] = (p0 + p1) + p2;
    }

    /// The horizontal pass of a whole source row.
    fn h_row(&mut self, y: usize) {
        for dx in 0..SIZE {
            self.h_at(y, dx);
        }
    }

    /// Vertical pass for output row `dy` into `self.out`: for each row entry in order,
    /// `acc[dx] += w * buf[sy][dx]`, then rounded.
    #[inline(always)]
    fn v_row(&mut self, dy: usize) {
        let s = self.rows.src[dy];
        let w = self.rows.w[dy];
        let r0 = &self.h[s[0] * SIZE..][..SIZE];
        let r1 = &self.h[s[1] * SIZE..][..SIZE];
        let r2 = &self.h[s[2] * SIZE..][..SIZE];
        let out = &mut self.out[dy * SIZE..][..SIZE];
        for (((o, a), b), c) in out.iter_mut().zip(r0).zip(r1).zip(r2) {
            let acc = (w[0] * *a + w[1] * *b) + w[2] * *c;
            *o = round_u8(acc);
        }
    }

    /// Warps one 210x160 RGB screen into an 84x84 grey frame.
    pub fn apply(&mut self, rgb: &[u8], out: &mut [u8]) {
        assert_eq!(rgb.len(), PIXELS * 3);
        assert_eq!(out.len(), SIZE * SIZE);
        for (g, p) in self.grey.iter_mut().zip(rgb.chunks_exact(3)) {
            *g = f32::from(Self::grey(p[0], p[1], p[2]));
        }
        for y in 0..SCREEN_H {
            self.h_row(y);
        }
        for dy in 0..SIZE {
            self.v_row(dy);
        }
        out.copy_from_slice(&self.out);
        // The buffers no longer hold `apply_indexed`'s last warp.
        self.last = None;
    }

    /// Warps the max-pool of the index screens `a` and `b` (210x160 palette indices each)
    /// into an 84x84 grey frame, the grey of a pixel being `pool[a * 256 + b]`
    /// ([`super::palette::Palette::pool`]; every index of `a` and `b` must be known to it,
    /// and the table must agree with the earlier calls' on their indices). A single screen is
    /// `a` = `b`.
    ///
    /// When `a` and `b` are the slots of the last call, only what their `changed` words reach
    /// is computed again: those pixels' grey, the horizontal outputs that read them, the
    /// output rows that read those; the caller then clears both slots' `changed`.
    pub fn apply_indexed(&mut self, a: Indexed, b: Indexed, pool: &[u8], out: &mut [u8]) {
        assert_eq!(a.px.len(), PIXELS);
        assert_eq!(b.px.len(), PIXELS);
        assert_eq!(a.changed.len(), SCREEN_H);
        assert_eq!(b.changed.len(), SCREEN_H);
        assert_eq!(out.len(), SIZE * SIZE);
        let pool: &[u8; POOL_LEN] = pool.try_into().expect("a 256x256 pool table");
        let full = self.last != Some((a.slot, b.slot));
        if full {
            for ((g, &i), &j) in self.grey.iter_mut().zip(a.px).zip(b.px) {
                *g = f32::from(pool[(usize::from(i) << 8) | usize::from(j)]);
            }
            for y in 0..SCREEN_H {
                self.h_row(y);
            }
            for dy in 0..SIZE {
                self.v_row(dy);
            }
        } else {
            for y in 0..SCREEN_H {
                let mut m = a.changed[y] | b.changed[y];
                let mut cols = 0u128;
                while m != 0 {
                    let w = m.trailing_zeros() as usize;
                    m &= m - 1;
                    let r = y * SCREEN_W + 8 * w..y * SCREEN_W + 8 * w + 8;
                    for ((g, &i), &j) in self.grey[r.clone()].iter_mut().zip(&a.px[r.clone()]).zip(&b.px[r]) {
                        *g = f32::from(pool[(usize::from(i) << 8) | usize::from(j)]);
                    }
                    cols |= self.word_cols[w];
                }
                for dx in bits128(cols) {
                    self.h_at(y, dx);
                }
                self.row_cols[y] = cols;
            }
            for dy in 0..SIZE {
                let s = self.rows.src[dy];
                if self.row_cols[s[0]] | self.row_cols[s[1]] | self.row_cols[s[2]] != 0 {
                    self.v_row(dy);
                }
            }
        }
        out.copy_from_slice(&self.out);
        self.last = Some((a.slot, b.slot));
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

    /// A caller of `apply_indexed` as `AtariEnv` is one: three index screens (slots), each
    /// with the words changed since the warp last read it.
    struct Caller {
        px: Vec<Vec<u8>>,
        since: Vec<Vec<u32>>,
        masks: Vec<u32>,
    }

    impl Caller {
        fn new(first: &[u8]) -> Self {
            Self { px: vec![first.to_vec(); 3], since: vec![vec![0; SCREEN_H]; 3], masks: vec![0; SCREEN_H] }
        }

        fn set(&mut self, slot: usize, new: Vec<u8>) {
            changed_words(&new, &self.px[slot], &mut self.masks);
            for (s, m) in self.since[slot].iter_mut().zip(&self.masks) {
                *s |= *m;
            }
            self.px[slot] = new;
        }

        fn warp(&mut self, w: &mut Warp, pool: &[u8], (sa, sb): (usize, usize), out: &mut [u8]) {
            let a = Indexed { px: &self.px[sa], slot: sa, changed: &self.since[sa] };
            let b = Indexed { px: &self.px[sb], slot: sb, changed: &self.since[sb] };
            w.apply_indexed(a, b, pool, out);
            self.since[sa].fill(0);
            self.since[sb].fill(0);
        }
    }

    #[test]
    fn changed_words_marks_exactly_the_changed_words() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(4);
        let old: Vec<u8> = (0..PIXELS).map(|_| rng.gen()).collect();
        let mut new = old.clone();
        let mut want = vec![0u32; SCREEN_H];
        for _ in 0..300 {
            let i = rng.gen_range(0..PIXELS);
            new[i] ^= 1 << rng.gen_range(0..8);
            want[i / SCREEN_W] |= 1 << (i % SCREEN_W / 8);
        }
        let mut got = vec![0u32; SCREEN_H];
        changed_words(&new, &old, &mut got);
        assert_eq!(got, want);
    }

    /// The indexed warp, recomputing only what changed, against the literal warp of the RGB
    /// max-pool, over screens that change a few pixels at a time (and sometimes entirely),
    /// with the pair of slots switching now and then and RGB warps in between.
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
        let first: Vec<u8> = (0..PIXELS).map(|_| idx[rng.gen_range(0..128)]).collect();
        let mut c = Caller::new(&first);
        for step in 0..120 {
            for slot in 0..3 {
                let mut s = c.px[slot].clone();
                match rng.gen_range(0..12) {
                    0 => s.iter_mut().for_each(|x| *x = idx[rng.gen_range(0..4)]),
                    1 => s.copy_from_slice(&c.px[(slot + 1) % 3]),
                    _ => {
                        for _ in 0..rng.gen_range(0..40) {
                            let y = rng.gen_range(0..SCREEN_H);
                            let x = rng.gen_range(0..SCREEN_W);
                            s[y * SCREEN_W + x] = idx[rng.gen_range(0..128)];
                        }
                    }
                }
                c.set(slot, s);
            }
            let pair = match rng.gen_range(0..10) {
                0 => (2, 2),
                1 => (0, 0),
                2 => (1, 0),
                _ => (0, 1),
            };
            let (ra, rb) = (rgb_of(&c.px[pair.0]), rgb_of(&c.px[pair.1]));
            let pooled: Vec<u8> = ra.iter().zip(&rb).map(|(x, y)| *x.max(y)).collect();
            c.warp(&mut w, p.pool(), pair, &mut out);
            assert_eq!(out, reference(&pooled), "step {step}, slots {pair:?}");
            if step % 17 == 0 {
                w.apply(&rb, &mut out);
                assert_eq!(out, reference(&rb), "step {step}, rgb");
            }
        }
    }
}
