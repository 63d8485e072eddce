//! `expm1` and `tanh` for float32 that the compiler vectorises, for ELU and tanh (the
//! MuJoCo value and policy networks' activations, `baselines_mujoco`): glibc's scalar
//! `expm1f`, called once per element by ELU and inside `tanhf`, was the largest single item
//! of ACKTR's HalfCheetah profile (24% of its samples under `perf`).
//!
//! Method (the classical range reduction of Tang 1992, "Table-driven implementation of the
//! expm1 function", without the table): in float64, `k = round(x / ln 2)`,
//! `r = x - k ln 2` (|r| <= ln(2)/2), `expm1(r)` by its Taylor series to degree 10
//! (truncation below 1e-11 relative), then `expm1(x) = 2^k expm1(r) + (2^k - 1)`, with `2^k`
//! built from the exponent bits. The float64 result is within about 1e-11 of the true value,
//! so its rounding to float32 is the correctly rounded result except within that distance
//! of a rounding midpoint; glibc's `expm1f` is also within one unit in the last place. No
//! branches, no calls, no fused multiply-adds: the same bits on every x86-64 machine.

/// `1.5 * 2^52`: adding it rounds a float64 of magnitude below 2^51 to an integer (to
/// nearest, ties to even) held in the low bits of the sum.
const MAGIC: f64 = 6_755_399_441_055_744.0;

/// `exp(x) - 1` in float32 ([module docs](self)). NaN gives NaN, `-inf` gives -1, and
/// `-0.0` gives `-0.0`.
#[inline(always)]
pub fn expm1(x: f32) -> f32 {
    expm1_f64(x as f64) as f32
}

/// `tanh(x)` in float32: `-t / (t + 2)` with `t = expm1(-2|x|)` in float64, the sign of
/// `x` put back (so `tanh(-0.0) = -0.0`); within one unit in the last place, as glibc's
/// `tanhf`, which computes it the same way in float32.
#[inline(always)]
pub fn tanh(x: f32) -> f32 {
    let a = (x as f64).abs();
    // tanh(a) rounds to 1 in float32 from a = 9.01; NaN passes unchanged.
    let a = if a > 20.0 { 20.0 } else { a };
    let t = expm1_f64(-2.0 * a);
    let th = (-t / (t + 2.0)) as f32;
    th.copysign(x)
}

/// The float64 core of [`expm1`], for arguments that came from float32.
#[inline(always)]
fn expm1_f64(x: f64) -> f64 {
    // Below -104 the result is -1 in float32; above 89 it overflows. NaN passes unchanged.
    let x = if x < -104.0 { -104.0 } else if x > 89.0 { 89.0 } else { x };
    let m = x * std::f64::consts::LOG2_E + MAGIC;
    let k = m - MAGIC;
    let r = x - k * std::f64::consts::LN_2;
    let p = r
        * (1.0
            + r * (1.0 / 2.0
                + r * (1.0 / 6.0
                    + r * (1.0 / 24.0
                        + r * (1.0 / 120.0
                            + r * (1.0 / 720.0
                                + r * (1.0 / 5040.0 + r * (1.0 / 40320.0 + r * (1.0 / 362_880.0 + r * (1.0 / 3_628_800.0))))))))));
    // k as a two's-complement integer, and 2^k from its exponent bits.
    let kb = m.to_bits().wrapping_sub(MAGIC.to_bits());
    let scale = f64::from_bits(kb.wrapping_add(1023) << 52);
    if kb == 0 {
        p
    } else {
        (scale - 1.0) + scale * p
    }
}

/// ELU (alpha 1) in place: `x` where positive, `expm1(x)` elsewhere.
pub fn elu_in_place(s: &mut [f32]) {
    dispatch(s, |s| {
        for x in s.iter_mut() {
            let e = expm1(*x);
            *x = if *x > 0.0 { *x } else { e };
        }
    })
}

/// Runs `f` (a loop over `s` of the functions above) compiled for the widest vectors this
/// CPU has: AVX-512 (8 float64 lanes), AVX2 (4), else the x86-64 baseline SSE2 (2). The
/// loop body is the same IEEE operations element by element in every version (Rust never
/// fuses a multiply and an add on its own), so every version gives the same bits.
#[inline(always)]
fn dispatch(s: &mut [f32], f: impl Fn(&mut [f32])) {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f") {
            // SAFETY: the CPU has AVX-512F.
            return unsafe { with_avx512(s, f) };
        }
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU has AVX2.
            return unsafe { with_avx2(s, f) };
        }
    }
    f(s)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn with_avx512(s: &mut [f32], f: impl Fn(&mut [f32])) {
    f(s)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn with_avx2(s: &mut [f32], f: impl Fn(&mut [f32])) {
    f(s)
}

/// tanh in place.
pub fn tanh_in_place(s: &mut [f32]) {
    dispatch(s, |s| {
        for x in s.iter_mut() {
            *x = tanh(*x);
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ulps(a: f32, b: f32) -> u32 {
        (a.to_bits() as i64 - b.to_bits() as i64).unsigned_abs() as u32
    }

    #[test]
    fn within_one_ulp_of_the_float64_result_everywhere_elu_uses_it() {
        // Every float32 in [-1, 0) with a stride, and a grid out to -110.
        let mut worst = 0;
        let mut off = 0usize;
        let mut n = 0usize;
        let mut check = |x: f32| {
            let want = (x as f64).exp_m1() as f32;
            let got = expm1(x);
            let u = ulps(got, want);
            worst = worst.max(u);
            off += (u != 0) as usize;
            n += 1;
        };
        let mut b = (-1.0f32).to_bits();
        while b > 0x8000_0000 {
            check(f32::from_bits(b));
            b -= 97;
        }
        for i in 0..1_100_000 {
            check(-(i as f32) * 1e-4);
        }
        assert!(worst <= 1, "worst {worst} ulps");
        assert!(off * 1000 < n, "{off} of {n} values not the correctly rounded result");
        for x in [1e-3f32, 0.5, 1.0, 10.0, 80.0] {
            assert!(ulps(expm1(x), (x as f64).exp_m1() as f32) <= 1, "{x}");
        }
    }

    #[test]
    fn tanh_within_one_ulp_of_the_float64_result() {
        let mut worst = 0;
        let mut off = 0usize;
        let n = 2_000_001;
        for i in 0..n {
            let x = (i as f32 - 1_000_000.0) * 1e-5;
            let u = ulps(tanh(x), (x as f64).tanh() as f32);
            worst = worst.max(u);
            off += (u != 0) as usize;
        }
        for x in [1e-30f32, 1e-8, 0.01, 5.0, 9.0, 9.1, 15.0, 30.0, 1e10] {
            for x in [x, -x] {
                assert!(ulps(tanh(x), (x as f64).tanh() as f32) <= 1, "{x}");
            }
        }
        assert!(worst <= 1, "worst {worst} ulps");
        assert!(off * 1000 < n, "{off} of {n} values not the correctly rounded result");
        assert_eq!(tanh(-0.0).to_bits(), (-0.0f32).to_bits());
        assert_eq!(tanh(f32::INFINITY), 1.0);
        assert_eq!(tanh(f32::NEG_INFINITY), -1.0);
        assert!(tanh(f32::NAN).is_nan());
    }

    #[test]
    fn every_vector_width_gives_the_same_bits() {
        let xs: Vec<f32> = (0..4099).map(|i| (i as f32 - 2000.0) * 0.0137).chain([f32::NAN, -0.0, 0.0, -1e-30, 1e30]).collect();
        let scalar_elu: Vec<u32> = xs.iter().map(|&x| if x > 0.0 { x } else { expm1(x) }.to_bits()).collect();
        let scalar_tanh: Vec<u32> = xs.iter().map(|&x| tanh(x).to_bits()).collect();
        let (mut e, mut t) = (xs.clone(), xs.clone());
        elu_in_place(&mut e);
        tanh_in_place(&mut t);
        assert_eq!(e.iter().map(|v| v.to_bits()).collect::<Vec<_>>(), scalar_elu);
        assert_eq!(t.iter().map(|v| v.to_bits()).collect::<Vec<_>>(), scalar_tanh);
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2") {
            let mut t2 = xs.clone();
            // SAFETY: the CPU has AVX2.
            unsafe { with_avx2(&mut t2, |s| s.iter_mut().for_each(|x| *x = tanh(*x))) };
            assert_eq!(t2.iter().map(|v| v.to_bits()).collect::<Vec<_>>(), scalar_tanh);
        }
    }

    #[test]
    fn special_values() {
        assert_eq!(expm1(0.0).to_bits(), 0.0f32.to_bits());
        assert_eq!(expm1(-0.0).to_bits(), (-0.0f32).to_bits());
        assert_eq!(expm1(f32::NEG_INFINITY), -1.0);
        assert_eq!(expm1(-200.0), -1.0);
        assert!(expm1(f32::NAN).is_nan());
        assert_eq!(expm1(100.0), f32::INFINITY);
        // Tiny arguments: expm1(x) = x to float32 precision.
        assert_eq!(expm1(-1e-30), -1e-30);
        let mut v = vec![-2.0f32, -0.0, 0.0, 3.0, f32::NAN];
        elu_in_place(&mut v);
        assert_eq!(v[0], expm1(-2.0));
        assert_eq!(v[1].to_bits(), (-0.0f32).to_bits());
        assert_eq!(v[3], 3.0);
        assert!(v[4].is_nan());
    }
}
