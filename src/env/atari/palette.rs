//! The emulator's colour palette, learned exactly at run time, and the table of pooled grey
//! values it gives.
//!
//! ALE's screen is one palette index per pixel (`getScreen`); `getScreenRGB` only maps every
//! index through the palette. The wrapped observation needs the grey value of the
//! channel-wise max of two RGB screens (MaxAndSkip, then WarpFrame's RGB2GRAY), which is
//! therefore a pure function of the two indices of a pixel: [`Palette::pool`]`[a * 256 + b]`
//! = `grey(max(rgb(a), rgb(b)))`. The palette is not copied from ALE's sources: whenever a
//! screen shows an index not seen before, the caller fetches that same frame's RGB screen too
//! and [`Palette::learn`]s from the pair, so every entry is ALE's own colour for that index.
//! A single screen's grey (a raw screen, or a max with a never-written, all-black buffer) is
//! the diagonal: `max(c, c) = max(c, black) = c`.

pub use super::warp::POOL_LEN;
use super::warp::Warp;

/// The palette seen so far and the pooled grey values of every pair of known indices.
#[derive(Clone)]
pub struct Palette {
    rgb: [[u8; 3]; 256],
    /// 1 for an index whose colour is known, else 0.
    known: [u8; 256],
    pool: Vec<u8>,
}

impl Default for Palette {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for Palette {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let n = self.known.iter().filter(|&&k| k != 0).count();
        f.debug_struct("Palette").field("known", &n).finish()
    }
}

impl Palette {
    /// A palette with no index known.
    pub fn new() -> Self {
        Self { rgb: [[0; 3]; 256], known: [0; 256], pool: vec![0; POOL_LEN] }
    }

    /// Whether index `i`'s colour is known.
    pub fn knows(&self, i: u8) -> bool {
        self.known[usize::from(i)] != 0
    }

    /// The colour of a known index.
    pub fn rgb(&self, i: u8) -> Option<[u8; 3]> {
        self.knows(i).then(|| self.rgb[usize::from(i)])
    }

    /// Whether every index in `px` is known.
    pub fn knows_all(&self, px: &[u8]) -> bool {
        // Branch-free over the slice: an unknown index is the rare case.
        px.iter().fold(1u8, |all, &p| all & self.known[usize::from(p)]) != 0
    }

    /// Learns the colours of the indices of `idx` from the RGB screen `rgb` of the same frame
    /// (`rgb` = 3 bytes per index). Panics if a known index shows another colour (the palette
    /// of one loaded ROM never changes).
    pub fn learn(&mut self, idx: &[u8], rgb: &[u8]) {
        assert_eq!(rgb.len(), 3 * idx.len(), "one RGB triple per index");
        let mut new = Vec::new();
        for (&i, c) in idx.iter().zip(rgb.chunks_exact(3)) {
            let c = [c[0], c[1], c[2]];
            let k = usize::from(i);
            if self.known[k] == 0 {
                self.known[k] = 1;
                self.rgb[k] = c;
                new.push(k);
            } else {
                assert_eq!(self.rgb[k], c, "palette index {i} changed colour");
            }
        }
        for &n in &new {
            for k in 0..256 {
                if self.known[k] != 0 {
                    self.pool[n * 256 + k] = pooled_grey(self.rgb[n], self.rgb[k]);
                    self.pool[k * 256 + n] = pooled_grey(self.rgb[k], self.rgb[n]);
                }
            }
        }
    }

    /// The known indices and their colours (3 bytes each), to learn again elsewhere.
    pub fn known_colours(&self) -> (Vec<u8>, Vec<u8>) {
        let idx: Vec<u8> = (0..=255u8).filter(|&i| self.knows(i)).collect();
        let rgb = idx.iter().flat_map(|&i| self.rgb[usize::from(i)]).collect();
        (idx, rgb)
    }

    /// `pool[a * 256 + b]` = `grey(max(rgb(a), rgb(b)))` for known `a`, `b` (0 elsewhere).
    pub fn pool(&self) -> &[u8] {
        &self.pool
    }
}

/// OpenCV's RGB2GRAY of the channel-wise max of two colours.
fn pooled_grey(a: [u8; 3], b: [u8; 3]) -> u8 {
    Warp::grey(a[0].max(b[0]), a[1].max(b[1]), a[2].max(b[2]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn learns_and_pools() {
        let mut p = Palette::new();
        assert!(!p.knows_all(&[0, 2]));
        p.learn(&[0, 2, 0], &[0, 0, 0, 200, 10, 30, 0, 0, 0]);
        assert!(p.knows_all(&[0, 2, 2, 0]));
        assert!(!p.knows_all(&[0, 4]));
        assert_eq!(p.rgb(2), Some([200, 10, 30]));
        assert_eq!(p.rgb(4), None);
        p.learn(&[4], &[10, 250, 40]);
        assert_eq!(p.pool()[2 * 256 + 4], Warp::grey(200, 250, 40));
        assert_eq!(p.pool()[4 * 256 + 2], Warp::grey(200, 250, 40));
        assert_eq!(p.pool()[4 * 256 + 4], Warp::grey(10, 250, 40));
        assert_eq!(p.pool()[0], 0);
    }

    #[test]
    #[should_panic(expected = "changed colour")]
    fn a_colour_never_changes() {
        let mut p = Palette::new();
        p.learn(&[6], &[1, 2, 3]);
        p.learn(&[6], &[1, 2, 4]);
    }
}
