//! Runs K-FAC conformance cases (format `kfac-case/1`, the book's `formats/kfac-case.md`)
//! through the torso type every actor-critic is built from
//! ([`crate::nets::cpu::SeqNet`]; with the `cuda` feature, also its device counterpart,
//! [`cuda`]) and the K-FAC glue ([`crate::kfac::glue`]), comparing every factor,
//! natural gradient, `vFv`, `nu` and the parameters after each step with the expected
//! float64 values.

use std::path::{Path, PathBuf};

use dfdx::prelude::*;
use faer::Mat;
use serde::Deserialize;

use crate::kfac::{glue, BiasMode, KfacConfig, LayerGrads, LayerStats};
use crate::nets::cpu::{Dev, SeqNet, TraceEntry};
use crate::nets::{Activation, KfacBlocks, LayerSpec};
use crate::optim::LrSchedule;

/// A tensor as cases store it.
#[derive(Debug, Clone, Deserialize)]
pub struct CaseTensor {
    pub shape: Vec<usize>,
    pub data: Vec<f64>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct CaseConfig {
    pub lr: f64,
    pub momentum: f64,
    pub stat_decay: f64,
    pub kl_clip: f64,
    pub damping: f64,
    pub inverse_every: u64,
    pub eigen_floor: f64,
    pub bias: BiasMode,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum CaseLayer {
    Linear { #[serde(rename = "in")] input: usize, out: usize, activation: String },
    Conv2d { in_channels: usize, out_channels: usize, kernel: usize, stride: usize, padding: usize, activation: String },
    Flatten,
}

#[derive(Debug, Clone, Deserialize)]
pub struct CaseParams {
    pub weight: CaseTensor,
    pub bias: CaseTensor,
}

#[derive(Debug, Clone, Deserialize)]
#[allow(non_snake_case)]
pub struct CaseBlock {
    pub A: CaseTensor,
    pub G: CaseTensor,
    pub running_A: CaseTensor,
    pub running_G: CaseTensor,
    pub natural_grad: CaseTensor,
}

#[derive(Debug, Clone, Deserialize)]
#[allow(non_snake_case)]
pub struct CaseExpected {
    pub blocks: Vec<CaseBlock>,
    pub vFv: f64,
    pub nu: f64,
    pub params_after: Vec<CaseParams>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct CaseStep {
    pub input: CaseTensor,
    pub loss_output_grad: CaseTensor,
    pub fisher_output_grad: CaseTensor,
    pub expected: CaseExpected,
}

/// One case file.
#[derive(Debug, Clone, Deserialize)]
pub struct KfacCase {
    pub format: String,
    pub name: String,
    pub config: CaseConfig,
    pub network: Vec<CaseLayer>,
    pub input_shape: Vec<usize>,
    pub initial_params: Vec<CaseParams>,
    pub steps: Vec<CaseStep>,
}

/// Reads a case, checking its format.
pub fn load_case(path: &Path) -> Result<KfacCase, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let case: KfacCase = serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    if case.format != "kfac-case/1" {
        return Err(format!("{}: unsupported format `{}`", path.display(), case.format));
    }
    Ok(case)
}

/// The `*.json` files of a directory, sorted.
pub fn case_files(dir: &Path) -> Result<Vec<PathBuf>, String> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    v.sort();
    Ok(v)
}

pub fn activation(name: &str) -> Result<Option<Activation>, String> {
    Ok(match name {
        "none" => None,
        "tanh" => Some(Activation::Tanh),
        "relu" => Some(Activation::Relu),
        "elu" => Some(Activation::Elu),
        other => return Err(format!("unknown activation `{other}`")),
    })
}

pub fn f32s(t: &CaseTensor) -> Vec<f32> {
    t.data.iter().map(|&x| x as f32).collect()
}

/// FORMAT.md's tolerance: `max|x - e| <= 1e-3 max|e| + 1e-6`.
pub fn compare(what: &str, x: &[f64], e: &[f64]) -> Result<(), String> {
    if x.len() != e.len() {
        return Err(format!("{what}: {} values, expected {}", x.len(), e.len()));
    }
    let emax = e.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    let err = x.iter().zip(e).fold(0.0f64, |m, (a, b)| m.max((a - b).abs()));
    if err <= 1e-3 * emax + 1e-6 {
        Ok(())
    } else {
        Err(format!("{what}: max |x - e| = {err:e} > tolerance {:e} (max |e| = {emax:e})", 1e-3 * emax + 1e-6))
    }
}

fn mat_data(m: &Mat<f64>) -> Vec<f64> {
    (0..m.nrows()).flat_map(|i| (0..m.ncols()).map(move |j| m[(i, j)])).collect()
}

/// The network of a case as layer specifications.
pub fn layer_specs(network: &[CaseLayer]) -> Result<Vec<LayerSpec>, String> {
    network
        .iter()
        .map(|l| {
            Ok(match l {
                CaseLayer::Linear { input, out, activation: a } => {
                    LayerSpec::Linear { input: *input, output: *out, activation: activation(a)? }
                }
                CaseLayer::Conv2d { in_channels, out_channels, kernel, stride, padding, activation: a } => LayerSpec::Conv2d {
                    in_channels: *in_channels,
                    out_channels: *out_channels,
                    kernel: *kernel,
                    stride: *stride,
                    padding: *padding,
                    activation: activation(a)?,
                },
                CaseLayer::Flatten => LayerSpec::Flatten,
            })
        })
        .collect::<Result<Vec<_>, String>>()
}

/// A network a case runs on: the engine's half of each step.
pub trait CaseNet: KfacBlocks {
    /// One step's loss gradients (one per layer) and sampled Fisher statistics, from the
    /// gradients of the network's output (`batch` rows `input`) of the training loss and
    /// of the Fisher loss (FORMAT.md, steps 1-3).
    fn step_inputs(&mut self, input: &[f32], batch: usize, loss_output_grad: &[f32], fisher_output_grad: &[f32]) -> Result<(Vec<LayerGrads>, Vec<LayerStats>), String>;
}

impl CaseNet for SeqNet {
    fn step_inputs(&mut self, input: &[f32], batch: usize, loss_output_grad: &[f32], fisher_output_grad: &[f32]) -> Result<(Vec<LayerGrads>, Vec<LayerStats>), String> {
        let dev = self.device().clone();
        let x = dev.tensor_from_vec(input.to_vec(), (batch, self.input_dim()));
        let out_dim = loss_output_grad.len() / batch;
        let weighted = |net: &SeqNet, grad: &[f32], trace: Option<&mut Vec<TraceEntry>>| {
            let y = net.forward(x.clone().retaped::<OwnedTape<f32, Dev>>(), trace);
            let w = dev.tensor_from_vec(grad.to_vec(), (batch, out_dim));
            (y * w).sum().backward()
        };
        // Loss gradients.
        let mut grads = weighted(self, loss_output_grad, None);
        let layer_grads: Vec<LayerGrads> = self
            .layer_params_mut()
            .into_iter()
            .map(|(w, b)| LayerGrads { weight: Some(w.grad_f64(&mut grads)), bias: Some(b.grad_f64(&mut grads)) })
            .collect();
        // Fisher statistics.
        let mut trace = Vec::new();
        let mut fgrads = weighted(self, fisher_output_grad, Some(&mut trace));
        Ok((layer_grads, trace.into_iter().map(|e| e.stats(&mut fgrads)).collect()))
    }
}

/// Runs every step of a case on the CPU engine; `Err` holds the first mismatch.
pub fn run_case(case: &KfacCase) -> Result<(), String> {
    let specs = layer_specs(&case.network)?;
    let mut net = SeqNet::new(&case.input_shape, &specs, &case_params(case)).map_err(|e| e.to_string())?;
    run_case_on(case, &mut net)
}

/// The case's initial parameters, `(weight, bias)` per layer, in float32.
pub fn case_params(case: &KfacCase) -> Vec<(Vec<f32>, Vec<f32>)> {
    case.initial_params.iter().map(|p| (f32s(&p.weight), f32s(&p.bias))).collect()
}

/// Runs every step of a case on `net` (built from the case's network and initial
/// parameters) through K-FAC's glue; `Err` holds the first mismatch.
pub fn run_case_on(case: &KfacCase, net: &mut dyn CaseNet) -> Result<(), String> {
    let c = &case.config;
    let mut kfac = KfacConfig {
        lr: c.lr,
        lr_schedule: LrSchedule::Constant,
        momentum: c.momentum,
        kl_clip: c.kl_clip,
        damping: c.damping,
        stat_decay: c.stat_decay,
        inverse_every: c.inverse_every,
        eigen_floor: c.eigen_floor,
        bias: c.bias,
        ..KfacConfig::default()
    }
    .build();
    kfac.set_linalg(net.kfac_linalg());
    for (t, step) in case.steps.iter().enumerate() {
        let batch = step.input.shape[0];
        let (layer_grads, stats) = net
            .step_inputs(&f32s(&step.input), batch, &f32s(&step.loss_output_grad), &f32s(&step.fisher_output_grad))
            .map_err(|e| format!("step {t}: {e}"))?;
        let every: Vec<usize> = (0..net.blocks().len()).collect();
        let out = glue::step(net, &mut kfac, &every, &stats, &layer_grads, c.lr).map_err(|e| format!("step {t}: {e}"))?;
        if let Some(ev) = out.event {
            return Err(format!("step {t}: update skipped ({ev:?})"));
        }
        let e = &step.expected;
        if out.blocks.len() != e.blocks.len() {
            return Err(format!("step {t}: {} blocks, expected {}", out.blocks.len(), e.blocks.len()));
        }
        for (k, (b, eb)) in out.blocks.iter().zip(&e.blocks).enumerate() {
            compare(&format!("step {t} block {k} A"), &mat_data(&b.a), &eb.A.data)?;
            compare(&format!("step {t} block {k} G"), &mat_data(&b.g), &eb.G.data)?;
            compare(&format!("step {t} block {k} running_A"), &mat_data(&b.running_a), &eb.running_A.data)?;
            compare(&format!("step {t} block {k} running_G"), &mat_data(&b.running_g), &eb.running_G.data)?;
            compare(&format!("step {t} block {k} natural_grad"), &mat_data(&b.natural_grad), &eb.natural_grad.data)?;
        }
        compare(&format!("step {t} vFv"), &[out.vfv], &[e.vFv])?;
        compare(&format!("step {t} nu"), &[out.nu], &[e.nu])?;
        if e.params_after.len() != net.blocks().len() {
            return Err(format!("step {t}: {} layers after, the network has {}", e.params_after.len(), net.blocks().len()));
        }
        for (k, ep) in e.params_after.iter().enumerate() {
            let v = net.block_values(k);
            let to64 = |v: &[f32]| v.iter().map(|&x| f64::from(x)).collect::<Vec<_>>();
            compare(&format!("step {t} layer {k} weight after"), &to64(v.weight.as_deref().unwrap_or_default()), &ep.weight.data)?;
            compare(&format!("step {t} layer {k} bias after"), &to64(&v.bias), &ep.bias.data)?;
        }
    }
    Ok(())
}

/// The CUDA engine's half of a case (cargo feature `cuda`): the case's network on the
/// device ([`crate::nets::cuda::forward::DeviceSeq`]), its gradients and its Fisher
/// statistics computed there, the statistics reduced there to float64 sums of products,
/// the factors' eigendecompositions and the natural gradient's products there (cuSOLVER
/// `Dsyevd`, cuBLAS DGEMM); the rest of K-FAC as on the CPU. A host copy of the parameters (the CPU engine's network)
/// answers the block reads; every step is written to both.
#[cfg(feature = "cuda")]
pub mod cuda {
    use super::*;
    use std::sync::Arc;

    use crate::nets::cuda::forward::{DeviceSeq, Stats};
    use crate::nets::cuda::linalg::DeviceLinalg;
    use crate::nets::cuda::Device;
    use crate::nets::{BlockSpec, BlockValues, NetError, KfacLinalg};

    /// A case's network on GPU 0.
    pub struct DeviceCaseNet {
        dev: Arc<Device>,
        seq: DeviceSeq,
        host: SeqNet,
        linalg: Arc<DeviceLinalg>,
    }

    impl DeviceCaseNet {
        /// Opens GPU 0 (an error says why there is none) and uploads the case's network.
        pub fn new(case: &KfacCase) -> Result<DeviceCaseNet, String> {
            let specs = layer_specs(&case.network)?;
            let host = SeqNet::new(&case.input_shape, &specs, &case_params(case)).map_err(|e| e.to_string())?;
            let dev = Arc::new(Device::open(0).map_err(|e| e.to_string())?);
            let params: Vec<BlockValues> = (0..host.blocks().len()).map(|i| host.block_values(i)).collect();
            let seq = DeviceSeq::upload(&dev, &case.input_shape, &specs, &params).map_err(|e| e.to_string())?;
            let linalg = Arc::new(DeviceLinalg::new(dev.clone()).map_err(|e| e.to_string())?);
            Ok(DeviceCaseNet { dev, seq, host, linalg })
        }
    }

    impl KfacBlocks for DeviceCaseNet {
        fn blocks(&self) -> &[BlockSpec] {
            self.host.blocks()
        }

        fn block_values(&self, i: usize) -> BlockValues {
            self.host.block_values(i)
        }

        fn add_to_block(&mut self, i: usize, delta: &LayerGrads) -> Result<(), NetError> {
            self.host.add_to_block(i, delta)?;
            self.seq.write_block(&self.dev, i, &self.host.block_values(i))
        }

        fn kfac_linalg(&self) -> Option<Arc<dyn KfacLinalg>> {
            Some(self.linalg.clone())
        }
    }

    impl CaseNet for DeviceCaseNet {
        fn step_inputs(&mut self, input: &[f32], batch: usize, loss_output_grad: &[f32], fisher_output_grad: &[f32]) -> Result<(Vec<LayerGrads>, Vec<LayerStats>), String> {
            let e = |e: NetError| e.to_string();
            let out = batch * self.seq.out_len();
            if input.len() != batch * self.seq.in_len() || loss_output_grad.len() != out || fisher_output_grad.len() != out {
                return Err(format!("{} inputs and {}/{} output gradients for {batch} rows", input.len(), loss_output_grad.len(), fisher_output_grad.len()));
            }
            let tape = self.seq.forward_traced(&self.dev, self.dev.upload(input).map_err(e)?, batch).map_err(e)?;
            let (grads, _) = self.seq.backward(&self.dev, &tape, self.dev.upload(loss_output_grad).map_err(e)?, Stats::None, true).map_err(e)?;
            let (_, stats) = self.seq.backward(&self.dev, &tape, self.dev.upload(fisher_output_grad).map_err(e)?, Stats::Reduced, false).map_err(e)?;
            Ok((grads, stats))
        }
    }

    /// Runs every step of a case on the GPU; `Err` holds the first mismatch (or why there
    /// is no GPU).
    pub fn run_case(case: &KfacCase) -> Result<(), String> {
        run_case_on(case, &mut DeviceCaseNet::new(case)?)
    }
}

/// Runs a conformance suite: every case file in `builtin` and, when the environment variable
/// `env_var` names one, in that directory too; prints `{label} case NAME: ok` or the first
/// mismatch per case and a summary line. `run` loads and runs one file, returning the case's
/// name or `NAME: why`. True when every case passed and there was at least one.
pub fn run_suite(label: &str, builtin: PathBuf, env_var: &str, run: impl Fn(&Path) -> Result<String, String>) -> bool {
    let mut dirs = vec![builtin];
    match std::env::var(env_var) {
        Ok(extra) if !extra.is_empty() => dirs.push(PathBuf::from(extra)),
        _ => println!("{label} conformance: {env_var} is not set; running {} only", dirs[0].display()),
    }
    let (mut ok, mut failed) = (0, 0);
    for dir in &dirs {
        let files = match case_files(dir) {
            Ok(f) if !f.is_empty() => f,
            Ok(_) => {
                println!("{label} conformance: no cases in {}", dir.display());
                failed += 1;
                continue;
            }
            Err(e) => {
                println!("{label} conformance: {e}");
                failed += 1;
                continue;
            }
        };
        for file in files {
            match run(&file) {
                Ok(name) => {
                    println!("{label} case {name}: ok");
                    ok += 1;
                }
                Err(msg) => {
                    println!("{label} case {msg}");
                    failed += 1;
                }
            }
        }
    }
    println!("{label}-conformance: {ok} passed, {failed} failed");
    failed == 0 && ok > 0
}

#[cfg(all(test, feature = "cuda"))]
mod tests {
    use std::path::PathBuf;

    use super::*;

    /// The conformance cases (`golden/kfac/`, and `KFAC_CASES` when set) on the GPU, where
    /// there is one; elsewhere the reason is printed.
    #[test]
    fn the_conformance_cases_pass_on_the_gpu() {
        if let Err(e) = crate::nets::cuda::Device::open(0) {
            println!("skipped: no CUDA device ({e})");
            return;
        }
        // A test binary carried to a GPU machine has no source tree: there `KFAC_CASES`
        // holds every case (benches/gpu_bundle.sh copies `golden/kfac/` into it).
        let golden = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("golden/kfac");
        let (builtin, extra) = match std::env::var("KFAC_CASES") {
            Ok(d) if !golden.is_dir() && !d.is_empty() => (PathBuf::from(d), "KFAC_CASES_MORE"),
            _ => (golden, "KFAC_CASES"),
        };
        let passed = run_suite("kfac (cuda)", builtin, extra, |file| {
            load_case(file).and_then(|case| cuda::run_case(&case).map(|()| case.name.clone()).map_err(|e| format!("{}: {e}", case.name)))
        });
        assert!(passed, "a K-FAC conformance case failed on the GPU (lines above)");
    }
}
