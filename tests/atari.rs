//! Atari episode statistics are whole games as baselines' `Monitor` records them below
//! EpisodicLife (README "Atari"): the unclipped score of all lives, the agent steps of the
//! game including those FireReset and life-loss resets take, and beside them the clipped
//! return the learner saw.
#![cfg(feature = "atari")]

use acktr::env::{self, Action, VecEnv};
use rand::{Rng, SeedableRng};

#[test]
fn a_breakout_game_is_one_episode_of_five_lives_with_its_unclipped_score() {
    let mut venv = VecEnv::new(1, 3, || env::make("BreakoutNoFrameskip-v4")).unwrap();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0);
    let (mut steps, mut lives_lost, mut clipped, mut terminations) = (0usize, 0usize, 0.0f64, 0usize);
    let game = loop {
        let s = venv.step(&[Action::Discrete(rng.gen_range(0..4))]).unwrap();
        steps += 1;
        clipped += s.rewards[0];
        assert!([-1.0, 0.0, 1.0].contains(&s.rewards[0]), "the learner's rewards are clipped");
        if s.terminated[0] {
            terminations += 1;
        }
        if let Some(ep) = s.episodes.first() {
            break ep.clone();
        }
        if s.terminated[0] {
            lives_lost += 1;
        }
        assert!(steps < 20_000, "no game ended");
    };
    // Breakout has 5 lives: 4 life-loss episodes for the learner, then the game over.
    assert_eq!(lives_lost, 4);
    assert_eq!(terminations, 5);
    assert_eq!(game.learner_return, clipped);
    // A brick is worth 1, 4 or 7: the score is at least the clipped sum, and the random
    // policy here breaks some bricks of the upper rows.
    assert!(game.ret >= clipped && clipped > 0.0, "score {} clipped {}", game.ret, clipped);
    // Monitor counts every MaxAndSkip step: the agent's, FireReset's two after the game
    // reset, and NOOP + FIRE + UP (index 2) after each life lost.
    assert_eq!(game.length, steps + 2 + 3 * lives_lost);
}

/// A checkpoint's environment part: a fresh copy restored from a snapshot continues exactly
/// as the original does (observations, rewards, flags, games), across life losses and a
/// game over (Breakout, random actions).
#[test]
fn an_atari_vec_env_continues_bit_for_bit_from_its_snapshot() {
    let make = || env::make("BreakoutNoFrameskip-v4");
    let mut a = VecEnv::new(2, 11, make).unwrap();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
    let act = |rng: &mut rand_chacha::ChaCha8Rng| [Action::Discrete(rng.gen_range(0..4)), Action::Discrete(rng.gen_range(0..4))];
    for _ in 0..700 {
        a.step(&act(&mut rng)).unwrap();
    }
    let snap = a.snapshot();
    let mut b = VecEnv::new(2, 999, make).unwrap();
    b.restore(&snap).unwrap();
    assert_eq!(a.observations(), b.observations());
    let (mut games, mut lives) = (0, 0);
    for t in 0..1500 {
        let actions = act(&mut rng);
        let (x, y) = (a.step(&actions).unwrap(), b.step(&actions).unwrap());
        assert_eq!(a.observations(), b.observations(), "step {t}");
        assert_eq!((&x.rewards, &x.terminated, &x.truncated), (&y.rewards, &y.terminated, &y.truncated), "step {t}");
        assert_eq!(x.episodes, y.episodes, "step {t}");
        games += x.episodes.len();
        lives += x.terminated.iter().filter(|&&d| d).count();
    }
    assert!(games >= 1 && lives > games, "the run crossed life losses ({lives}) and game overs ({games})");
}

/// ALE copies stepping side by side on threads (`--threads`, the GPU engine's
/// rollouts) give the run stepped in order, bit for bit: rewards, ends, games, and every
/// copy's emulator state, over life losses and game ends.
#[test]
fn threaded_atari_stepping_is_bit_identical_to_stepping_in_order() {
    let make = || env::make("BreakoutNoFrameskip-v4");
    let (mut seq, mut par) = (VecEnv::new(6, 11, make).unwrap(), VecEnv::new(6, 11, make).unwrap());
    par.set_threads(3).unwrap();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(4);
    let mut ends = 0;
    for _ in 0..1500 {
        let actions: Vec<Action> = (0..6).map(|_| Action::Discrete(rng.gen_range(0..4))).collect();
        let (a, b) = (seq.step(&actions).unwrap(), par.step(&actions).unwrap());
        assert_eq!((&a.rewards, &a.terminated, &a.truncated), (&b.rewards, &b.terminated, &b.truncated));
        assert_eq!(a.episodes.len(), b.episodes.len());
        ends += a.terminated.iter().filter(|&&t| t).count();
    }
    assert!(ends > 6, "lives were lost ({ends})");
    assert_eq!(seq.observations(), par.observations());
    assert!(seq.snapshot() == par.snapshot(), "the emulators' states differ");
}
