//! The job records of `results/<spec>/slurm/jobs.json`.

use super::*;

/// What a submitted job runs.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum JobKind {
    /// The array of cells (one task per cell).
    Array,
    /// The report job that runs after the array.
    Report,
}

/// One submitted job, as `jobs.json` records it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct JobRecord {
    pub job_id: String,
    /// `array` or `report` in `jobs.json`.
    pub kind: JobKind,
    pub profile: String,
    pub plan_digest: String,
    /// Task `T` runs plan cell `offset + T`.
    pub offset: usize,
    /// Plan indices of its tasks (empty for the report job).
    pub cells: Vec<usize>,
    pub script: PathBuf,
    pub submitted_unix: u64,
}

/// The directory of a spec's Slurm scripts, logs and job records.
pub fn slurm_dir(root: &Path, spec: &Spec) -> PathBuf {
    spec_dir(root, spec).join("slurm")
}

pub(super) fn records_path(root: &Path, spec: &Spec) -> PathBuf {
    slurm_dir(root, spec).join("jobs.json")
}

/// The jobs submitted for this spec (all profiles).
pub fn load_records(root: &Path, spec: &Spec) -> Vec<JobRecord> {
    std::fs::read_to_string(records_path(root, spec))
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or_default()
}

pub(super) fn save_records(root: &Path, spec: &Spec, records: &[JobRecord]) -> Result<(), SlurmError> {
    let path = records_path(root, spec);
    let text = serde_json::to_string_pretty(records).expect("records serialise");
    Ok(write_atomic(&path, text.as_bytes())?)
}
