//! The spec checker's located errors: every message names the spec's file, the line of the
//! field (found by [`super::locate`]) and the field's path. Shared by the checker
//! ([`super::check`]) and the claims' checks ([`super::claims`]).

use std::collections::BTreeMap;
use std::path::Path;

use super::{locate, raw, SpecError};

/// A spec file being checked: its path and text, for located errors.
pub(super) struct Checker<'a> {
    path: &'a Path,
    text: &'a str,
}

impl<'a> Checker<'a> {
    /// The checker of the spec at `path` whose text is `text`.
    pub(super) fn new(path: &'a Path, text: &'a str) -> Self {
        Checker { path, text }
    }

    /// The error at `field` (a path such as `algorithms[0].acktr.kfac.lr`).
    pub(super) fn err(&self, field: impl Into<String>, message: impl Into<String>) -> SpecError {
        let field = field.into();
        SpecError::Invalid {
            file: self.path.into(),
            line: locate::locate(self.text, &field),
            column: None,
            field,
            message: message.into(),
        }
    }

    /// `v` as a positive integer, or the error at `field`.
    pub(super) fn positive(&self, field: &str, v: i64) -> Result<u64, SpecError> {
        if v > 0 {
            Ok(v as u64)
        } else {
            Err(self.err(field, format!("must be a positive integer, got {v}")))
        }
    }
}

/// One non-negative number for every environment of `envs`, or one per environment (each
/// named once, no other); empty when not given. `whose` names the list in messages ("the
/// spec", "the claim").
pub(super) fn per_env_numbers(
    c: &Checker,
    at: &str,
    raw: Option<&raw::RawMinEffect>,
    envs: &[String],
    whose: &str,
) -> Result<BTreeMap<String, f64>, SpecError> {
    let check = |field: String, v: f64| crate::check::non_negative("", v).map(|_| v).map_err(|e| c.err(field, e.message));
    Ok(match raw {
        None => BTreeMap::new(),
        Some(raw::RawMinEffect::All(v)) => {
            let v = check(at.to_string(), *v)?;
            envs.iter().map(|e| (e.clone(), v)).collect()
        }
        Some(raw::RawMinEffect::PerEnv(map)) => {
            if let Some(e) = envs.iter().find(|e| !map.contains_key(*e)) {
                return Err(c.err(at, format!("no value for `{e}`; give one for every environment of {whose}, or one number for all")));
            }
            let mut out = BTreeMap::new();
            for (e, v) in map {
                if !envs.contains(e) {
                    return Err(c.err(format!("{at}.{e}"), format!("`{e}` is not one of {whose}'s envs ({})", envs.join(", "))));
                }
                out.insert(e.clone(), check(format!("{at}.{e}"), *v)?);
            }
            out
        }
    })
}

