//! A cell another spec has already run (same hash: the same environment, row name,
//! configuration, grid point, seed and budget) is copied, not run again; a cell another
//! process is running is left to it.

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

#[test]
fn a_cell_another_process_holds_is_left_to_it_and_status_names_the_holder() {
    let root = tempfile::tempdir().unwrap();
    let a = acktr::spec::parse(&spec(", Pendulum-v1"), std::path::Path::new("specs/a.yaml"), "paper").unwrap();
    let opts = run::RunOptions { results_root: root.path().into(), jobs: 2, threads: 1, progress: false, checkpoint_every: None };
    let cells = a.cells();
    std::fs::create_dir_all(root.path().join("a")).unwrap();
    // Another run holds the CartPole cell (a flock on its own open file: the same as another
    // process's).
    let held = run::lock::try_take(root.path(), &cells[0]).unwrap().expect("a free lock");
    let owner = run::temp_owner();
    assert_eq!(run::lock::try_take(root.path(), &cells[0]).unwrap().unwrap_err(), owner);
    assert_eq!(run::lock::holder(root.path(), &cells[0]), Some(owner.clone()));
    assert_eq!(run::lock::holder(root.path(), &cells[1]), None);
    let (states, _) = run::slurm::status(&a, root.path());
    assert_eq!(states[0].0, run::slurm::CellStatus::Running { owner: owner.clone() });
    assert_eq!(states[1].0, run::slurm::CellStatus::ToDo);
    let s = run::reproduce(&a, &opts).unwrap();
    assert_eq!((s.cells_run, s.cells_elsewhere), (1, 1), "Pendulum run, CartPole left to its holder");
    assert!(!run::is_finished(root.path(), &cells[0]) && run::is_finished(root.path(), &cells[1]));
    assert!(!run::lock::path(root.path(), &cells[1]).exists(), "a published cell's lock file is removed");
    // Once the holder is gone (a process's locks go with it), the cell runs.
    drop(held);
    assert_eq!(run::lock::holder(root.path(), &cells[0]), None);
    let s = run::reproduce(&a, &opts).unwrap();
    assert_eq!((s.cells_run, s.cells_elsewhere), (1, 0));
    assert!(run::is_finished(root.path(), &cells[0]));
}
