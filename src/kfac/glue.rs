//! The K-FAC glue, written once and used by ACKTR, the conformance runner and the
//! benchmark: a traced Fisher pass's statistics are checked against the blocks the network
//! declares ([`crate::nets::KfacBlocks`]), K-FAC preconditions the loss gradients, and the
//! step is added to the network's parameters.
//!
//! The check runs in release builds: a network whose traced forward pass records layers in
//! another order than it declares them would otherwise precondition one layer's gradient
//! with another layer's factors.

use super::{Kfac, KfacStep};
use crate::nets::{BlockSpec, KfacBlocks, LayerGrads, LayerKind, LayerStats, NetError};

/// Checks that `stats` are exactly the blocks `which` of `blocks`, in order, with their
/// declared kinds and sizes ([`LayerKind::Unfactored`] stands for a declared bias).
pub fn check_trace(blocks: &[BlockSpec], which: &[usize], stats: &[LayerStats]) -> Result<(), NetError> {
    for (k, &i) in which.iter().enumerate() {
        let Some(b) = blocks.get(i) else {
            return Err(NetError::Block { index: i, name: "?".into(), why: format!("not declared ({} blocks)", blocks.len()) });
        };
        let err = |why: String| NetError::Block { index: i, name: b.name.clone(), why };
        let Some(s) = stats.get(k) else {
            return Err(err(format!("the traced pass recorded {} layers and not this one", stats.len())));
        };
        let kind_ok = match (b.kind, s.kind) {
            (LayerKind::Bias, LayerKind::Bias | LayerKind::Unfactored) => true,
            (declared, traced) => declared == traced,
        };
        if !kind_ok || s.out_dim != b.out_dim || (b.kind.has_weight() && s.in_dim != b.in_dim) {
            return Err(err(format!(
                "the traced pass recorded a {:?} layer {} -> {} where {:?} {} -> {} is declared",
                s.kind, s.in_dim, s.out_dim, b.kind, b.in_dim, b.out_dim
            )));
        }
        let spatial = match b.kind {
            LayerKind::Conv { spatial } => spatial,
            _ => 1,
        };
        let rows = s.batch * spatial;
        let sizes_ok = match &s.grams {
            None => s.g.len() == rows * s.out_dim && (!b.kind.has_weight() || s.a.len() == rows * s.in_dim),
            Some(gr) => {
                let (o, i) = (s.out_dim * s.out_dim, (s.in_dim + 1) * (s.in_dim + 1));
                gr.g.len() == o
                    && (!b.kind.has_weight() || gr.a.len() == i)
                    && (spatial == 1 || gr.g_summed.len() == o)
                    && s.a.is_empty()
                    && s.g.is_empty()
            }
        };
        if !sizes_ok {
            return Err(err(format!("statistics of the wrong size for {} rows", rows)));
        }
    }
    if stats.len() > which.len() {
        return Err(NetError::Block {
            index: which.len(),
            name: "?".into(),
            why: format!("the traced pass recorded {} layers, {} declared for this step", stats.len(), which.len()),
        });
    }
    Ok(())
}

/// Adds per-block changes to blocks `which` of `net`.
pub fn apply(net: &mut dyn KfacBlocks, which: &[usize], deltas: &[LayerGrads]) -> Result<(), NetError> {
    for (&i, d) in which.iter().zip(deltas) {
        net.add_to_block(i, d)?;
    }
    Ok(())
}

/// One K-FAC step on blocks `which` of `net`: checks the Fisher statistics against the
/// declaration, preconditions `grads` (one per block of `which`), and applies the step.
pub fn step(net: &mut dyn KfacBlocks, kfac: &mut Kfac, which: &[usize], stats: &[LayerStats], grads: &[LayerGrads], lr: f64) -> Result<KfacStep, NetError> {
    check_trace(net.blocks(), which, stats)?;
    if grads.len() != which.len() {
        return Err(NetError::Block { index: 0, name: "?".into(), why: format!("{} gradients for {} blocks", grads.len(), which.len()) });
    }
    let out = kfac.step(stats, grads, lr);
    apply(net, which, &out.deltas)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nets::{Group, LayerSpec};
    use crate::nets::cpu::SeqNet;

    fn net() -> SeqNet {
        let specs = [LayerSpec::Linear { input: 3, output: 2, activation: None }, LayerSpec::Linear { input: 2, output: 1, activation: None }];
        SeqNet::new(&[3], &specs, &[(vec![0.1; 6], vec![0.0; 2]), (vec![0.2; 2], vec![0.0])]).unwrap()
    }

    fn stats(in_dim: usize, out_dim: usize) -> LayerStats {
        LayerStats { kind: LayerKind::Linear, batch: 4, a: vec![0.5; 4 * in_dim], in_dim, g: vec![0.1; 4 * out_dim], out_dim, grams: None }
    }

    #[test]
    fn a_trace_out_of_declared_order_is_refused_with_the_layer_named() {
        let n = net();
        assert!(check_trace(n.blocks(), &[0, 1], &[stats(3, 2), stats(2, 1)]).is_ok());
        let e = check_trace(n.blocks(), &[0, 1], &[stats(2, 1), stats(3, 2)]).unwrap_err().to_string();
        assert!(e.contains("block 0 (layer 1 (linear 3 -> 2))"), "{e}");
        let e = check_trace(n.blocks(), &[0, 1], &[stats(3, 2)]).unwrap_err().to_string();
        assert!(e.contains("layer 2 (linear 2 -> 1)") && e.contains("recorded 1 layers"), "{e}");
        let e = check_trace(n.blocks(), &[0], &[stats(3, 2), stats(2, 1)]).unwrap_err().to_string();
        assert!(e.contains("recorded 2 layers, 1 declared"), "{e}");
        assert_eq!(n.blocks()[0].group, Group::Policy);
    }

    #[test]
    fn reduced_statistics_are_checked_against_the_declaration_too() {
        let n = net();
        let (s0, s1) = (stats(3, 2).reduced(), stats(2, 1).reduced());
        assert!(check_trace(n.blocks(), &[0, 1], &[s0.clone(), s1.clone()]).is_ok());
        let mut short = s0.clone();
        short.grams.as_mut().unwrap().a.pop();
        let e = check_trace(n.blocks(), &[0, 1], &[short, s1.clone()]).unwrap_err().to_string();
        assert!(e.contains("block 0") && e.contains("wrong size"), "{e}");
        let mut both = s1;
        both.g = vec![0.0; 4];
        assert!(check_trace(n.blocks(), &[0, 1], &[s0, both]).unwrap_err().to_string().contains("block 1"));
    }

    #[test]
    fn a_step_of_the_wrong_size_is_refused_and_changes_nothing() {
        let mut n = net();
        let before = n.block_values(0);
        let bad = LayerGrads { weight: Some(vec![0.0; 5]), bias: Some(vec![0.0; 2]) };
        assert!(apply(&mut n, &[0], &[bad]).is_err());
        assert_eq!(n.block_values(0), before);
    }
}
