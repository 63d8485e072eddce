//! The book's reproductions page and the README's status table are what `acktr
//! reproductions` writes from the committed specs and results: a number typed into either, or
//! a result committed without rewriting them, fails here.

use std::fs;
use std::path::PathBuf;

use acktr::report::reproductions::{render, splice_readme};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn the_committed_reproductions_page_and_status_table_are_what_the_command_writes() {
    let root = root();
    let pages = render(&root.join("specs"), &root.join("results")).expect("the page renders");
    let page_path = root.join("docs/src/reproductions.md");
    let committed = fs::read_to_string(&page_path).expect("docs/src/reproductions.md");
    assert!(committed == pages.page, "docs/src/reproductions.md is not what `acktr reproductions` writes from specs/ and results/: run it and commit the result");
    let readme_path = root.join("README.md");
    let readme = fs::read_to_string(&readme_path).expect("README.md");
    let spliced = splice_readme(&readme, &readme_path, &pages.status).expect("the README has the status table's markers");
    assert!(spliced == readme, "README.md's status table is not what `acktr reproductions` writes: run it and commit the result");
}

#[test]
fn every_committed_result_is_on_the_page() {
    let root = root();
    let pages = render(&root.join("specs"), &root.join("results")).expect("the page renders");
    for entry in fs::read_dir(root.join("results")).expect("results/") {
        let path = entry.expect("an entry").path();
        if path.join("report.md").exists() {
            let name = path.file_name().unwrap().to_string_lossy().to_string();
            assert!(pages.page.contains(&format!("`results/{name}/report.md`")), "results/{name} is not on the page");
            assert!(pages.status.contains(&format!("(results/{name}/report.md)")), "results/{name} is not in the README's table");
        }
    }
}

/// `acktr reproductions`: `--check` says whether the committed files are current (they are:
/// the test above), and a README without the table's markers is bad input (exit 2) that
/// leaves both files as they were.
#[test]
fn the_command_checks_and_refuses_a_readme_without_markers() {
    let root = root();
    let repo = root.to_str().unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_acktr")).current_dir(repo).args(["reproductions", "--check"]).output().unwrap();
    assert!(out.status.success(), "{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    let dir = tempfile::tempdir().unwrap();
    let (page, readme) = (dir.path().join("page.md"), dir.path().join("README.md"));
    fs::write(&page, "old page\n").unwrap();
    fs::write(&readme, "# a README without the status table's markers\n").unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_acktr"))
        .current_dir(repo)
        .args(["reproductions", "--page", page.to_str().unwrap(), "--readme", readme.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", String::from_utf8_lossy(&out.stderr));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("README.md") && err.contains("marker"), "{err}");
    assert_eq!(fs::read_to_string(&page).unwrap(), "old page\n");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_acktr")).current_dir(repo).args(["reproductions", "--check", "--page", page.to_str().unwrap()]).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "a stale page: exit 1");
}
