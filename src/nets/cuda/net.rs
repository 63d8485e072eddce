//! The engine seam's [`ActorCriticNet`] on the device: the shared actor-critic
//! with a categorical policy, the paper's Atari networks (appendix A.1: ACKTR's and A2C's
//! conv torsos, and any torso of [`LayerSpec`]s with a shared layout).
//!
//! Division of work, per call:
//! - the forward and backward passes run on the device ([`DeviceActorCritic`]), one
//!   parameter copy there;
//! - the loss's terms and its gradients with respect to the network's outputs are
//!   computed on the host from the downloaded logits and values ([`head_loss`]: `batch x
//!   actions` numbers, in float64), then uploaded for the backward pass;
//! - K-FAC's statistics are reduced on the device to float64 sums of products
//!   ([`Stats::Reduced`]) and handed to `crate::kfac` like the CPU engine's rows; its
//!   eigendecompositions and the natural gradient's products run on the device too
//!   (cuSOLVER `Dsyevd`, cuBLAS DGEMM, float64: [`KfacBlocks::kfac_linalg`]), the rest of
//!   its step (running averages, trust region, momentum: `O(n^2)` work) on the host;
//! - a host copy of the parameters (the CPU engine's network, built from the same `rng`
//!   draws, so both engines start from bit-identical weights) answers [`KfacBlocks`],
//!   `params` and the checkpoints; every write goes to both copies.
//!
//! Separate networks and Gaussian policies (the MuJoCo networks, appendix A.2: 64-unit
//! MLPs, far too small for a GPU to help) are refused with the reason: they run on
//! `--engine cpu`.

use std::borrow::Cow;
use std::sync::Arc;

use rand::Rng;

use super::forward::{DeviceActorCritic, Stats};
use super::linalg::DeviceLinalg;
use super::Device;
use crate::env::ActionSpace;
use crate::nets::cpu;
use crate::nets::{
    ActionBatch, ActorCriticNet, ActorCriticSpec, BlockSpec, BlockValues, DistParams, GradsWanted, InputNorm, KfacBlocks, LayerGrads, LayerSpec,
    Layout, LossOutput, LossQuery, NetError, Parts, KfacLinalg, TrpoNet, ValueTarget,
};

/// What [`head_loss`] gives: the loss's terms and its gradients with respect to the
/// logits (`rows x actions`) and the values (`rows`).
#[derive(Debug, Clone, PartialEq)]
pub struct HeadLoss {
    pub d_logits: Vec<f32>,
    pub d_values: Vec<f32>,
    /// `sum_r w_r log pi(a_r|s_r)`.
    pub policy_term: f64,
    /// `mean((V - y)^2)`.
    pub value_term: f64,
    /// `mean(H)`.
    pub entropy: f64,
}

/// The loss of [`LossQuery`] for a categorical policy, from the network's outputs:
/// `L = sum_r w_r log pi(a_r|s_r) - c_e mean(H) + c_v mean((V - y)^2)`, with
/// `dL/dl_rj = w_r (1[j = a_r] - p_rj) + (c_e / B) p_rj (log p_rj + H_r)` (the entropy's
/// gradient `dH_r/dl_rj = -p_rj (log p_rj + H_r)`) and `dL/dV_r = 2 c_v (V_r - y_r) / B`,
/// `y` a constant (a noisy target `V + sigma eps` is `sg(V) + sigma eps`). What is not in
/// `parts` is zero, as the CPU engine computes it: no policy terms; values of 0 (so the
/// value term is `mean(y^2)`) and no value gradient.
#[allow(clippy::too_many_arguments)]
pub fn head_loss(
    logits: &[f32],
    n: usize,
    values: &[f32],
    actions: &[f32],
    weights: &[f32],
    entropy_coef: f64,
    value_coef: f64,
    target: ValueTarget,
    parts: Parts,
) -> Result<HeadLoss, NetError> {
    let rows = values.len();
    if n == 0 || logits.len() != rows * n || actions.len() != rows || weights.len() != rows {
        return Err(NetError::Shape(format!(
            "{} logits of {n} actions, {} actions and {} weights for {rows} values",
            logits.len(),
            actions.len(),
            weights.len()
        )));
    }
    let b = rows as f64;
    let mut d_logits = vec![0.0f32; rows * n];
    let (mut policy_term, mut entropy) = (0.0f64, 0.0f64);
    if parts.policy {
        for r in 0..rows {
            let row = &logits[r * n..(r + 1) * n];
            let a = actions[r] as usize;
            if actions[r] < 0.0 || a >= n || actions[r].fract() != 0.0 {
                return Err(NetError::Shape(format!("action {} of row {r} is not one of {n}", actions[r])));
            }
            let m = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
            let lse = row.iter().map(|&l| f64::from(l - m).exp()).sum::<f64>().ln();
            let logp: Vec<f64> = row.iter().map(|&l| f64::from(l - m) - lse).collect();
            let h = -logp.iter().map(|&lp| lp.exp() * lp).sum::<f64>();
            let w = f64::from(weights[r]);
            policy_term += w * logp[a];
            entropy += h;
            for j in 0..n {
                let p = logp[j].exp();
                let onehot = if j == a { 1.0 } else { 0.0 };
                d_logits[r * n + j] = (w * (onehot - p) + entropy_coef / b * p * (logp[j] + h)) as f32;
            }
        }
        entropy /= b;
    }
    let v = |r: usize| if parts.value { f64::from(values[r]) } else { 0.0 };
    let y: Vec<f64> = match target {
        ValueTarget::Fixed(t) => {
            if t.len() != rows {
                return Err(NetError::Shape(format!("{} value targets for {rows} rows", t.len())));
            }
            t.iter().map(|&x| f64::from(x)).collect()
        }
        ValueTarget::Noisy { noise, sigma } => {
            if noise.len() != rows {
                return Err(NetError::Shape(format!("{} noise values for {rows} rows", noise.len())));
            }
            // The CPU engine forms `V + sigma eps` in float32.
            (0..rows).map(|r| f64::from(v(r) as f32 + sigma * noise[r])).collect()
        }
    };
    let value_term = (0..rows).map(|r| (v(r) - y[r]).powi(2)).sum::<f64>() / b;
    let d_values = if parts.value { (0..rows).map(|r| (2.0 * value_coef * (v(r) - y[r]) / b) as f32).collect() } else { vec![0.0; rows] };
    Ok(HeadLoss { d_logits, d_values, policy_term, value_term, entropy })
}

/// The shared categorical actor-critic on the GPU.
pub struct CudaActorCritic {
    /// The parameters' host copy (and the declaration of the K-FAC blocks).
    host: cpu::ActorCritic,
    dev: Arc<Device>,
    net: DeviceActorCritic,
    torso: Vec<LayerSpec>,
    input: Vec<usize>,
    norm: Option<InputNorm>,
    /// K-FAC's linear algebra on the device (cuSOLVER, cuBLAS), when cuSOLVER loads.
    linalg: Option<Arc<DeviceLinalg>>,
}

impl CudaActorCritic {
    /// Builds the CPU engine's network from `rng` (so both engines draw the same weights)
    /// and uploads it to GPU 0.
    pub fn new(spec: &ActorCriticSpec, input: &[usize], actions: &ActionSpace, rng: &mut impl Rng) -> Result<CudaActorCritic, NetError> {
        let Layout::Shared { activation } = spec.layout else {
            return Err(NetError::Engine(
                "`cuda`: the device network is the shared actor-critic of the paper's Atari experiments (appendix A.1); \
                 separate policy and value networks (the MuJoCo networks, appendix A.2) run on `--engine cpu`"
                    .into(),
            ));
        };
        if !matches!(actions, ActionSpace::Discrete { .. }) {
            return Err(NetError::Engine("`cuda`: the device network has a categorical policy; Gaussian policies run on `--engine cpu`".into()));
        }
        let torso = spec.architecture.layers(input, activation)?;
        let host = cpu::ActorCritic::new(spec, input, actions, rng)?;
        let dev = Arc::new(Device::open(0)?);
        let net = upload(&dev, input, &torso, &host)?;
        let linalg = match DeviceLinalg::new(dev.clone()) {
            Ok(e) => Some(Arc::new(e)),
            Err(e) => {
                // Visible, and only a matter of speed: the host's float64 linear algebra
                // computes the same step.
                eprintln!("warning: {e}; K-FAC's eigendecompositions and products run on the host");
                None
            }
        };
        Ok(CudaActorCritic { host, dev, net, torso, input: input.to_vec(), norm: None, linalg })
    }

    /// Every block again from the host copy.
    fn upload_all(&mut self) -> Result<(), NetError> {
        for i in 0..self.host.blocks().len() {
            self.net.write_block(&self.dev, i, &self.host.block_values(i))?;
        }
        Ok(())
    }

    /// The network's input rows: normalised when an [`InputNorm`] is set.
    fn input_rows<'o>(&self, obs: &'o [f32]) -> Cow<'o, [f32]> {
        match &self.norm {
            None => Cow::Borrowed(obs),
            Some(n) => Cow::Owned(n.apply(obs)),
        }
    }

    fn check_rows(&self, len: usize, rows: usize) -> Result<(), NetError> {
        if rows == 0 || len != rows * self.net.input_len() {
            return Err(NetError::Shape(format!("observations: {len} values are not {rows} rows of {}", self.net.input_len())));
        }
        Ok(())
    }

    fn forward(&self, obs: &[f32], rows: usize) -> Result<(Vec<f32>, Vec<f32>), NetError> {
        self.check_rows(obs.len(), rows)?;
        self.net.forward(&self.dev, &self.input_rows(obs), rows)
    }

    /// Block indices in [`ActorCriticNet::params`] order (the CPU engine's: torso, policy
    /// head, value head).
    fn flat_order(&self) -> Vec<usize> {
        let n = self.torso.iter().filter(|l| !matches!(l, LayerSpec::Flatten)).count();
        (0..n).chain([n + 1, n]).collect()
    }
}

fn upload(dev: &Device, input: &[usize], torso: &[LayerSpec], host: &cpu::ActorCritic) -> Result<DeviceActorCritic, NetError> {
    let params: Vec<BlockValues> = (0..host.blocks().len()).map(|i| host.block_values(i)).collect();
    DeviceActorCritic::upload(dev, input, torso, &params)
}

impl KfacBlocks for CudaActorCritic {
    fn blocks(&self) -> &[BlockSpec] {
        self.host.blocks()
    }

    fn block_values(&self, i: usize) -> BlockValues {
        self.host.block_values(i)
    }

    fn add_to_block(&mut self, i: usize, delta: &LayerGrads) -> Result<(), NetError> {
        self.host.add_to_block(i, delta)?;
        self.net.write_block(&self.dev, i, &self.host.block_values(i))
    }

    fn kfac_linalg(&self) -> Option<Arc<dyn KfacLinalg>> {
        self.linalg.clone().map(|e| e as Arc<dyn KfacLinalg>)
    }
}

impl ActorCriticNet for CudaActorCritic {
    fn layout(&self) -> Layout {
        self.host.layout()
    }

    fn act(&self, obs: &[f32], _episode_steps: &[u32], rows: usize) -> Result<(DistParams, Vec<f32>), NetError> {
        let (logits, values) = self.forward(obs, rows)?;
        Ok((DistParams::Categorical { logits, n: self.net.actions() }, values))
    }

    fn values(&self, obs: &[f32], _episode_steps: &[u32], rows: usize) -> Result<Vec<f32>, NetError> {
        Ok(self.forward(obs, rows)?.1)
    }

    fn policy_dist(&self, obs: &[f32], rows: usize) -> Result<DistParams, NetError> {
        Ok(DistParams::Categorical { logits: self.forward(obs, rows)?.0, n: self.net.actions() })
    }

    fn loss(&self, q: &LossQuery) -> Result<LossOutput, NetError> {
        let rows = q.rows;
        self.check_rows(q.obs.len(), rows)?;
        if q.value_obs.is_some() {
            return Err(NetError::Shape("a shared network's value head reads the torso, not value features".into()));
        }
        if q.fisher.is_some() && q.kfac_stats {
            return Err(NetError::Shape("a query asks for its own and its Fisher loss's statistics".into()));
        }
        let discrete = |a: &ActionBatch<'_>| match a {
            ActionBatch::Discrete(idx) => Ok(idx.to_vec()),
            ActionBatch::Continuous { .. } => Err(NetError::Shape("continuous actions for a categorical policy".into())),
        };
        let tape = self.net.forward_traced(&self.dev, &self.input_rows(q.obs), rows)?;
        let (logits, values) = tape.outputs(&self.dev)?;
        let n = self.net.actions();
        let head = head_loss(&logits, n, &values, &discrete(&q.actions)?, q.logp_weights, q.entropy_coef, q.value_coef, q.target, q.parts)?;
        let want_grads = !matches!(q.grads, GradsWanted::None);
        let own_stats = if q.kfac_stats { Stats::Reduced } else { Stats::None };
        let (grads, mut stats) = if want_grads || q.kfac_stats {
            self.net.backward(&self.dev, &tape, &head.d_logits, &head.d_values, own_stats, want_grads)?
        } else {
            (Vec::new(), Vec::new())
        };
        if let Some(f) = &q.fisher {
            // The sampled Fisher loss on the same forward pass: only its statistics.
            let fisher = head_loss(
                &logits,
                n,
                &values,
                &discrete(&f.actions)?,
                f.logp_weights,
                0.0,
                f.value_coef,
                ValueTarget::Noisy { noise: f.noise, sigma: f.sigma },
                q.parts,
            )?;
            stats = self.net.backward(&self.dev, &tape, &fisher.d_logits, &fisher.d_values, Stats::Reduced, false)?.1;
        }
        let (flat, blocks) = match q.grads {
            GradsWanted::None => (Vec::new(), Vec::new()),
            GradsWanted::Flat => {
                let flat = self
                    .flat_order()
                    .into_iter()
                    .flat_map(|i| grads[i].weight.iter().chain(grads[i].bias.iter()).flatten().map(|&g| g as f32).collect::<Vec<f32>>())
                    .collect();
                (flat, Vec::new())
            }
            GradsWanted::Blocks(which) => {
                let mut out = Vec::with_capacity(which.len());
                for (k, &i) in which.iter().enumerate() {
                    if i >= grads.len() || which[..k].contains(&i) {
                        return Err(NetError::Block { index: i, name: String::new(), why: "asked for twice or not declared".into() });
                    }
                    out.push(grads[i].clone());
                }
                (Vec::new(), out)
            }
        };
        Ok(LossOutput { flat, blocks, stats, policy_term: head.policy_term, value_term: head.value_term, entropy: head.entropy })
    }

    fn params(&self) -> Vec<f32> {
        self.host.params()
    }

    fn set_params(&mut self, flat: &[f32]) -> Result<(), NetError> {
        self.host.set_params(flat)?;
        self.upload_all()
    }

    fn boxed_clone(&self) -> Box<dyn ActorCriticNet> {
        let net = upload(&self.dev, &self.input, &self.torso, &self.host).unwrap_or_else(|e| panic!("copying a CUDA network on its device: {e}"));
        Box::new(CudaActorCritic {
            host: self.host.clone(),
            dev: self.dev.clone(),
            net,
            torso: self.torso.clone(),
            input: self.input.clone(),
            norm: self.norm.clone(),
            linalg: self.linalg.clone(),
        })
    }

    fn set_input_norm(&mut self, norm: Option<InputNorm>) -> Result<(), NetError> {
        self.host.set_input_norm(norm.clone())?;
        self.norm = norm;
        Ok(())
    }

    fn into_trpo(self: Box<Self>) -> Result<Box<dyn TrpoNet>, NetError> {
        Err(NetError::Engine("`cuda`: TRPO's exact Fisher-vector products run on the CPU engine (`--engine cpu`)".into()))
    }

    fn accelerator(&self) -> Option<String> {
        Some(format!("{} (sm_{}{})", self.dev.name, self.dev.compute_capability.0, self.dev.compute_capability.1))
    }
}

#[cfg(test)]
mod tests {
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    use super::*;
    use crate::nets::{Activation, Architecture, Engine, FisherQuery, Init};

    fn shared_mlp() -> ActorCriticSpec {
        ActorCriticSpec { architecture: Architecture::Mlp64x64, layout: Layout::Shared { activation: Activation::Tanh }, init: Init::Orthogonal }
    }

    struct Case {
        obs: Vec<f32>,
        actions: Vec<f32>,
        weights: Vec<f32>,
        targets: Vec<f32>,
        noise: Vec<f32>,
    }

    fn case(rows: usize, d: usize, n: usize, seed: u64) -> Case {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut r = |k: usize| -> Vec<f32> { (0..k).map(|_| rng.gen_range(-1.0f32..1.0)).collect() };
        let (obs, weights, targets, noise) = (r(rows * d), r(rows), r(rows), r(rows));
        let actions = (0..rows).map(|i| ((i * 7 + seed as usize) % n) as f32).collect();
        Case { obs, actions, weights, targets, noise }
    }

    /// The host half of the device loss against the CPU engine's loss on the same network
    /// outputs: its three terms, for every combination of parts and both kinds of target.
    #[test]
    fn the_head_loss_has_the_cpu_engines_terms() {
        let (rows, d, n) = (7, 4, 3);
        let cpu = shared_mlp().build(Engine::Cpu, &[d], &ActionSpace::Discrete { n }, &mut ChaCha8Rng::seed_from_u64(1)).unwrap();
        let c = case(rows, d, n, 2);
        let (dist, values) = cpu.act(&c.obs, &vec![0; rows], rows).unwrap();
        let DistParams::Categorical { logits, .. } = dist else { panic!("categorical") };
        for parts in [Parts::ALL, Parts::POLICY, Parts::VALUE] {
            for target in [ValueTarget::Fixed(&c.targets), ValueTarget::Noisy { noise: &c.noise, sigma: 0.7 }] {
                let q = LossQuery {
                    obs: &c.obs,
                    rows,
                    value_obs: None,
                    actions: ActionBatch::Discrete(&c.actions),
                    parts,
                    logp_weights: &c.weights,
                    entropy_coef: 0.01,
                    value_coef: 0.5,
                    target,
                    grads: GradsWanted::None,
                    kfac_stats: false,
                    fisher: None,
                };
                let want = cpu.loss(&q).unwrap();
                let got = head_loss(&logits, n, &values, &c.actions, &c.weights, 0.01, 0.5, target, parts).unwrap();
                for (what, g, w) in [("policy", got.policy_term, want.policy_term), ("value", got.value_term, want.value_term), ("entropy", got.entropy, want.entropy)] {
                    assert!((g - w).abs() <= 1e-5 * (1.0 + w.abs()), "{parts:?} {what}: host {g}, cpu engine {w}");
                }
            }
        }
    }

    /// The output gradients against central differences of the loss they come from.
    #[test]
    fn the_head_losss_output_gradients_match_finite_differences() {
        let (rows, n) = (5, 4);
        let c = case(rows, 1, n, 3);
        let mut rng = ChaCha8Rng::seed_from_u64(4);
        let logits: Vec<f32> = (0..rows * n).map(|_| rng.gen_range(-2.0f32..2.0)).collect();
        let values: Vec<f32> = (0..rows).map(|_| rng.gen_range(-2.0f32..2.0)).collect();
        let (ce, cv) = (0.3, 0.5);
        let total = |l: &[f32], v: &[f32]| {
            let h = head_loss(l, n, v, &c.actions, &c.weights, ce, cv, ValueTarget::Fixed(&c.targets), Parts::ALL).unwrap();
            h.policy_term - ce * h.entropy + cv * h.value_term
        };
        let g = head_loss(&logits, n, &values, &c.actions, &c.weights, ce, cv, ValueTarget::Fixed(&c.targets), Parts::ALL).unwrap();
        let eps = 1e-2f32;
        for k in 0..rows * n {
            let (mut up, mut down) = (logits.clone(), logits.clone());
            up[k] += eps;
            down[k] -= eps;
            let fd = (total(&up, &values) - total(&down, &values)) / f64::from(up[k] - down[k]);
            assert!((fd - f64::from(g.d_logits[k])).abs() <= 2e-4, "d logit {k}: {} vs {fd}", g.d_logits[k]);
        }
        for k in 0..rows {
            let (mut up, mut down) = (values.clone(), values.clone());
            up[k] += eps;
            down[k] -= eps;
            let fd = (total(&logits, &up) - total(&logits, &down)) / f64::from(up[k] - down[k]);
            assert!((fd - f64::from(g.d_values[k])).abs() <= 2e-4, "d value {k}: {} vs {fd}", g.d_values[k]);
        }
        // A noisy target is a constant: the value gradient is -2 c_v sigma eps / B.
        let noisy = head_loss(&logits, n, &values, &c.actions, &c.weights, 0.0, -1.0, ValueTarget::Noisy { noise: &c.noise, sigma: 1.0 }, Parts::ALL).unwrap();
        for r in 0..rows {
            let want = 2.0 * (values[r] - (values[r] + c.noise[r])) / rows as f32 * -1.0;
            assert!((noisy.d_values[r] - want).abs() <= 1e-6, "noisy d value {r}");
        }
    }

    #[test]
    fn a_bad_action_or_size_is_an_error() {
        let t = [0.0f32; 2];
        let e = head_loss(&[0.0; 6], 3, &[0.0; 2], &[0.0, 3.0], &[1.0; 2], 0.0, 0.5, ValueTarget::Fixed(&t), Parts::ALL).unwrap_err();
        assert!(e.to_string().contains("action 3 of row 1"), "{e}");
        assert!(head_loss(&[0.0; 5], 3, &[0.0; 2], &[0.0; 2], &[1.0; 2], 0.0, 0.5, ValueTarget::Fixed(&t), Parts::ALL).is_err());
    }

    /// Without a device, the network is refused with the reason; on one, the refusals of
    /// what it does not run come first.
    #[test]
    fn separate_networks_and_gaussian_policies_are_refused_with_the_engine_to_use() {
        let sep = ActorCriticSpec {
            architecture: Architecture::Mlp64x64,
            layout: Layout::Separate { policy_activation: Activation::Tanh, value_activation: Activation::Elu, value_input: crate::nets::ValueInput::Observation },
            init: Init::Normc,
        };
        let e = CudaActorCritic::new(&sep, &[4], &ActionSpace::Discrete { n: 2 }, &mut ChaCha8Rng::seed_from_u64(0)).err().unwrap();
        assert!(e.to_string().contains("--engine cpu"), "{e}");
        let gauss = ActionSpace::Continuous { dim: 2, low: vec![-1.0; 2], high: vec![1.0; 2] };
        let e = CudaActorCritic::new(&shared_mlp(), &[4], &gauss, &mut ChaCha8Rng::seed_from_u64(0)).err().unwrap();
        assert!(e.to_string().contains("Gaussian"), "{e}");
    }

    /// The whole device network against the CPU engine built from the same seed: acting,
    /// A2C's flat gradients, ACKTR's block gradients with its Fisher statistics (reduced on
    /// the device vs. the CPU engine's rows reduced on the host), and a K-FAC step written
    /// back to both copies.
    #[test]
    fn the_device_network_matches_the_cpu_engine_through_the_seam() {
        if super::super::tests::device().is_none() {
            return;
        }
        let spec = ActorCriticSpec { architecture: Architecture::AtariAcktr, layout: Layout::Shared { activation: Activation::Relu }, init: Init::Orthogonal };
        let (input, acts, rows) = ([4usize, 84, 84], ActionSpace::Discrete { n: 6 }, 6);
        let cpu = spec.build(Engine::Cpu, &input, &acts, &mut ChaCha8Rng::seed_from_u64(8)).unwrap();
        let mut gpu = CudaActorCritic::new(&spec, &input, &acts, &mut ChaCha8Rng::seed_from_u64(8)).unwrap();
        assert_eq!(gpu.params(), cpu.params(), "the same draws give the same weights");
        let mut rng = ChaCha8Rng::seed_from_u64(9);
        let obs: Vec<f32> = (0..rows * 4 * 84 * 84).map(|_| rng.gen_range(0.0f32..1.0)).collect();
        let c = case(rows, 1, 6, 10);
        let (dc, vc) = cpu.act(&obs, &[0; 6], rows).unwrap();
        let (dg, vg) = gpu.act(&obs, &[0; 6], rows).unwrap();
        let (DistParams::Categorical { logits: lc, .. }, DistParams::Categorical { logits: lg, .. }) = (&dc, &dg) else { panic!() };
        super::super::tests::close(lg, lc, 1e-4, "logits");
        super::super::tests::close(&vg, &vc, 1e-4, "values");
        let blocks: Vec<usize> = (0..cpu.blocks().len()).collect();
        let fisher = FisherQuery { actions: ActionBatch::Discrete(&c.actions), logp_weights: &c.weights, value_coef: -1.0, noise: &c.noise, sigma: 1.0 };
        let q = |grads| LossQuery {
            obs: &obs,
            rows,
            value_obs: None,
            actions: ActionBatch::Discrete(&c.actions),
            parts: Parts::ALL,
            logp_weights: &c.weights,
            entropy_coef: 0.01,
            value_coef: 0.5,
            target: ValueTarget::Fixed(&c.targets),
            grads,
            kfac_stats: false,
            fisher: Some(fisher.clone()),
        };
        let (want, got) = (cpu.loss(&q(GradsWanted::Blocks(&blocks))).unwrap(), gpu.loss(&q(GradsWanted::Blocks(&blocks))).unwrap());
        for (i, (g, w)) in got.blocks.iter().zip(&want.blocks).enumerate() {
            for (gv, wv) in [(&g.weight, &w.weight), (&g.bias, &w.bias)] {
                let (gv, wv) = (gv.as_ref().unwrap(), wv.as_ref().unwrap());
                let scale = wv.iter().fold(0.0f64, |m, v| m.max(v.abs())).max(1e-12);
                assert!(gv.iter().zip(wv).all(|(a, b)| (a - b).abs() <= 1e-3 * scale), "block {i} gradient");
            }
        }
        for (i, (g, w)) in got.stats.iter().zip(want.stats.iter().map(crate::nets::LayerStats::reduced)).enumerate() {
            let (g, w) = (g.grams.as_ref().unwrap(), w.grams.unwrap());
            for (gv, wv) in [(&g.a, &w.a), (&g.g, &w.g), (&g.g_summed, &w.g_summed)] {
                let scale = wv.iter().fold(0.0f64, |m, v| m.max(v.abs())).max(1e-12);
                assert!(gv.len() == wv.len() && gv.iter().zip(wv).all(|(a, b)| (a - b).abs() <= 2e-3 * scale), "block {i} statistics");
            }
        }
        let flat_want = cpu.loss(&LossQuery { fisher: None, ..q(GradsWanted::Flat) }).unwrap().flat;
        let flat_got = gpu.loss(&LossQuery { fisher: None, ..q(GradsWanted::Flat) }).unwrap().flat;
        let scale = flat_want.iter().fold(0.0f32, |m, v| m.max(v.abs()));
        assert!(flat_got.len() == flat_want.len() && flat_got.iter().zip(&flat_want).all(|(a, b)| (a - b).abs() <= 1e-3 * scale), "flat gradient");
        // A K-FAC step through the glue lands in both copies.
        let mut kfac = crate::kfac::KfacConfig { inverse_every: 1, ..Default::default() }.build();
        crate::kfac::glue::step(&mut gpu, &mut kfac, &blocks, &got.stats, &got.blocks, 0.1).unwrap();
        let (after, _) = gpu.act(&obs, &[0; 6], rows).unwrap();
        let mut moved = cpu.boxed_clone();
        moved.set_params(&gpu.params()).unwrap();
        let (want_after, _) = moved.act(&obs, &[0; 6], rows).unwrap();
        let (DistParams::Categorical { logits: a, .. }, DistParams::Categorical { logits: b, .. }) = (&after, &want_after) else { panic!() };
        super::super::tests::close(a, b, 1e-4, "logits after a K-FAC step");
        assert_ne!(a, lg, "the step moved the device's copy");
    }
}
