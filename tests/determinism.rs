//! The same spec and seed give bit-identical logs on CPU: every column of
//! `episodes.parquet` and `updates.parquet` except the wall-clock ones
//! (`acktr::run::logs::WALL_CLOCK_COLUMNS`), which measure time by design.

use acktr::run::{self, logs};

#[test]
fn same_spec_and_seed_give_identical_logs() {
    identical_logs("specs/smoke.yaml");
}

/// The MuJoCo pipeline too (observation filter, whole-episode batches, 25 critic steps).
#[test]
fn the_mujoco_pipeline_gives_identical_logs() {
    identical_logs("specs/reacher.yaml");
}

fn identical_logs(spec_file: &str) {
    let spec_path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(spec_file);
    let spec = acktr::spec::load(&spec_path, "smoke").unwrap();
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    // Different parallelism (cells side by side, environment copies stepping on threads)
    // must not change results either.
    for (root, jobs, threads) in [(a.path(), 1, 1), (b.path(), 2, 3)] {
        run::reproduce(&spec, &run::RunOptions { results_root: root.into(), jobs, threads, progress: false, checkpoint_every: None }).unwrap();
    }
    for cell in spec.cells() {
        for file in ["episodes.parquet", "updates.parquet"] {
            let read = |root: &std::path::Path| {
                let df = logs::read_parquet(&run::cell_dir(root, &cell).join(file)).unwrap();
                df.drop_many(logs::WALL_CLOCK_COLUMNS.iter().copied())
            };
            let (x, y) = (read(a.path()), read(b.path()));
            assert!(x.height() > 0, "{file} of {} is empty", cell.hash);
            assert!(x.equals_missing(&y), "{file} of cell {} differs:\n{x}\n{y}", cell.hash);
            // Bit-level check of every float column.
            for (cx, cy) in x.columns().iter().zip(y.columns()) {
                if let (Ok(fx), Ok(fy)) = (cx.f64(), cy.f64()) {
                    let bx: Vec<Option<u64>> = (0..fx.len()).map(|i| fx.get(i).map(f64::to_bits)).collect();
                    let by: Vec<Option<u64>> = (0..fy.len()).map(|i| fy.get(i).map(f64::to_bits)).collect();
                    assert_eq!(bx, by, "column {} of {file}", cx.name());
                }
            }
        }
    }
}
