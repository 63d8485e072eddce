//! Finds the line of a field path (`budget.total_timesteps`, `algorithms[1].a2c.lr`) in a
//! block-style YAML text, so that checks made after parsing can still point at a line.
//! Flow-style YAML (`{a: 1}`) is located to the enclosing key. A key written with dots in
//! it (a grid axis such as `kfac.kl_clip:`) matches the path's segments it joins. Returns
//! 1-based lines.

/// One step of a field path.
#[derive(Debug, Clone, PartialEq)]
pub enum Seg {
    Key(String),
    Index(usize),
}

/// Splits `a.b[2].c` into segments.
pub fn parse_path(path: &str) -> Vec<Seg> {
    let mut out = Vec::new();
    for part in path.split('.') {
        let mut rest = part;
        if let Some(i) = rest.find('[') {
            if i > 0 {
                out.push(Seg::Key(rest[..i].to_string()));
            }
            rest = &rest[i..];
            while let Some(stripped) = rest.strip_prefix('[') {
                let end = stripped.find(']').unwrap_or(stripped.len());
                if let Ok(n) = stripped[..end].parse() {
                    out.push(Seg::Index(n));
                }
                rest = stripped.get(end + 1..).unwrap_or("");
            }
        } else if !rest.is_empty() {
            out.push(Seg::Key(rest.to_string()));
        }
    }
    out
}

fn indent(line: &str) -> usize {
    line.len() - line.trim_start().len()
}

/// Indentation of the content after any `- ` list markers.
fn content_indent(line: &str) -> usize {
    let mut t = line.trim_start();
    while let Some(rest) = t.strip_prefix("- ") {
        t = rest.trim_start();
    }
    line.len() - t.len()
}

fn content(line: &str) -> &str {
    &line[content_indent(line)..]
}

fn is_content(line: &str) -> bool {
    let t = line.trim_start();
    !t.is_empty() && !t.starts_with('#')
}

/// Line (1-based) where `path` is written in `text`, as far as it can be followed.
pub fn locate(text: &str, path: &str) -> Option<usize> {
    let lines: Vec<&str> = text.lines().collect();
    let (mut start, mut end) = (0usize, lines.len());
    let mut key_indent: Option<usize> = None;
    let mut found = None;
    let segs = parse_path(path);
    let mut s = 0;
    while s < segs.len() {
        let Some(first) = (start..end).find(|&i| is_content(lines[i])) else { break };
        match &segs[s] {
            Seg::Key(_) => {
                let want = key_indent.unwrap_or_else(|| content_indent(lines[first]));
                // The longest run of key segments that one written key spells, dots included.
                let run = segs[s..].iter().take_while(|g| matches!(g, Seg::Key(_))).count();
                let hit = (1..=run).rev().find_map(|n| {
                    let k = segs[s..s + n].iter().map(|g| if let Seg::Key(k) = g { k.as_str() } else { "" }).collect::<Vec<_>>().join(".");
                    let plain = format!("{k}:");
                    let quoted = format!("\"{k}\":");
                    (start..end)
                        .find(|&i| {
                            is_content(lines[i])
                                && content_indent(lines[i]) == want
                                && (content(lines[i]).starts_with(&plain) || content(lines[i]).starts_with(&quoted))
                        })
                        .map(|i| (i, n))
                });
                let Some((i, n)) = hit else { break };
                s += n;
                found = Some(i + 1);
                // The value: deeper lines, or a list written at the key's own indentation.
                let stop = (i + 1..end)
                    .find(|&j| {
                        is_content(lines[j])
                            && indent(lines[j]) <= want
                            && !(indent(lines[j]) == want && lines[j].trim_start().starts_with('-'))
                    })
                    .unwrap_or(end);
                start = i + 1;
                end = stop;
                key_indent = None;
            }
            Seg::Index(n) => {
                let n = *n;
                s += 1;
                let dash = indent(lines[first]);
                let Some(i) = (start..end)
                    .filter(|&i| is_content(lines[i]) && indent(lines[i]) == dash && lines[i].trim_start().starts_with('-'))
                    .nth(n)
                else {
                    break;
                };
                found = Some(i + 1);
                let stop = (i + 1..end).find(|&j| is_content(lines[j]) && indent(lines[j]) <= dash).unwrap_or(end);
                start = i;
                end = stop;
                key_indent = Some(content_indent(lines[i]));
            }
        }
    }
    found
}

/// Lines (1-based) where `key` is written as a key of the block mapping at `parent` (`.` for
/// the document's top level): more than one when the key is given twice.
pub fn key_lines(text: &str, parent: &str, key: &str) -> Vec<usize> {
    let lines: Vec<&str> = text.lines().collect();
    let (start, stop_indent) = if parent == "." {
        (0, None)
    } else {
        let Some(at) = locate(text, parent) else { return Vec::new() };
        (at, Some(indent(lines[at - 1])))
    };
    let block: Vec<usize> = (start..lines.len())
        .take_while(|&i| !(is_content(lines[i]) && stop_indent.is_some_and(|p| indent(lines[i]) <= p && !lines[i].trim_start().starts_with('-'))))
        .filter(|&i| is_content(lines[i]))
        .collect();
    let Some(&first) = block.first() else { return Vec::new() };
    let want = content_indent(lines[first]);
    let (plain, quoted) = (format!("{key}:"), format!("\"{key}\":"));
    block
        .into_iter()
        .filter(|&i| content_indent(lines[i]) == want && (content(lines[i]).starts_with(&plain) || content(lines[i]).starts_with(&quoted)))
        .map(|i| i + 1)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const Y: &str = "title: t\nenvs:\n  - CartPole-v1\n  - Pendulum-v1\nalgorithms:\n  - name: A2C\n    a2c:\n      lr: 0.1\n  - name: B\n    a2c:\n      lr: -1\nbudget:\n  total_timesteps: -5\n";

    #[test]
    fn finds_every_line_of_a_key_given_twice() {
        let y = "a: 1\nprofiles:\n  quick:\n    x: 1\n  long:\n    x: 2\n  quick:\n    x: 3\nb: 2\n";
        assert_eq!(key_lines(y, "profiles", "quick"), vec![3, 7]);
        assert_eq!(key_lines(y, ".", "a"), vec![1]);
        assert_eq!(key_lines(y, "profiles", "x"), Vec::<usize>::new());
    }

    #[test]
    fn finds_keys_items_and_nested_fields() {
        assert_eq!(locate(Y, "title"), Some(1));
        assert_eq!(locate(Y, "envs[1]"), Some(4));
        assert_eq!(locate(Y, "budget.total_timesteps"), Some(13));
        assert_eq!(locate(Y, "algorithms[1].a2c.lr"), Some(11));
        assert_eq!(locate(Y, "algorithms[0].name"), Some(6));
        assert_eq!(locate(Y, "algorithms[1]"), Some(9));
    }

    #[test]
    fn falls_back_to_the_deepest_found_segment() {
        assert_eq!(locate(Y, "budget.nothing"), Some(12));
        assert_eq!(locate(Y, "nothing"), None);
    }

    #[test]
    fn a_key_with_dots_matches_the_segments_it_spells() {
        let y = "algorithms:\n  - name: A\n    grid:\n      lr: [1]\n      kfac.kl_clip: [0.1, 0.2]\n";
        assert_eq!(locate(y, "algorithms[0].grid.kfac.kl_clip"), Some(5));
        assert_eq!(locate(y, "algorithms[0].grid.kfac.kl_clip[1]"), Some(5));
        assert_eq!(locate(y, "algorithms[0].grid.kfac.kl_clp"), Some(3));
    }
}
