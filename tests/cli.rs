//! The command line beyond `reproduce`: `bench`, `plan`, `list`.

mod common;

use common::{acktr, repo};

#[test]
fn bench_prints_one_json_line_with_the_documented_fields() {
    for algo in ["none", "a2c", "acktr"] {
        let out = acktr(&repo(), &["bench", "--env", "CartPole-v1", "--algo", algo, "--steps", "2000", "--num-envs", "4", "--steps-per-update", "20"]);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let stdout = String::from_utf8(out.stdout).unwrap();
        assert_eq!(stdout.lines().count(), 1, "{stdout}");
        let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
        assert_eq!(v["env"], "CartPole-v1");
        assert_eq!(v["algo"], algo);
        assert!(v["steps"].as_u64().unwrap() >= 2000);
        assert!(v["seconds"].as_f64().unwrap() > 0.0 && v["steps_per_sec"].as_f64().unwrap() > 0.0);
    }
    let out = acktr(&repo(), &["bench", "--env", "CartPole-v1", "--algo", "ppo"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown algorithm `ppo`"));
}

#[test]
fn plan_and_list_describe_the_smoke_spec() {
    let dir = tempfile::tempdir().unwrap();
    let results = dir.path().to_str().unwrap();
    let out = acktr(&repo(), &["--results", results, "plan", "smoke", "--profile", "smoke"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success() && stdout.contains("8 cells, 25600 timesteps in total"), "{stdout}");
    assert_eq!(stdout.matches(" todo").count(), 8, "{stdout}");
    let out = acktr(&repo(), &["list"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("smoke") && stdout.contains("profiles: paper, smoke"), "{stdout}");
}

/// MuJoCo tasks from the command line; MuJoCo's messages (HalfCheetah's model triggers a
/// compiler warning) go to stderr and no `MUJOCO_LOG.TXT` lands in the working directory.
#[test]
fn bench_steps_mujoco_without_littering_the_working_directory() {
    let cwd = tempfile::tempdir().unwrap();
    for algo in ["none", "mujoco"] {
        let out = acktr(cwd.path(), &["bench", "--env", "HalfCheetah-v5", "--algo", algo, "--steps", "300"]);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(v["steps"].as_u64().unwrap(), 300);
        assert!(String::from_utf8_lossy(&out.stderr).contains("settotalmass"));
    }
    let left: Vec<_> = std::fs::read_dir(cwd.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert!(left.is_empty(), "files left in the working directory: {left:?}");
    let out = acktr(cwd.path(), &["bench", "--env", "CartPole-v1", "--algo", "mujoco"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("needs a MuJoCo task"));
}

/// `--threads` (alias `--env-threads`) takes 1 or more (results do not depend on it);
/// anything else is refused with exit code 2, naming the flag, before anything runs.
#[test]
fn threads_must_be_at_least_one() {
    let dir = tempfile::tempdir().unwrap();
    let results = dir.path().to_str().unwrap();
    for args in [
        vec!["bench", "--env", "CartPole-v1", "--algo", "none", "--threads", "0"],
        vec!["--results", results, "reproduce", "smoke", "--profile", "smoke", "--threads", "0"],
        vec!["--results", results, "run-cell", "smoke", "--profile", "smoke", "--index", "0", "--threads", "two"],
    ] {
        let out = acktr(&repo(), &args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains("--threads") && stderr.contains("1 or more"), "{args:?}: {stderr}");
    }
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0, "nothing was written");
    let out = acktr(&repo(), &["bench", "--env", "CartPole-v1", "--algo", "none", "--steps", "400", "--num-envs", "4", "--threads", "2"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_str(String::from_utf8(out.stdout).unwrap().trim()).unwrap();
    assert_eq!(v["threads"], 2);
    let out = acktr(&repo(), &["bench", "--env", "CartPole-v1", "--algo", "none", "--steps", "400", "--num-envs", "4", "--env-threads", "3"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_str(String::from_utf8(out.stdout).unwrap().trim()).unwrap();
    assert_eq!(v["threads"], 3, "the alias sets the same count");
}

/// One rule for bad input on the command line, whatever the command: exit code 2 and one line
/// on stderr naming the flag or value; nothing written.
#[test]
fn bad_command_line_input_exits_2_with_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("a-file");
    std::fs::write(&file, "").unwrap();
    let results = dir.path().join("results");
    let results = results.to_str().unwrap();
    for (args, expected) in [
        (vec!["bench", "--env", "Nope-v0", "--algo", "none"], vec!["unknown environment `Nope-v0`"]),
        (vec!["--results", results, "reproduce", "smoke", "--profile", "smoke", "--jobs", "0"], vec!["--jobs", "`0`", "1 or more"]),
        (vec!["--results", results, "check", "smoke", "--profile", "smoke", "--jobs", "0"], vec!["--jobs", "`0`"]),
        (vec!["--results", file.to_str().unwrap(), "reproduce", "smoke", "--profile", "smoke"], vec!["--results", "a-file", "not a directory"]),
    ] {
        let out = acktr(&repo(), &args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        for piece in expected {
            assert!(stderr.contains(piece), "{args:?}: `{piece}` missing from {stderr}");
        }
        assert!(!stderr.contains("Caused by") && !stderr.contains("backtrace"), "{args:?}: one line, not a chain: {stderr}");
    }
    assert!(!dir.path().join("results").exists(), "nothing was written");
}
