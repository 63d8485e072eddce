//! Quoting: values as bash words and as `#SBATCH` arguments.

use super::*;

/// A value as one bash word: single-quoted, with each `'` written `'\''`.
pub fn bash_word(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// A value as one argument of an `#SBATCH` line: double-quoted, with `\` and `"` escaped
/// (Slurm's `_get_argument` in `src/sbatch/opt.c` groups quoted text, takes the character
/// after a backslash literally, and ends the line at an unquoted `#`). Line breaks, other
/// control characters and `packjob` (which sbatch blanks out of every `#SBATCH` line)
/// cannot be carried. (A path in a file-name pattern has its `%` doubled by the caller.)
pub fn sbatch_word(s: &str) -> Result<String, String> {
    if let Some(c) = s.chars().find(|c| c.is_control()) {
        return Err(format!(
            "contains the control character {c:?}, which an #SBATCH line cannot carry"
        ));
    }
    if s.to_ascii_lowercase().contains("packjob") {
        return Err("contains `packjob`, which sbatch removes from #SBATCH lines".into());
    }
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '\\' | '"' => {
                out.push('\\');
                out.push(c);
            }
            _ => out.push(c),
        }
    }
    out.push('"');
    Ok(out)
}

/// A path as text, or a bad-input error naming the flag.
pub(super) fn path_text<'a>(flag: &str, p: &'a Path) -> Result<&'a str, SlurmError> {
    p.to_str().ok_or_else(|| SlurmError::BadArgument {
        flag: flag.into(),
        value: p.display().to_string(),
        why: "not valid UTF-8".into(),
    })
}
