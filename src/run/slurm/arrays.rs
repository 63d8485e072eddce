//! Array expressions, chunks of at most `MaxArraySize` tasks, and the plan's digest.

use super::*;

/// Sorted, distinct indices as Slurm's array expression (`0-3,5,7-9`).
pub fn array_expression(ids: &[usize]) -> String {
    let mut out = String::new();
    let mut i = 0;
    while i < ids.len() {
        let start = ids[i];
        let mut end = start;
        while i + 1 < ids.len() && ids[i + 1] == end + 1 {
            i += 1;
            end = ids[i];
        }
        if !out.is_empty() {
            out.push(',');
        }
        if end == start {
            let _ = write!(out, "{start}");
        } else {
            let _ = write!(out, "{start}-{end}");
        }
        i += 1;
    }
    out
}

/// Splits sorted plan indices into arrays whose task ids (index minus the chunk's first
/// index, its offset) stay below `max_array_size`: `(offset, indices)` per array.
pub fn split_arrays(indices: &[usize], max_array_size: usize) -> Vec<(usize, Vec<usize>)> {
    let mut out: Vec<(usize, Vec<usize>)> = Vec::new();
    for &i in indices {
        match out.last_mut() {
            Some((offset, v)) if i - *offset < max_array_size.max(1) => v.push(i),
            _ => out.push((i, vec![i])),
        }
    }
    out
}

/// A digest of the plan (its cells' hashes in order): a task refuses to run when the spec
/// has changed since its array was submitted, so an index never names another cell.
pub fn plan_digest(cells: &[Cell]) -> String {
    let mut h = Sha256::new();
    for c in cells {
        h.update(c.hash.as_bytes());
        h.update(b"\n");
    }
    h.finalize()
        .iter()
        .take(8)
        .map(|b| format!("{b:02x}"))
        .collect()
}
