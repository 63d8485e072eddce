//! Hyperparameter grids: values as written ([`GridValue`]), their combinations
//! ([`GridPoint`]), and setting a field of a typed algorithm configuration by its dotted path
//! ([`with_field`]).
//!
//! A path is resolved against the configuration's own serialised form: the typed config
//! (preset merged, defaults filled) is serialised to a `serde_json::Value`, the field at the
//! path is replaced, and the value is deserialised back into the typed config. So a grid can
//! reach every field the configuration has, the values go through the same `serde` types as
//! the spec's own fields, and a field added to a configuration struct is griddable with no
//! change here. The per-field range checks run afterwards on every point's config
//! (`super::check`). Two keys are not fields ([`Axis`]): `lr`, the learning rate wherever
//! the algorithm keeps it, and `steps_per_update`, a budget field.

use std::fmt;

use serde::Serialize;

use crate::algo::AlgorithmConfig;
#[cfg(doc)]
use crate::algo::Settings;

/// One grid value as written in the spec (a YAML scalar). Serialises as the plain scalar, so
/// a cell's hash sees the value itself; numbers keep their integer or float kind so that an
/// integer field (`kfac.inverse_every`) accepts `[1, 10]`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum GridValue {
    /// An integer as written (`10`).
    Int(i64),
    /// A number with a fraction or exponent (`0.01`, `1e-3`).
    Float(f64),
    /// `true` / `false`.
    Bool(bool),
    /// Any other scalar, e.g. an enum variant (`euclidean`, `relu`).
    Text(String),
}

impl GridValue {
    /// The value of a YAML scalar; None for null, lists, mappings and tagged values.
    pub fn from_yaml(v: &serde_yaml::Value) -> Option<Self> {
        match v {
            serde_yaml::Value::Bool(b) => Some(GridValue::Bool(*b)),
            serde_yaml::Value::Number(n) => match n.as_i64() {
                Some(i) => Some(GridValue::Int(i)),
                None => n.as_f64().map(GridValue::Float),
            },
            serde_yaml::Value::String(s) => Some(GridValue::Text(s.clone())),
            _ => None,
        }
    }

    /// The value as a number, if it is one.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            GridValue::Int(i) => Some(*i as f64),
            GridValue::Float(x) => Some(*x),
            _ => None,
        }
    }

    fn to_json(&self) -> serde_json::Value {
        match self {
            GridValue::Int(i) => serde_json::Value::from(*i),
            // Non-finite floats have no JSON form; null then fails to deserialise into the
            // field, which reports it.
            GridValue::Float(x) => serde_json::Number::from_f64(*x).map_or(serde_json::Value::Null, serde_json::Value::Number),
            GridValue::Bool(b) => serde_json::Value::Bool(*b),
            GridValue::Text(s) => serde_json::Value::String(s.clone()),
        }
    }
}

impl fmt::Display for GridValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GridValue::Int(i) => write!(f, "{i}"),
            GridValue::Float(x) => write!(f, "{x}"),
            GridValue::Bool(b) => write!(f, "{b}"),
            GridValue::Text(s) => write!(f, "{s}"),
        }
    }
}

/// One combination of grid values: (key as written, value), in the order of the spec's keys.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct GridPoint(pub Vec<(String, GridValue)>);

impl GridPoint {
    /// `lr=0.25` or `kfac.kl_clip=0.01, value_kfac.damping=0.1`; empty without a grid.
    pub fn label(&self) -> String {
        self.0.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(", ")
    }
}

/// Why a field cannot be set by its path.
#[derive(Debug, Clone, PartialEq)]
pub enum PathError {
    /// No field of that name in `group` (empty: the configuration itself); `fields` lists
    /// the ones there are, as full paths.
    NoSuchField { group: String, fields: Vec<String> },
    /// `at` holds a value, not a group of fields.
    NotAGroup { at: String },
    /// `at` is an optional group that this configuration leaves unset.
    NotSet { at: String },
    /// The field does not take the value (the `serde` message).
    BadValue { message: String },
}

fn join(prefix: &str, key: &str) -> String {
    if prefix.is_empty() {
        key.to_string()
    } else {
        format!("{prefix}.{key}")
    }
}

/// `config` with the field at `path` (dotted, inside the algorithm's configuration, e.g.
/// `kfac.kl_clip`) set to `value`.
///
/// A configuration leaves some fields out of its serialised form while they hold their
/// defaults (A2C's `optimizer`, so that cells from before the field existed keep their
/// hashes): a last segment that is absent is set anyway, and is no such field only when the
/// configuration then refuses it as unknown.
pub fn with_field(config: &AlgorithmConfig, path: &str, value: &GridValue) -> Result<AlgorithmConfig, PathError> {
    let mut root = serde_json::to_value(config).expect("algorithm configurations serialise");
    let absent = set(&mut root, config.kind(), path, value.to_json())?;
    serde_path_to_error::deserialize::<_, AlgorithmConfig>(root).map_err(|e| {
        let inner = e.into_inner().to_string();
        match absent {
            Some(no_such_field) if inner.contains("unknown field") => no_such_field,
            _ => PathError::BadValue { message: inner },
        }
    })
}

/// Sets `root[kind].<path>` (AlgorithmConfig serialises externally tagged: `{kind: {...}}`).
/// When the last segment is not among its group's serialised fields it is inserted, and the
/// error to give if the configuration does not know it is returned.
fn set(root: &mut serde_json::Value, kind: &str, path: &str, value: serde_json::Value) -> Result<Option<PathError>, PathError> {
    let mut slot = root.get_mut(kind).expect("externally tagged by kind");
    let mut walked = String::new();
    let segments: Vec<&str> = path.split('.').collect();
    for (i, seg) in segments.iter().enumerate() {
        let obj = match slot {
            serde_json::Value::Object(m) => m,
            serde_json::Value::Null => return Err(PathError::NotSet { at: walked }),
            _ => return Err(PathError::NotAGroup { at: walked }),
        };
        if !obj.contains_key(*seg) {
            let fields = obj.keys().map(|k| join(&walked, k)).collect();
            let no_such_field = PathError::NoSuchField { group: walked, fields };
            if i + 1 < segments.len() {
                return Err(no_such_field);
            }
            obj.insert(seg.to_string(), value);
            return Ok(Some(no_such_field));
        }
        slot = obj.get_mut(*seg).expect("checked above");
        walked = join(&walked, seg);
    }
    *slot = value;
    Ok(None)
}

/// What a key of a spec's `grid:` varies: two names of their own, and otherwise a field of
/// the algorithm's configuration by its dotted path.
#[derive(Debug, Clone, PartialEq)]
pub enum Axis {
    /// `lr`: the algorithm's learning rate, at the field its configuration names
    /// ([`Settings::lr_field`]: `lr` for A2C, `kfac.lr` for ACKTR, `max_kl` for TRPO).
    LearningRate,
    /// `steps_per_update`: the batch layout's steps per update, a budget field rather than
    /// the algorithm's.
    StepsPerUpdate,
    /// A field of the configuration (`kfac.kl_clip`).
    Field(String),
}

impl Axis {
    /// The names of the axes that are not fields, for messages.
    pub const NAMED: [&'static str; 2] = ["lr", "steps_per_update"];

    /// The axis a grid key names.
    pub fn of(key: &str) -> Axis {
        match key {
            "lr" => Axis::LearningRate,
            "steps_per_update" => Axis::StepsPerUpdate,
            path => Axis::Field(path.to_string()),
        }
    }

    /// The configuration field this axis sets in `config` (none for `steps_per_update`).
    pub fn field(&self, config: &AlgorithmConfig) -> Option<String> {
        match self {
            Axis::LearningRate => Some(config.settings().lr_field().to_string()),
            Axis::StepsPerUpdate => None,
            Axis::Field(path) => Some(path.clone()),
        }
    }

    /// Sets `value` in `config`, or in the point's `steps_per_update`; the value has been
    /// checked for this axis (a number for `lr`, a whole number for `steps_per_update`).
    pub fn apply(&self, config: &mut AlgorithmConfig, steps_per_update: &mut Option<usize>, value: &GridValue) -> Result<(), PathError> {
        let number = || value.as_f64().ok_or_else(|| PathError::BadValue { message: format!("expected a number, got `{value}`") });
        match self {
            Axis::LearningRate => *config.lr_mut() = number()?,
            Axis::StepsPerUpdate => *steps_per_update = Some(number()? as usize),
            Axis::Field(path) => *config = with_field(config, path, value)?,
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::algo::{A2cConfig, AcktrConfig};

    #[test]
    fn a_path_sets_a_nested_field_and_nothing_else() {
        let base = AlgorithmConfig::Acktr(AcktrConfig::default());
        let got = with_field(&base, "value_kfac.damping", &GridValue::Float(0.3)).unwrap();
        let AlgorithmConfig::Acktr(mut want) = base.clone() else { unreachable!() };
        want.value_kfac.damping = 0.3;
        assert_eq!(got, AlgorithmConfig::Acktr(want));
        // Integers reach integer fields, strings enum fields.
        let got = with_field(&base, "kfac.inverse_every", &GridValue::Int(3)).unwrap();
        assert!(matches!(got, AlgorithmConfig::Acktr(c) if c.kfac.inverse_every == 3));
        let got = with_field(&base, "network.policy_activation", &GridValue::Text("relu".into())).unwrap();
        assert!(matches!(got, AlgorithmConfig::Acktr(c) if c.network.policy_activation == crate::nets::Activation::Relu));
    }

    #[test]
    fn fields_left_out_while_default_can_be_set() {
        // A2C writes no `optimizer` while it is RMSProp, ACKTR no `kfac.inverse_lag` while 0.
        let a2c = AlgorithmConfig::A2c(A2cConfig::default());
        let adam = with_field(&a2c, "optimizer", &GridValue::Text("adam".into())).unwrap();
        assert!(serde_json::to_string(&adam).unwrap().contains("\"optimizer\":\"adam\""));
        assert!(matches!(with_field(&a2c, "optimizer", &GridValue::Text("sgd".into())), Err(PathError::BadValue { .. })));
        let acktr = AlgorithmConfig::Acktr(AcktrConfig::default());
        let lagged = with_field(&acktr, "kfac.inverse_lag", &GridValue::Int(2)).unwrap();
        assert!(serde_json::to_string(&lagged).unwrap().contains("\"inverse_lag\":2"));
        // An unknown last segment is still no such field.
        assert!(matches!(with_field(&a2c, "optimiser", &GridValue::Text("adam".into())), Err(PathError::NoSuchField { .. })));
    }

    #[test]
    fn bad_paths_and_values_say_why() {
        let base = AlgorithmConfig::Acktr(AcktrConfig::default());
        match with_field(&base, "kfac.kl_clp", &GridValue::Float(0.1)) {
            Err(PathError::NoSuchField { group, fields }) => {
                assert_eq!(group, "kfac");
                assert!(fields.contains(&"kfac.kl_clip".to_string()), "{fields:?}");
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(with_field(&base, "gamma.x", &GridValue::Float(0.1)), Err(PathError::NotAGroup { at: "gamma".into() }));
        assert_eq!(
            with_field(&base, "kfac.cold_start.lr", &GridValue::Float(0.1)),
            Err(PathError::NotSet { at: "kfac.cold_start".into() })
        );
        assert!(matches!(with_field(&base, "kfac.inverse_every", &GridValue::Float(2.5)), Err(PathError::BadValue { .. })));
        assert!(matches!(with_field(&base, "critic", &GridValue::Text("newton".into())), Err(PathError::BadValue { .. })));
    }

    /// `lr_field` names the field `lr_mut` changes, for every algorithm and preset: found
    /// by changing it and comparing the serialised forms.
    #[test]
    fn the_lr_alias_follows_lr_mut() {
        fn diff_path(a: &serde_json::Value, b: &serde_json::Value, at: String) -> Option<String> {
            match (a, b) {
                (serde_json::Value::Object(x), serde_json::Value::Object(y)) => {
                    x.iter().find_map(|(k, v)| y.get(k).and_then(|w| diff_path(v, w, join(&at, k))))
                }
                _ if a != b => Some(at),
                _ => None,
            }
        }
        let changed_path = |config: &AlgorithmConfig| {
            let mut changed = config.clone();
            *changed.lr_mut() = if *changed.lr_mut() == 0.5 { 0.25 } else { 0.5 };
            let (a, b) = (serde_json::to_value(config).unwrap(), serde_json::to_value(&changed).unwrap());
            diff_path(&a[config.kind()], &b[config.kind()], String::new())
        };
        for entry in crate::algo::ALGORITHMS {
            let presets = entry.presets.iter().map(|p| (entry.preset)(serde_yaml::Value::String(p.to_string())).unwrap());
            for config in std::iter::once((entry.defaults)()).chain(presets) {
                assert_eq!(changed_path(&config).as_deref(), Some(config.settings().lr_field()), "{}", entry.key);
                assert_eq!(Axis::LearningRate.field(&config).as_deref(), Some(config.settings().lr_field()));
            }
        }
        assert_eq!(AlgorithmConfig::A2c(A2cConfig::default()).settings().lr_field(), "lr");
        assert_eq!(AlgorithmConfig::Acktr(AcktrConfig::default()).settings().lr_field(), "kfac.lr");
    }

    #[test]
    fn lr_and_batch_points_serialise_as_before_generic_grids() {
        // Cell hashes include the point: `lr` and `steps_per_update` points must serialise
        // exactly as the `(String, f64)` pairs they were, so existing results keep their hash.
        let p = GridPoint(vec![("lr".into(), GridValue::Float(0.0007)), ("steps_per_update".into(), GridValue::Float(20.0))]);
        let old: Vec<(String, f64)> = vec![("lr".into(), 0.0007), ("steps_per_update".into(), 20.0)];
        assert_eq!(serde_json::to_string(&p).unwrap(), serde_json::to_string(&old).unwrap());
    }

    #[test]
    fn labels_print_values_as_written() {
        let p = GridPoint(vec![("kfac.kl_clip".into(), GridValue::Float(0.01)), ("value_kfac.damping".into(), GridValue::Float(0.1))]);
        assert_eq!(p.label(), "kfac.kl_clip=0.01, value_kfac.damping=0.1");
        assert_eq!(GridPoint(vec![("steps_per_update".into(), GridValue::Float(20.0))]).label(), "steps_per_update=20");
        assert_eq!(GridPoint(vec![("lr".into(), GridValue::Float(0.0007))]).label(), "lr=0.0007");
    }
}
