//! Every spec in `specs/` is valid under every profile it defines, and its `smoke` profile
//! (the tiny budget CI can afford) runs to a complete report.

mod common;

use acktr::spec;

#[test]
fn every_spec_loads_under_every_profile() {
    let dir = common::repo().join("specs");
    let names = spec::list_specs(&dir);
    assert!(names.contains(&"smoke".to_string()), "{names:?}");
    for name in names {
        let path = dir.join(format!("{name}.yaml"));
        let s = spec::load(&path, spec::PAPER_PROFILE).unwrap_or_else(|e| panic!("{e}"));
        for profile in &s.profiles {
            let p = spec::load(&path, profile).unwrap_or_else(|e| panic!("{e}"));
            assert!(!p.cells().is_empty(), "{name}/{profile} has no cells");
        }
    }
}

#[test]
fn every_specs_smoke_profile_runs_to_a_complete_report() {
    let dir = common::repo().join("specs");
    for name in spec::list_specs(&dir) {
        let s = spec::load(&dir.join(format!("{name}.yaml")), "smoke").unwrap_or_else(|e| panic!("{name}: {e}"));
        let root = tempfile::tempdir().unwrap();
        acktr::run::reproduce(&s, &acktr::run::RunOptions { results_root: root.path().into(), jobs: 2, threads: 1, progress: false, checkpoint_every: None })
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let (report, path) = acktr::report::write(&s, root.path()).unwrap();
        // Atari smoke budgets (tens of timesteps: the conv networks' K-FAC on 2 cores) end no
        // game, and a smoke budget shorter per copy than the task's time limit (the pixel
        // specs' 50 steps of HalfCheetah) may end no episode; such a row may have no value,
        // and only then: every one of its cells must have run all its updates and logged no
        // episode.
        let gameless = |env: &str, alg: &str| {
            let mine: Vec<_> = s.cells().into_iter().filter(|c| c.env == env && c.row_label() == alg).collect();
            !mine.is_empty()
                && mine.iter().all(|c| {
                    let dir = acktr::run::cell_dir(root.path(), c);
                    let rows = |f: &str| acktr::run::logs::read_parquet(&dir.join(f)).map(|d| d.height()).unwrap_or(usize::MAX);
                    let budget = s.row_budget(s.algorithms.iter().find(|a| a.name == c.algorithm).unwrap());
                    let updates = budget.total_timesteps as usize / (budget.num_envs * budget.steps_per_update);
                    let time_limit = acktr::env::lookup(&c.env).map(|e| e.max_episode_steps).unwrap_or(usize::MAX);
                    let short = c.env.ends_with("NoFrameskip-v4") || (budget.total_timesteps as usize) / budget.num_envs < time_limit;
                    short && rows("episodes.parquet") == 0 && rows("updates.parquet") == updates
                })
        };
        assert_eq!(report.cells_finished, report.cells_total, "{name}");
        assert!(path.exists());
        for row in &report.rows {
            assert_eq!(row.seeds_finished, row.seeds_total, "{name}: {row:?}");
            for (m, spec_m) in row.metrics.iter().zip(&s.metrics) {
                assert_eq!(m.agg.n_seeds, row.seeds_total, "{name}: {} {}", row.env, row.algorithm);
                // A threshold may legitimately not be reached at a smoke budget (N/A).
                if !matches!(spec_m.kind, spec::MetricKind::EpisodesToThreshold { .. }) && !gameless(&row.env, &row.algorithm) {
                    assert!(m.agg.value.is_some_and(f64::is_finite), "{name}: {} {} has no value", row.env, row.algorithm);
                }
            }
        }
    }
}

#[test]
fn cell_hashes_are_stable_and_distinct() {
    let s = spec::load(&common::repo().join("specs/smoke.yaml"), "smoke").unwrap();
    let cells = s.cells();
    let mut hashes: Vec<_> = cells.iter().map(|c| c.hash.clone()).collect();
    hashes.sort();
    hashes.dedup();
    assert_eq!(hashes.len(), cells.len());
    assert_eq!(s.cells(), cells, "expansion is deterministic");
    let paper = spec::load(&common::repo().join("specs/smoke.yaml"), "paper").unwrap();
    assert_ne!(paper.cells()[0].hash, cells[0].hash, "a different budget is a different cell");
}

#[test]
fn the_cpu_engine_leaves_cell_hashes_as_they_were() {
    // `engine: cpu` (written or by `--engine`) is the default and does not enter a cell's
    // key, so results computed before the engine field existed are still found.
    let path = common::repo().join("specs/smoke.yaml");
    let plain = spec::load(&path, "smoke").unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    let written = spec::parse(&format!("engine: cpu\n{text}"), &path, "smoke").unwrap();
    let flagged = spec::load(&path, "smoke").unwrap().with_engine(acktr::nets::Engine::Cpu).unwrap();
    let hashes = |s: &spec::Spec| s.cells().into_iter().map(|c| c.hash).collect::<Vec<_>>();
    assert_eq!(hashes(&written), hashes(&plain));
    assert_eq!(hashes(&flagged), hashes(&plain));
    assert!(plain.cells().iter().all(|c| c.config.engine() == acktr::nets::Engine::Cpu));
    // And the committed results' cells (computed before the field existed) are in their
    // specs' plans.
    let results = common::repo().join("results");
    let mut checked = 0;
    for spec_dir in std::fs::read_dir(&results).unwrap().flatten().filter(|e| e.path().is_dir()) {
        let name = spec_dir.file_name().to_string_lossy().into_owned();
        let spec_path = common::repo().join("specs").join(format!("{name}.yaml"));
        if !spec_path.exists() {
            continue;
        }
        // Each profile's plan, loaded once per spec.
        let mut plans: std::collections::HashMap<String, std::collections::HashSet<String>> = Default::default();
        let mut in_plan = |profile: &str, hash: &str| {
            plans.entry(profile.to_string()).or_insert_with(|| spec::load(&spec_path, profile).unwrap().cells().into_iter().map(|c| c.hash).collect()).contains(hash)
        };
        let all_profiles: Vec<String> = std::iter::once("paper".to_string()).chain(spec::load(&spec_path, "paper").unwrap().profiles).collect();
        for cell in std::fs::read_dir(spec_dir.path()).unwrap().flatten() {
            let prov = cell.path().join("provenance.json");
            let Ok(text) = std::fs::read_to_string(&prov) else { continue };
            let v: serde_json::Value = serde_json::from_str(&text).unwrap();
            let hash = cell.file_name().to_string_lossy().into_owned();
            // A cell copied from another spec's results (the same key) keeps the provenance
            // of the run that made it, so its profile is that spec's: look in every profile.
            // So does a cell whose profile has since been retired (a profile's budget made
            // the spec's own, as `atari_pong`'s `three_million`): its key must still be in
            // one of the spec's plans.
            let recorded = v["profile"].as_str().unwrap().to_string();
            let profiles: Vec<String> = if v["cell"]["spec"].as_str() == Some(name.as_str()) && all_profiles.contains(&recorded) { vec![recorded] } else { all_profiles.clone() };
            let found = profiles.iter().any(|p| in_plan(p, &hash));
            assert!(found, "{}: not in {name}'s plan under {profiles:?}", cell.path().display());
            checked += 1;
        }
    }
    assert!(checked > 0, "no committed cell was checked");
}

/// A profile's shorter run is the paper's run cut short: its schedules anneal over the
/// spec's budget as written (or the spec's `schedule_timesteps`), the report says so, and a
/// run at the budget as written has no horizon of its own in its key.
#[test]
fn a_shorter_profile_keeps_the_schedules_of_the_run_it_cuts_short() {
    let table1 = spec::load(&common::repo().join("specs/table1.yaml"), "smoke").unwrap();
    for a in &table1.algorithms {
        let b = table1.row_budget(a);
        let written = a.budget.total_timesteps.unwrap_or(50_000_000);
        assert_eq!((b.total_timesteps, b.schedule_horizon()), (40, written), "{}", a.name);
    }
    let paper = spec::load(&common::repo().join("specs/table1.yaml"), "paper").unwrap();
    assert!(paper.algorithms.iter().all(|a| paper.row_budget(a).schedule_timesteps.is_none()));
    let pong = spec::load(&common::repo().join("specs/atari_pong.yaml"), "paper").unwrap();
    assert!(pong.algorithms.iter().all(|a| {
        let b = pong.row_budget(a);
        (b.total_timesteps, b.schedule_horizon()) == (3_000_000, 50_000_000)
    }));
    let empty = tempfile::tempdir().unwrap();
    let md = acktr::report::render_markdown(&acktr::report::build(&pong, empty.path()).unwrap());
    assert!(md.contains("A run cut short") && md.contains("ACKTR runs 3000000 of 50000000 timesteps"), "{md}");
}

/// A cell whose schedules are constant computes the same whatever horizon they would anneal
/// over, so the horizon is not in its key: Table 2's `quick` profile (1M of 30M timesteps)
/// is Figure 3's cells, where nothing anneals. A linear schedule keeps the horizon in the key.
#[test]
fn the_horizon_is_in_a_cells_key_only_where_a_schedule_reads_it() {
    let repo = common::repo();
    let quick = spec::load(&repo.join("specs/table2.yaml"), "quick").unwrap();
    let fig3 = spec::load(&repo.join("specs/fig3.yaml"), "paper").unwrap();
    let fig3_hashes: std::collections::BTreeSet<String> = fig3.cells().into_iter().map(|c| c.hash).collect();
    for c in quick.cells() {
        assert!(c.budget.schedule_timesteps.is_some(), "{} {}: table2's quick profile is Table 2's run cut short", c.env, c.algorithm);
        assert!(!c.config.settings().anneals(), "{} {}", c.env, c.algorithm);
        assert!(fig3_hashes.contains(&c.hash), "{} {} seed {}: not one of Figure 3's cells", c.env, c.algorithm, c.seed);
    }
    let text = std::fs::read_to_string(repo.join("specs/atari_pong.yaml")).unwrap();
    let path = repo.join("specs/atari_pong.yaml");
    let cut = spec::parse(&text, &path, "first_million").unwrap();
    // Another horizon, still at least every profile's budget.
    let other = spec::parse(&text.replace("  schedule_timesteps: 50000000", "  schedule_timesteps: 40000000"), &path, "first_million").unwrap();
    for (a, b) in cut.cells().iter().zip(other.cells()) {
        assert!(a.config.settings().anneals(), "{}: a linear schedule", a.algorithm);
        assert_ne!(a.hash, b.hash, "{}: the horizon of a linear schedule is in the key", a.algorithm);
    }
}

/// A profile's `envs` runs some of the spec's environments: the same cells, fewer of them.
#[test]
fn a_profile_can_run_some_of_the_environments() {
    let path = common::repo().join("specs/fig4.yaml");
    let some = spec::load(&path, "reacher_short").unwrap();
    assert_eq!(some.envs, vec!["Reacher-v5".to_string()]);
    let cells = some.cells();
    assert_eq!(cells.len(), 2, "ACKTR and A2C, one seed");
    assert!(cells.iter().all(|c| c.env == "Reacher-v5" && c.budget.total_timesteps == 1_000_000));
    let all = spec::load(&path, "paper").unwrap();
    assert_eq!(all.envs.len(), 3);
}
