//! A cell another spec has already run (same hash: the same environment, row name,
//! configuration, grid point, seed and budget) is copied, not run again.

mod common;

use acktr::run;

fn spec(extra_env: &str) -> String {
    format!(
        "title: T\nreproduces: none\nenvs: [CartPole-v1{extra_env}]\nalgorithms:\n  - name: A2C\n    a2c: {{}}\nseeds: [0]\nbudget: {{total_timesteps: 200, num_envs: 2, steps_per_update: 5}}\n"
    )
}

#[test]
fn a_cell_finished_under_another_spec_is_copied_with_its_files() {
    let root = tempfile::tempdir().unwrap();
    let a = acktr::spec::parse(&spec(""), std::path::Path::new("specs/a.yaml"), "paper").unwrap();
    let b = acktr::spec::parse(&spec(", Pendulum-v1"), std::path::Path::new("specs/b.yaml"), "paper").unwrap();
    let opts = run::RunOptions { results_root: root.path().into(), jobs: 1, threads: 1, progress: false, checkpoint_every: None };
    let sa = run::reproduce(&a, &opts).unwrap();
    assert_eq!((sa.cells_run, sa.cells_reused), (1, 0));
    let sb = run::reproduce(&b, &opts).unwrap();
    assert_eq!((sb.cells_total, sb.cells_reused, sb.cells_run), (2, 1, 1), "CartPole copied, Pendulum run");
    let (ca, cb) = (&a.cells()[0], &b.cells()[0]);
    assert_eq!(ca.hash, cb.hash);
    for f in run::CELL_FILES {
        let x = std::fs::read(run::cell_dir(root.path(), ca).join(f)).unwrap();
        let y = std::fs::read(run::cell_dir(root.path(), cb).join(f)).unwrap();
        assert_eq!(x, y, "{f}");
    }
    // Nothing is left behind, and a second run has nothing to do.
    let leftovers = std::fs::read_dir(root.path().join("b")).unwrap().flatten().filter(|e| e.file_name().to_string_lossy().starts_with(".tmp")).count();
    assert_eq!(leftovers, 0);
    let again = run::reproduce(&b, &opts).unwrap();
    assert_eq!((again.cells_already_finished, again.cells_reused, again.cells_run), (2, 0, 0));
}
