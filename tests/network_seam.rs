//! The network seam (README "Architecture"): the paper's Atari actor-critic is assembled
//! from configuration and trained by ACKTR through the same interface and K-FAC glue as the
//! MuJoCo networks; and the module graph has no cycles.

use std::collections::{BTreeMap, BTreeSet};

use acktr::algo::{AlgorithmConfig, Architecture, NetworkConfig, Progress, Rollout};
use acktr::nets::Activation;
use acktr::env::{ActionSpace, ObservationSpace};
use rand::SeedableRng;

/// A shared ReLU network on a conv torso (paper appendix A.1).
fn atari_network(architecture: Architecture) -> NetworkConfig {
    NetworkConfig { architecture, policy_activation: Activation::Relu, ..Default::default() }
}

fn stat(stats: &acktr::algo::UpdateStats, key: &str) -> f64 {
    stats.0.iter().find(|(k, _)| *k == key).unwrap().1
}

#[test]
fn acktr_updates_the_paper_atari_network_on_a_synthetic_batch() {
    let obs = ObservationSpace::Frames { channels: 4, height: 84, width: 84 };
    let act = ActionSpace::Discrete { n: 6 };
    // baselines' Atari ACKTR, K-FAC from the first update (no cold start), on the paper's
    // conv torso (appendix A.1).
    // (Built from the typed configuration: no environment with image observations is
    // registered yet, and the spec checker refuses a conv torso on CartPole.)
    let base = acktr::algo::acktr::Preset::BaselinesAtari.config();
    let cfg = AlgorithmConfig::Acktr(acktr::algo::AcktrConfig {
        kfac: acktr::kfac::KfacConfig { cold_start: None, ..base.kfac.clone() },
        network: atari_network(Architecture::AtariAcktr),
        ..base
    });
    let mut algo = cfg.build(&obs, &act, 0).unwrap();
    let blocks = algo.policy().blocks().to_vec();
    assert_eq!(blocks.len(), 6, "{blocks:?}");
    assert!(blocks[0].name.contains("conv 4x8x8 -> 32"), "{}", blocks[0].name);
    let rollout = Rollout::synthetic(&mut rand_chacha::ChaCha8Rng::seed_from_u64(0), 2, 3, 4 * 84 * 84, &act);
    let before = algo.policy().params();
    let progress = Progress { timesteps_done: 0, schedule_timesteps: 1000 };
    let stats = algo.update(&rollout, progress).unwrap();
    assert_eq!(stat(&stats, "kfac_event"), 0.0, "a K-FAC step, not a skip or a cold start: {stats:?}");
    assert!(stat(&stats, "nu") > 0.0 && stat(&stats, "exact_kl").is_finite(), "{stats:?}");
    let after = algo.policy().params();
    assert_eq!(after.len(), before.len());
    assert!(after.iter().all(|x| x.is_finite()));
    // The step moved most parameters, the convolutions' included (they come first).
    let changed = before.iter().zip(&after).filter(|(a, b)| a != b).count();
    assert!(changed > before.len() / 2, "{changed} of {} parameters changed", before.len());
    assert_ne!(before[..blocks[0].numel()], after[..blocks[0].numel()], "the first convolution did not move");
    // The same batch acts: distributions over 6 actions for 6 rows.
    let (dist, values) = algo.policy().act(&rollout.obs, &rollout.episode_steps, rollout.len()).unwrap();
    assert!(matches!(dist, acktr::nets::DistParams::Categorical { n: 6, .. }));
    assert_eq!(values.len(), 6);
}

#[test]
fn trpo_steps_its_atari_network_on_a_synthetic_batch() {
    // baselines' trpo_mpi/run_atari.py settings on the paper's small TRPO network
    // (appendix A.1: conv 8 8x8/4, conv 16 4x4/2, fc 128), separate policy and value.
    let obs = ObservationSpace::Frames { channels: 4, height: 84, width: 84 };
    let act = ActionSpace::Discrete { n: 6 };
    let cfg = AlgorithmConfig::Trpo(acktr::algo::trpo::Preset::BaselinesAtari.config());
    let mut algo = cfg.build(&obs, &act, 0).unwrap();
    let blocks = algo.policy().blocks().to_vec();
    assert!(blocks[0].name.contains("conv 4x8x8 -> 8") && blocks[1].name.contains("conv 8x4x4 -> 16"), "{blocks:?}");
    let mut rollout = Rollout::synthetic(&mut rand_chacha::ChaCha8Rng::seed_from_u64(0), 4, 5, 4 * 84 * 84, &act);
    // Rewards that vary, so the advantages (standardised per batch) are not all equal.
    rollout.rewards.iter_mut().enumerate().for_each(|(i, r)| *r = (i % 3) as f32);
    let before = algo.policy().policy_params();
    let stats = algo.update(&rollout, Progress { timesteps_done: 0, schedule_timesteps: 1000 }).unwrap();
    let after = algo.policy().policy_params();
    assert!(after.iter().all(|x| x.is_finite()));
    // An accepted step within the trust region (mean KL <= 1.5 max_kl, max_kl 0.001) that
    // improved the surrogate.
    assert_eq!(stat(&stats, "stepped"), 1.0, "{stats:?}");
    assert!(stat(&stats, "mean_kl") > 0.0 && stat(&stats, "mean_kl") <= 1.5e-3, "{stats:?}");
    assert!(stat(&stats, "surrogate_improve") >= 0.0, "{stats:?}");
    assert_ne!(before, after);
}

#[test]
fn a2c_trains_the_same_network_through_the_same_interface() {
    let obs = ObservationSpace::Frames { channels: 4, height: 84, width: 84 };
    let act = ActionSpace::Discrete { n: 4 };
    let cfg = AlgorithmConfig::A2c(acktr::algo::A2cConfig { network: atari_network(Architecture::Nature), ..Default::default() });
    let mut algo = cfg.build(&obs, &act, 0).unwrap();
    let rollout = Rollout::synthetic(&mut rand_chacha::ChaCha8Rng::seed_from_u64(1), 2, 2, 4 * 84 * 84, &act);
    let before = algo.policy().params();
    let stats = algo.update(&rollout, Progress { timesteps_done: 0, schedule_timesteps: 100 }).unwrap();
    assert!(stat(&stats, "grad_norm") > 0.0);
    assert_ne!(algo.policy().params(), before);
}

#[test]
fn a_conv_torso_on_vector_observations_is_an_error_not_a_panic() {
    let cfg = AlgorithmConfig::Acktr(acktr::algo::AcktrConfig { network: atari_network(Architecture::AtariAcktr), ..Default::default() });
    let err = cfg.build(&ObservationSpace::Vector { dim: 4 }, &ActionSpace::Discrete { n: 2 }, 0).err().expect("refused");
    assert!(err.to_string().contains("image observations"), "{err}");
}

/// The top-level modules each file of `src/` imports (`crate::x`, or `super::x` from a
/// module's own files).
fn module_graph() -> BTreeMap<String, BTreeSet<String>> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let modules: BTreeSet<String> = std::fs::read_dir(&root)
        .unwrap()
        .flatten()
        .filter_map(|e| {
            let p = e.path();
            let name = p.file_stem()?.to_str()?.to_string();
            (p.is_dir() || (p.extension()? == "rs" && name != "lib" && name != "main")).then_some(name)
        })
        .collect();
    let mut graph: BTreeMap<String, BTreeSet<String>> = modules.iter().map(|m| (m.clone(), BTreeSet::new())).collect();
    let mut stack = vec![root.clone()];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
                continue;
            }
            let rel = p.strip_prefix(&root).unwrap();
            let Some(own) = rel.iter().next().and_then(|c| c.to_str()).map(|c| c.trim_end_matches(".rs").to_string()) else { continue };
            if !modules.contains(&own) {
                continue;
            }
            let text = std::fs::read_to_string(&p).unwrap();
            // Test modules may reach anywhere; the graph is about the library.
            let text = text.split("#[cfg(test)]").next().unwrap();
            let text: String = text.lines().filter(|l| !l.trim_start().starts_with("//")).collect::<Vec<_>>().join("\n");
            for m in &modules {
                if m != &own && text.contains(&format!("crate::{m}")) {
                    graph.get_mut(&own).unwrap().insert(m.clone());
                }
            }
        }
    }
    graph
}

#[test]
fn the_module_graph_has_no_cycles() {
    let graph = module_graph();
    // Depth-first search for a back edge, reporting the cycle.
    fn visit(n: &str, g: &BTreeMap<String, BTreeSet<String>>, path: &mut Vec<String>, done: &mut BTreeSet<String>) {
        if let Some(i) = path.iter().position(|p| p == n) {
            panic!("module cycle: {} -> {n}", path[i..].join(" -> "));
        }
        if done.contains(n) {
            return;
        }
        path.push(n.to_string());
        for m in &g[n] {
            visit(m, g, path, done);
        }
        path.pop();
        done.insert(n.to_string());
    }
    let mut done = BTreeSet::new();
    for n in graph.keys() {
        visit(n, &graph, &mut Vec::new(), &mut done);
    }
    // The layering README "Architecture" describes.
    let order = ["check", "env", "optim", "nets", "kfac", "algo", "conformance", "metric", "spec", "run", "report", "cli"];
    for (i, m) in order.iter().enumerate() {
        for dep in &graph[*m] {
            let j = order.iter().position(|o| o == dep).unwrap_or_else(|| panic!("{dep} is not in the documented layering"));
            assert!(j < i, "{m} imports {dep}, which README puts above it");
        }
    }
}

/// Within each folder of `src/`, which sibling files (or subfolders) each file's library code
/// names through `super::` (test modules and comments left out): a folder's graph.
fn sibling_graphs() -> Vec<(std::path::PathBuf, BTreeMap<String, BTreeSet<String>>)> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut out = Vec::new();
    let mut stack = vec![root];
    while let Some(dir) = stack.pop() {
        let mut files = Vec::new();
        let mut names = BTreeSet::new();
        for e in std::fs::read_dir(&dir).unwrap().flatten() {
            let p = e.path();
            let name = p.file_stem().unwrap().to_str().unwrap().to_string();
            if p.is_dir() {
                stack.push(p.clone());
                names.insert(name);
            } else if p.extension().is_some_and(|x| x == "rs") && !["mod", "lib", "main"].contains(&name.as_str()) {
                names.insert(name.clone());
                files.push((name, p));
            }
        }
        let mut graph: BTreeMap<String, BTreeSet<String>> = names.iter().map(|n| (n.clone(), BTreeSet::new())).collect();
        for (own, path) in files {
            let text = std::fs::read_to_string(&path).unwrap();
            let text = text.split("#[cfg(test)]").next().unwrap();
            let text: String = text.lines().filter(|l| !l.trim_start().starts_with("//")).collect::<Vec<_>>().join("\n");
            for (i, _) in text.match_indices("super::") {
                if text[..i].ends_with("super::") {
                    continue;
                }
                let rest = &text[i + "super::".len()..];
                let named: Vec<&str> = match rest.strip_prefix('{') {
                    Some(group) => group[..group.find('}').unwrap_or(group.len())].split(',').map(|n| n.trim().split("::").next().unwrap().trim()).collect(),
                    None => vec![rest.split(|c: char| !(c.is_alphanumeric() || c == '_')).next().unwrap()],
                };
                for n in named {
                    if n != own && names.contains(n) {
                        graph.get_mut(&own).unwrap().insert(n.to_string());
                    }
                }
            }
        }
        out.push((dir, graph));
    }
    out
}

/// No two files of a folder import each other, directly or round a longer loop.
#[test]
fn no_folder_has_an_import_cycle_between_its_files() {
    fn visit(n: &str, g: &BTreeMap<String, BTreeSet<String>>, path: &mut Vec<String>, done: &mut BTreeSet<String>) -> Option<String> {
        if let Some(i) = path.iter().position(|p| p == n) {
            return Some(format!("{} -> {n}", path[i..].join(" -> ")));
        }
        if done.contains(n) {
            return None;
        }
        path.push(n.to_string());
        for m in &g[n] {
            if let Some(c) = visit(m, g, path, done) {
                return Some(c);
            }
        }
        path.pop();
        done.insert(n.to_string());
        None
    }
    let graphs = sibling_graphs();
    assert!(graphs.iter().any(|(_, g)| g.values().any(|e| !e.is_empty())), "the scan finds the folders' imports");
    for (dir, graph) in &graphs {
        let mut done = BTreeSet::new();
        for n in graph.keys() {
            if let Some(cycle) = visit(n, graph, &mut Vec::new(), &mut done) {
                panic!("{}: import cycle {cycle}", dir.display());
            }
        }
    }
}
