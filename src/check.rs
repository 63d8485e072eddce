//! Range checks of typed configuration fields, shared by every module that owns a
//! configuration (K-FAC, the algorithms). A failed check names the field by its dotted path
//! under the configuration's root; the spec checker prefixes it with where the
//! configuration sits in the spec file and finds the line.

/// A problem with one field: its dotted path and why.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    /// A problem with `field`.
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self { field: field.into(), message: message.into() }
    }

    /// The same problem one level down (`kfac` + `lr` -> `kfac.lr`).
    pub fn under(self, prefix: &str) -> Self {
        Self { field: format!("{prefix}.{}", self.field), message: self.message }
    }
}

/// A positive, finite number (a rate, a radius, a clip).
pub fn rate(field: &str, v: f64) -> Result<(), FieldError> {
    if v.is_finite() && v > 0.0 {
        Ok(())
    } else {
        Err(FieldError::new(field, format!("must be a positive number, got {v}")))
    }
}

/// A number in [0, 1].
pub fn unit(field: &str, v: f64) -> Result<(), FieldError> {
    if (0.0..=1.0).contains(&v) {
        Ok(())
    } else {
        Err(FieldError::new(field, format!("must lie in [0, 1], got {v}")))
    }
}

/// A finite number >= 0.
pub fn non_negative(field: &str, v: f64) -> Result<(), FieldError> {
    if v.is_finite() && v >= 0.0 {
        Ok(())
    } else {
        Err(FieldError::new(field, format!("must be a non-negative number, got {v}")))
    }
}
