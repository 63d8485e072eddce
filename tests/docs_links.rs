//! Every relative link in the README and the book (`docs/src/**/*.md`) points at a file
//! that exists, and every `#anchor` at a heading of its target.
//!
//! Links are inline Markdown links and images, `[text](path)`, `[text](path#anchor)` and
//! `[text](#anchor)`, outside code spans and fenced code blocks. External links (`http:`,
//! `https:`, `mailto:`) are not checked. Anchors follow mdBook's and GitHub's rule: the
//! heading's text (inline code, emphasis and links reduced to their text), lowercased,
//! whitespace to `-`, every character other than letters, digits, `-` and `_` dropped; a
//! repeated heading gets `-1`, `-2`, ... A page of the book may link only inside
//! `docs/src/`, since mdBook renders only that tree.

use std::collections::HashSet;
use std::fs;
use std::path::{Component, Path, PathBuf};

/// One link found in a Markdown file: its target as written and the line it is on.
struct Link {
    target: String,
    line: usize,
}

/// The repository root (where `Cargo.toml` is).
fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Every Markdown file under `dir`, recursively, sorted.
fn markdown_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .map(|e| e.expect("a directory entry").path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            markdown_files(&p, out);
        } else if p.extension().is_some_and(|e| e == "md") {
            out.push(p);
        }
    }
}

/// Whether `line` opens or closes a fenced code block (three or more backticks or tildes,
/// indented by at most three spaces), and with which fence character.
fn fence(line: &str) -> Option<(char, usize)> {
    let indent = line.len() - line.trim_start_matches(' ').len();
    if indent > 3 {
        return None;
    }
    let t = &line[indent..];
    let c = t.chars().next()?;
    if c != '`' && c != '~' {
        return None;
    }
    let n = t.chars().take_while(|&x| x == c).count();
    (n >= 3).then_some((c, n))
}

/// The lines of `text` outside fenced code blocks, with their 1-based numbers.
fn prose_lines(text: &str) -> Vec<(usize, &str)> {
    let mut out = Vec::new();
    let mut open: Option<(char, usize)> = None;
    for (i, line) in text.lines().enumerate() {
        match (open, fence(line)) {
            (None, Some(f)) => open = Some(f),
            (Some((c, n)), Some((c2, n2))) if c == c2 && n2 >= n && line.trim()[n2..].trim().is_empty() => open = None,
            (None, None) => out.push((i + 1, line)),
            _ => {}
        }
    }
    out
}

/// `line` with its code spans removed (the backtick runs and what they enclose).
fn without_code_spans(line: &str) -> String {
    let b: Vec<char> = line.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == '`' {
            let n = b[i..].iter().take_while(|&&c| c == '`').count();
            // Find the closing run of exactly n backticks.
            let mut j = i + n;
            let mut close = None;
            while j < b.len() {
                if b[j] == '`' {
                    let m = b[j..].iter().take_while(|&&c| c == '`').count();
                    if m == n {
                        close = Some(j + m);
                        break;
                    }
                    j += m;
                } else {
                    j += 1;
                }
            }
            match close {
                Some(end) => {
                    out.push(' ');
                    i = end;
                }
                None => {
                    out.extend(&b[i..i + n]);
                    i += n;
                }
            }
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    out
}

/// The inline links of one line of prose (code spans already removed): `[text](target)`,
/// the target up to the first space (a title may follow) or the closing parenthesis.
fn links_in(line: &str, number: usize, out: &mut Vec<Link>) {
    let b: Vec<char> = line.chars().collect();
    let mut i = 0;
    while i + 1 < b.len() {
        if b[i] == ']' && b[i + 1] == '(' {
            // Only a `]` that closes a `[` earlier on the line starts a link.
            if !b[..i].contains(&'[') {
                i += 1;
                continue;
            }
            let start = i + 2;
            let j = closing_paren(&b, start);
            if j < b.len() {
                let inner: String = b[start..j].iter().collect();
                let target = inner.trim().split_whitespace().next().unwrap_or("").trim_matches(|c| c == '<' || c == '>').to_string();
                if !target.is_empty() {
                    out.push(Link { target, line: number });
                }
            }
            i = j;
        } else {
            i += 1;
        }
    }
}

/// The index of the `)` that closes a parenthesis opened just before `start` (nested pairs
/// skipped), or `b.len()` when none does.
fn closing_paren(b: &[char], start: usize) -> usize {
    let mut depth = 0usize;
    let mut j = start;
    while j < b.len() {
        match b[j] {
            '(' => depth += 1,
            ')' if depth == 0 => break,
            ')' => depth -= 1,
            _ => {}
        }
        j += 1;
    }
    j
}

/// Every link of a Markdown file.
fn links(text: &str) -> Vec<Link> {
    let mut out = Vec::new();
    for (n, line) in prose_lines(text) {
        links_in(&without_code_spans(line), n, &mut out);
    }
    out
}

/// A heading's text as rendered: code spans keep their content, links their text, emphasis
/// markers and HTML tags go.
fn heading_text(raw: &str) -> String {
    let mut s = String::new();
    let b: Vec<char> = raw.chars().collect();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            '`' | '*' => i += 1,
            '[' => i += 1,
            ']' if i + 1 < b.len() && b[i + 1] == '(' => {
                // Skip the link's target.
                i = closing_paren(&b, i + 2) + 1;
            }
            '<' => {
                while i < b.len() && b[i] != '>' {
                    i += 1;
                }
                i += 1;
            }
            c => {
                s.push(c);
                i += 1;
            }
        }
    }
    s
}

/// mdBook's and GitHub's anchor for a heading's text.
fn anchor_of(text: &str) -> String {
    text.trim()
        .chars()
        .filter_map(|c| {
            if c.is_alphanumeric() || c == '-' || c == '_' {
                Some(c.to_lowercase().collect::<String>())
            } else if c.is_whitespace() {
                Some("-".to_string())
            } else {
                None
            }
        })
        .collect()
}

/// The anchors of a Markdown file's headings (ATX headings outside code blocks), with
/// `-1`, `-2`, ... for repeats.
fn anchors(text: &str) -> HashSet<String> {
    let mut seen = HashSet::new();
    for (_, line) in prose_lines(text) {
        let t = line.trim_start();
        if line.len() - t.len() > 3 {
            continue;
        }
        let hashes = t.chars().take_while(|&c| c == '#').count();
        if hashes == 0 || hashes > 6 {
            continue;
        }
        let rest = &t[hashes..];
        if !(rest.is_empty() || rest.starts_with(' ') || rest.starts_with('\t')) {
            continue;
        }
        let title = rest.trim().trim_end_matches('#').trim_end();
        let base = anchor_of(&heading_text(title));
        let mut id = base.clone();
        let mut k = 0;
        while seen.contains(&id) {
            k += 1;
            id = format!("{base}-{k}");
        }
        seen.insert(id);
    }
    seen
}

/// `path` with `.` and `..` resolved lexically.
fn normalise(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

/// The problems with one file's links, as `file:line: message`.
fn check_file(file: &Path, book: &Path, problems: &mut Vec<String>) {
    let root = root();
    let text = fs::read_to_string(file).unwrap_or_else(|e| panic!("cannot read {}: {e}", file.display()));
    let shown = file.strip_prefix(&root).unwrap_or(file).display().to_string();
    let dir = file.parent().expect("a file has a directory");
    for link in links(&text) {
        let t = link.target.as_str();
        if t.starts_with("http://") || t.starts_with("https://") || t.starts_with("mailto:") {
            continue;
        }
        let at = format!("{shown}:{}", link.line);
        let (path_part, anchor) = match t.split_once('#') {
            Some((p, a)) => (p, Some(a)),
            None => (t, None),
        };
        let target = if path_part.is_empty() { file.to_path_buf() } else { normalise(&dir.join(path_part)) };
        if !target.exists() {
            problems.push(format!("{at}: `{t}`: {} does not exist", target.strip_prefix(&root).unwrap_or(&target).display()));
            continue;
        }
        if file.starts_with(book) && !target.starts_with(book) {
            problems.push(format!("{at}: `{t}` leaves docs/src/, which mdBook does not render; name the file in code instead"));
            continue;
        }
        if let Some(a) = anchor {
            if target.extension().is_none_or(|e| e != "md") {
                problems.push(format!("{at}: `{t}`: an anchor into a file that is not Markdown"));
                continue;
            }
            let target_text = fs::read_to_string(&target).unwrap_or_else(|e| panic!("cannot read {}: {e}", target.display()));
            if !anchors(&target_text).contains(a) {
                problems.push(format!("{at}: `{t}`: no heading with anchor `#{a}` in {}", target.strip_prefix(&root).unwrap_or(&target).display()));
            }
        }
    }
}

#[test]
fn every_relative_link_and_anchor_of_the_readme_and_the_book_resolves() {
    let root = root();
    let book = root.join("docs/src");
    let mut files = vec![root.join("README.md")];
    markdown_files(&book, &mut files);
    assert!(files.len() > 1, "no book pages found under {}", book.display());
    let mut problems = Vec::new();
    let mut checked = 0;
    for f in &files {
        checked += links(&fs::read_to_string(f).expect("readable")).len();
        check_file(f, &book, &mut problems);
    }
    assert!(problems.is_empty(), "{} broken link(s) among {checked} in {} files:\n{}", problems.len(), files.len(), problems.join("\n"));
}

#[test]
fn every_page_of_the_book_is_in_its_summary() {
    let book = root().join("docs/src");
    let summary = fs::read_to_string(book.join("SUMMARY.md")).expect("docs/src/SUMMARY.md");
    let listed: HashSet<PathBuf> = links(&summary).into_iter().map(|l| normalise(&book.join(l.target))).collect();
    let mut files = Vec::new();
    markdown_files(&book, &mut files);
    let missing: Vec<String> = files
        .iter()
        .filter(|f| f.file_name().is_some_and(|n| n != "SUMMARY.md") && !listed.contains(*f))
        .map(|f| f.strip_prefix(&book).unwrap_or(f).display().to_string())
        .collect();
    assert!(missing.is_empty(), "pages not in docs/src/SUMMARY.md (mdBook would not render them): {missing:?}");
}

#[test]
fn anchors_follow_mdbooks_rule() {
    assert_eq!(anchor_of(&heading_text("ACKTR on MuJoCo, step by step")), "acktr-on-mujoco-step-by-step");
    assert_eq!(anchor_of(&heading_text("A2C's learning rate")), "a2cs-learning-rate");
    assert_eq!(anchor_of(&heading_text("What `--slurm` does")), "what---slurm-does");
    assert_eq!(anchor_of(&heading_text("wrappers \"deepmind\"")), "wrappers-deepmind");
    assert_eq!(anchor_of(&heading_text("Table 1, Pong, cut short")), "table-1-pong-cut-short");
    let text = "# A\n```sh\n# not a heading\n```\n## Fields\n### Fields\n";
    let a = anchors(text);
    assert!(a.contains("a") && a.contains("fields") && a.contains("fields-1") && !a.contains("not-a-heading"));
}

#[test]
fn links_in_code_are_not_links() {
    let text = "See [the book](docs/src/SUMMARY.md) and `[x](nowhere.md)`.\n```\n[y](nowhere.md)\n```\n![fig](a.png \"title\")\n";
    let found: Vec<String> = links(text).into_iter().map(|l| l.target).collect();
    assert_eq!(found, vec!["docs/src/SUMMARY.md".to_string(), "a.png".to_string()]);
}
