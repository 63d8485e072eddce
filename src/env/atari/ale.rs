//! A safe handle on one Arcade Learning Environment 0.6.0 emulator (`vendor/ale-sys`, with
//! the patches of `vendor/ale-sys/PATCHES.md`), set up as ale-py 0.12.1's `AtariEnv` sets it
//! for `<Game>NoFrameskip-v4` (`docs/src/formats/env-case.md`, "The emulator"):
//! no sticky actions, frame skip 1, 108,000 frames per episode, default mode and
//! difficulty, minimal action set.
//!
//! ALE's `loadROM` ends the process (`exit(1)`) on a missing or unreadable ROM; [`Ale::load`]
//! is only ever called on a file that [`super::roms`] has already found and md5-checked.

use std::ffi::CString;
use std::os::raw::c_int;
use std::path::Path;
use std::sync::{Mutex, Once};

use ale_sys as sys;

/// ale-py 0.12.1 `AtariEnv`: `max_num_frames_per_episode` for the v4/v5 ids.
pub const MAX_EPISODE_FRAMES: u32 = 108_000;
/// Width and height of the screen (NTSC).
pub const SCREEN_W: usize = 160;
pub const SCREEN_H: usize = 210;
/// Pixels of one screen (bytes of one palette-index screen).
pub const SCREEN_PIXELS: usize = SCREEN_W * SCREEN_H;
/// Bytes of one RGB screen.
pub const SCREEN_BYTES: usize = SCREEN_PIXELS * 3;

/// One emulator. Not `Sync`; `Send` because ALE keeps no thread-local state, and its global
/// state is written only while [`LIFECYCLE`] is held (and the logger mode, set once).
pub struct Ale {
    ptr: *mut sys::ALEInterface,
    actions: Vec<c_int>,
}

// SAFETY: an `ALEInterface` owns all its state (its OSystem, settings, console and
// generators); nothing in it refers to the thread that made it.
unsafe impl Send for Ale {}

static LOGGER: Once = Once::new();

/// Held while an emulator is made, loads a ROM or is destroyed. ALE 0.6 writes static state
/// there that is not thread-safe: the cartridge constructor assigns the static
/// `Cartridge::myAboutString` (a `std::string`; two threads loading at once corrupted the
/// heap: a SIGSEGV in the spec tests, which run two cells in parallel) and the CPU
/// constructor refills `M6502::ourBCDTable`. Emulation itself touches only per-instance
/// state (the TIA's static tables are filled once, under `std::call_once`).
static LIFECYCLE: Mutex<()> = Mutex::new(());

fn lifecycle() -> std::sync::MutexGuard<'static, ()> {
    // A panic while holding it leaves nothing half-done on the C++ side that a later caller
    // could observe, so a poisoned lock is still usable.
    LIFECYCLE.lock().unwrap_or_else(|e| e.into_inner())
}

fn cstr(s: &str) -> CString {
    CString::new(s).expect("setting names have no NUL")
}

impl Ale {
    /// A new emulator with no ROM loaded, its settings those of ale-py's `NoFrameskip-v4`.
    pub fn new() -> Self {
        // 2 = errors only: ALE prints its banner and ROM details at "info".
        LOGGER.call_once(|| unsafe { sys::setLoggerMode(2) });
        // SAFETY: ALE_new returns a fresh interface or aborts; we own it until Drop.
        let ptr = {
            let _guard = lifecycle();
            unsafe { sys::ALE_new() }
        };
        assert!(!ptr.is_null(), "ALE_new returned null");
        let ale = Self { ptr, actions: Vec::new() };
        unsafe {
            sys::setFloat(ptr, cstr("repeat_action_probability").as_ptr(), 0.0);
            sys::setInt(ptr, cstr("frame_skip").as_ptr(), 1);
            sys::setInt(ptr, cstr("max_num_frames_per_episode").as_ptr(), MAX_EPISODE_FRAMES as c_int);
        }
        ale
    }

    /// Sets ALE's `random_seed` (before [`Self::load`]). ale-py gives it an int32; 0 would
    /// mean "seed from the clock", so callers never pass 0.
    pub fn set_random_seed(&mut self, seed: i32) {
        unsafe { sys::setInt(self.ptr, cstr("random_seed").as_ptr(), seed as c_int) };
    }

    /// Loads a ROM file that exists and has been md5-checked; resets the game.
    pub fn load(&mut self, rom: &Path) {
        let path = cstr(rom.to_str().expect("ROM paths are UTF-8 (checked by roms::locate)"));
        {
            let _guard = lifecycle();
            unsafe { sys::loadROM(self.ptr, path.as_ptr()) };
        }
        let n = unsafe { sys::getMinimalActionSize(self.ptr) } as usize;
        let mut actions = vec![0 as c_int; n];
        unsafe { sys::getMinimalActionSet(self.ptr, actions.as_mut_ptr()) };
        self.actions = actions;
    }

    /// The game's minimal action set, as ALE action ids.
    pub fn minimal_actions(&self) -> &[c_int] {
        &self.actions
    }

    /// One frame with ALE action id `action`; returns the frame's reward.
    pub fn act(&mut self, action: c_int) -> i32 {
        unsafe { sys::act(self.ptr, action) }
    }

    /// `reset_game()`.
    pub fn reset_game(&mut self) {
        unsafe { sys::reset_game(self.ptr) }
    }

    /// ALE 0.6's `game_over()`, which includes the frame limit.
    pub fn game_over(&self) -> bool {
        unsafe { sys::game_over(self.ptr) }
    }

    /// Frames run by `act` since the last `reset_game`.
    pub fn episode_frame(&self) -> u32 {
        unsafe { sys::getEpisodeFrameNumber(self.ptr) as u32 }
    }

    /// `lives()`.
    pub fn lives(&self) -> i32 {
        unsafe { sys::lives(self.ptr) }
    }

    /// The RGB screen, rows x columns x (R, G, B).
    pub fn screen_rgb(&self, out: &mut [u8]) {
        assert_eq!(out.len(), SCREEN_BYTES);
        unsafe { sys::getScreenRGB(self.ptr, out.as_mut_ptr()) }
    }

    /// The screen as palette indices (`getScreen`), rows x columns; [`Self::screen_rgb`] is
    /// this mapped through the palette.
    pub fn screen_indices(&self, out: &mut [u8]) {
        assert_eq!(out.len(), SCREEN_PIXELS);
        unsafe { sys::getScreen(self.ptr, out.as_mut_ptr()) }
    }

    /// The emulator's whole state (console, cartridge, generators, frame counters) as bytes.
    pub fn save_state(&self) -> Vec<u8> {
        unsafe {
            let st = sys::cloneSystemState(self.ptr);
            let n = sys::encodeStateLen(st);
            let mut buf = vec![0u8; n.max(0) as usize];
            sys::encodeState(st, buf.as_mut_ptr().cast(), n);
            sys::deleteState(st);
            buf
        }
    }

    /// Continues from [`Self::save_state`] of an emulator with the same ROM loaded.
    pub fn restore_state(&mut self, bytes: &[u8]) {
        unsafe {
            let st = sys::decodeState(bytes.as_ptr().cast(), bytes.len() as c_int);
            sys::restoreSystemState(self.ptr, st);
            sys::deleteState(st);
        }
    }
}

impl Default for Ale {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for Ale {
    fn drop(&mut self) {
        let _guard = lifecycle();
        unsafe { sys::ALE_del(self.ptr) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Without [`LIFECYCLE`], loading ROMs from several threads at once corrupts ALE's static
    /// `Cartridge::myAboutString` (a crash within a few dozen loads here).
    #[test]
    fn emulators_can_be_made_and_loaded_from_many_threads() {
        let rom = crate::env::atari::roms::locate("breakout").expect("the build provisions the ROMs");
        let threads: Vec<_> = (0..4)
            .map(|t| {
                let rom = rom.clone();
                std::thread::spawn(move || {
                    for k in 0..25 {
                        let mut ale = Ale::new();
                        ale.set_random_seed(1 + t * 100 + k);
                        ale.load(&rom);
                        assert_eq!(ale.minimal_actions(), &[0, 1, 3, 4]);
                        for _ in 0..10 {
                            ale.act(1);
                        }
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
    }
}
