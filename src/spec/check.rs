//! Raw -> checked: [`super::raw::RawSpec`] and a profile in, a [`super::Spec`] out; every
//! error names the file, the line and the field path.
use super::checker::{per_env_numbers, Checker};
use super::*;
use grid::Axis;

impl Checker<'_> {
    fn seeds(&self, field: &str, seeds: &[i64]) -> Result<Vec<u64>, SpecError> {
        if seeds.is_empty() {
            return Err(self.err(field, "the seed list is empty; give at least one seed"));
        }
        let mut out = Vec::with_capacity(seeds.len());
        let mut seen = std::collections::HashSet::with_capacity(seeds.len());
        for (i, &s) in seeds.iter().enumerate() {
            if s < 0 {
                return Err(self.err(format!("{field}[{i}]"), format!("seeds are non-negative integers, got {s}")));
            }
            if !seen.insert(s) {
                return Err(self.err(format!("{field}[{i}]"), format!("seed {s} appears twice")));
            }
            out.push(s as u64);
        }
        Ok(out)
    }

    /// The algorithm's defaults, or its `preset`, with the given fields merged over them,
    /// then typed.
    fn configured(&self, at: &str, entry: &crate::algo::AlgorithmEntry, v: &serde_yaml::Value) -> Result<AlgorithmConfig, SpecError> {
        let mut v = v.clone();
        if v.is_null() {
            v = serde_yaml::Value::Mapping(Default::default());
        }
        let base = match v.as_mapping_mut().and_then(|m| m.remove("preset")) {
            Some(p) => (entry.preset)(p)
                .map_err(|e| self.err(format!("{at}.preset"), format!("{e} (known: {})", entry.presets.join(", "))))?,
            None => (entry.defaults)(),
        };
        let mut merged = base.inner_yaml();
        merge(&mut merged, v);
        (entry.typed)(merged).map_err(|e| self.err(format!("{at}.{}", e.field), strip_location(&e.message)))
    }

    fn algorithm(&self, i: usize, a: &raw::RawAlgorithm, spec_envs: &[String]) -> Result<AlgorithmSpec, SpecError> {
        let at = format!("algorithms[{i}]");
        if a.name.trim().is_empty() {
            return Err(self.err(format!("{at}.name"), "the algorithm's name is empty"));
        }
        let known = || crate::algo::ALGORITHMS.iter().map(|e| e.key).collect::<Vec<_>>().join(", ");
        let (key, v) = match a.configs.iter().collect::<Vec<_>>().as_slice() {
            [one] => *one,
            [] => return Err(self.err(&at, format!("give exactly one algorithm configuration (known: {}), e.g. `a2c: {{}}`", known()))),
            _ => return Err(self.err(&at, "give exactly one algorithm configuration, not several")),
        };
        let Some(entry) = crate::algo::lookup(key) else {
            return Err(self.err(format!("{at}.{key}"), format!("unknown field `{key}`, expected `name`, `grid`, `budget`, `envs` or an algorithm ({})", known())));
        };
        let config = self.configured(&format!("{at}.{key}"), entry, v)?;
        self.config_checks(&at, &config)?;
        let grid = self.grid(&at, &config, &a.grid)?;
        let rb = a.budget.clone().unwrap_or_default();
        let budget = AlgorithmBudget {
            total_timesteps: rb.total_timesteps.map(|v| self.positive(&format!("{at}.budget.total_timesteps"), v)).transpose()?,
            steps_per_update: rb.steps_per_update.map(|v| self.positive(&format!("{at}.budget.steps_per_update"), v).map(|v| v as usize)).transpose()?,
            num_envs: rb.num_envs.map(|v| self.positive(&format!("{at}.budget.num_envs"), v).map(|v| v as usize)).transpose()?,
            schedule_timesteps: rb.schedule_timesteps.map(|v| self.positive(&format!("{at}.budget.schedule_timesteps"), v)).transpose()?,
        };
        let envs = match &a.envs {
            None => None,
            Some(list) => {
                if list.is_empty() {
                    return Err(self.err(format!("{at}.envs"), "the list is empty; remove it to run the row on every environment"));
                }
                for (j, e) in list.iter().enumerate() {
                    if !spec_envs.contains(e) {
                        return Err(self.err(format!("{at}.envs[{j}]"), format!("`{e}` is not one of the spec's envs ({})", spec_envs.join(", "))));
                    }
                    if list[..j].contains(e) {
                        return Err(self.err(format!("{at}.envs[{j}]"), format!("`{e}` appears twice")));
                    }
                }
                Some(list.clone())
            }
        };
        Ok(AlgorithmSpec { name: a.name.clone(), config, grid, budget, envs })
    }

    /// The range checks of every field (the base configuration and each grid point's).
    fn config_checks(&self, at: &str, config: &AlgorithmConfig) -> Result<(), SpecError> {
        config.check().map_err(|e| self.err(format!("{at}.{}.{}", config.kind(), e.field), e.message))
    }

    /// Rewrites an error found on a grid point's configuration so that it points at the
    /// grid: `field` (where it is written) and `context` (what was set) before the
    /// original field and message.
    fn regrid(&self, e: SpecError, field: String, expected: &str, context: &str) -> SpecError {
        match e {
            SpecError::Invalid { field: f, message, .. } if f == expected => self.err(field, message),
            SpecError::Invalid { field: f, message, .. } => self.err(field, format!("{context}: {f}: {message}")),
            other => other,
        }
    }

    /// The grid's axes (keys in the order written, values as written), checked value by
    /// value, then every combination resolved and checked as a whole.
    fn grid(&self, at: &str, base: &AlgorithmConfig, raw: &raw::RawGrid) -> Result<Vec<ResolvedPoint>, SpecError> {
        let kind = base.kind();
        let mut axes: Vec<(String, Axis, Vec<GridValue>)> = Vec::new();
        for (key, list) in &raw.0 {
            let f = format!("{at}.grid.{key}");
            let Some(items) = list.as_sequence() else {
                return Err(self.err(f, format!("give a list of values, e.g. `{key}: [0.1, 0.01]`")));
            };
            if items.is_empty() {
                return Err(self.err(f, "the grid is empty; remove it or give values"));
            }
            let axis = Axis::of(key);
            if axis != Axis::LearningRate && axis.field(base) == Axis::LearningRate.field(base) && raw.0.iter().any(|(k, _)| k == "lr") {
                return Err(self.err(f, "`lr` is an alias of this field; grid over one of them"));
            }
            let mut values: Vec<GridValue> = Vec::new();
            for (k, item) in items.iter().enumerate() {
                let fk = format!("{f}[{k}]");
                let written = serde_yaml::to_string(item).unwrap_or_default().trim().to_string();
                let Some(v) = GridValue::from_yaml(item) else {
                    return Err(self.err(fk, format!("grid values are numbers, strings or booleans, got `{written}`")));
                };
                let v = self.axis_value(at, &f, &fk, base, &axis, v)?;
                if values.contains(&v) {
                    return Err(self.err(fk, format!("{v} appears twice")));
                }
                values.push(v);
            }
            axes.push((key.clone(), axis, values));
        }
        // Every axis multiplies the points.
        let mut points = vec![GridPoint::default()];
        for (key, _, values) in &axes {
            points = points
                .iter()
                .flat_map(|p| {
                    values.iter().map(move |v| {
                        let mut q = p.clone();
                        q.0.push((key.clone(), v.clone()));
                        q
                    })
                })
                .collect();
        }
        let mut out = Vec::new();
        for point in points {
            let f = format!("{at}.grid");
            let context = format!("point [{}]", point.label());
            let mut config = base.clone();
            let mut steps_per_update = None;
            for ((key, v), (_, axis, _)) in point.0.iter().zip(&axes) {
                axis.apply(&mut config, &mut steps_per_update, v)
                    .map_err(|e| self.err(&f, format!("{context}: {}", self.path_message(kind, key, v, e))))?;
            }
            self.config_checks(at, &config).map_err(|e| self.regrid(e, f.clone(), "", &context))?;
            out.push(ResolvedPoint { point, config, steps_per_update });
        }
        Ok(out)
    }

    /// One grid value checked for its axis, errors at the value (`fk`) or key (`f`):
    /// `steps_per_update` a positive whole number (stored as a float, as before generic
    /// grids, so that cell hashes of existing results stay the same); `lr` a number the
    /// configuration's checks accept at its learning-rate field; a field's value one its
    /// type and range checks accept.
    fn axis_value(&self, at: &str, f: &str, fk: &str, base: &AlgorithmConfig, axis: &Axis, v: GridValue) -> Result<GridValue, SpecError> {
        let kind = base.kind();
        match axis {
            Axis::StepsPerUpdate => match v {
                GridValue::Int(n) => Ok(GridValue::Float(self.positive(fk, n)? as f64)),
                _ => Err(self.err(fk, format!("must be a positive integer, got {v}"))),
            },
            Axis::LearningRate => match v.as_f64() {
                Some(x) => {
                    let mut c = base.clone();
                    *c.lr_mut() = x;
                    let expected = format!("{at}.{kind}.{}", base.settings().lr_field());
                    self.config_checks(at, &c).map_err(|e| self.regrid(e, fk.to_string(), &expected, &format!("with lr={v}")))?;
                    Ok(GridValue::Float(x))
                }
                None => Err(self.err(fk, format!("must be a positive number, got `{v}`"))),
            },
            Axis::Field(path) => {
                let c = self.with_field(f, fk, base, path, &v)?;
                let expected = format!("{at}.{kind}.{path}");
                self.config_checks(at, &c).map_err(|e| self.regrid(e, fk.to_string(), &expected, &format!("with {path}={v}")))?;
                Ok(v)
            }
        }
    }

    /// `base` with one grid value set at `path`; errors at the key (`f`) or value (`fk`).
    fn with_field(&self, f: &str, fk: &str, base: &AlgorithmConfig, path: &str, v: &GridValue) -> Result<AlgorithmConfig, SpecError> {
        grid::with_field(base, path, v).map_err(|e| {
            let at = if matches!(e, grid::PathError::BadValue { .. }) { fk } else { f };
            self.err(at, self.path_message(base.kind(), path, v, e))
        })
    }

    fn path_message(&self, kind: &str, path: &str, v: &GridValue, e: grid::PathError) -> String {
        use grid::PathError;
        match e {
            PathError::NoSuchField { group, fields } => {
                let of = if group.is_empty() { String::new() } else { format!(" of `{group}`") };
                let named = Axis::NAMED.map(|n| format!("`{n}`")).join(" and ");
                let known = if path.contains('.') || !group.is_empty() { String::new() } else { format!("; besides the fields, {named}") };
                format!("no such field in the {kind} configuration (fields{of}: {}{known})", fields.join(", "))
            }
            PathError::NotAGroup { at } => format!("`{at}` is a single value in the {kind} configuration, not a group of fields"),
            PathError::NotSet { at } => {
                format!("`{at}` is not set in this {kind} configuration; set it under `{kind}:` to grid over its fields")
            }
            PathError::BadValue { message } => format!("`{path}` cannot be {v}: {}", strip_location(&message)),
        }
    }
}

/// Deep-merges `over` into `base` (mappings key by key; anything else replaces).
fn merge(base: &mut serde_yaml::Value, over: serde_yaml::Value) {
    match (base, over) {
        (serde_yaml::Value::Mapping(b), serde_yaml::Value::Mapping(o)) => {
            for (k, v) in o {
                match b.get_mut(&k) {
                    Some(slot) => merge(slot, v),
                    None => {
                        b.insert(k, v);
                    }
                }
            }
        }
        (b, o) => *b = o,
    }
}

pub(super) fn check(raw: RawSpec, name: String, path: &Path, text: &str, profile: &str) -> Result<Spec, SpecError> {
    let c = Checker::new(path, text);
    let prof = profile_of(&c, &raw, profile)?;
    if raw.title.trim().is_empty() {
        return Err(c.err("title", "the title is empty"));
    }
    envs(&c, &raw.envs)?;
    let mut algorithms = algorithms(&c, &raw.algorithms, &raw.envs)?;
    if let Some(engine) = raw.engine {
        if let Some(why) = engine.not_compiled_in() {
            return Err(c.err("engine", why));
        }
        set_engine(&mut algorithms, engine);
    }
    let (seeds, budget, paper_budget) = seeds_and_budget(&c, &raw, &algorithms, &prof, profile)?;
    let pixels = pixels(&c, &raw)?;
    let spaces = spaces(&c, &raw.envs, &algorithms, pixels.as_ref())?;
    memory(&c, &spaces, &algorithms, &budget, &prof, profile)?;
    // Every other profile too: `plan` refuses a spec whose unselected profile is broken.
    for (name, other) in &raw.profiles {
        if name != profile {
            let (_, b, _) = seeds_and_budget(&c, &raw, &algorithms, other, name)?;
            memory(&c, &spaces, &algorithms, &b, other, name)?;
            profile_envs(&c, &raw.envs, other, name)?;
        }
    }
    let run_envs = profile_envs(&c, &raw.envs, &prof, profile)?;
    batches(&c, &algorithms, &budget)?;
    let metrics = metrics(&c, &raw)?;
    for (i, m) in metrics.iter().enumerate() {
        if let Some(k) = m.best_seeds.filter(|&k| k > raw.seeds.len()) {
            return Err(c.err(
                format!("metrics[{i}].best_seeds"),
                format!("the best {k} seeds of {} (the spec's `seeds`): give at most {}", raw.seeds.len(), raw.seeds.len()),
            ));
        }
    }
    metric_columns(&c, &raw, &metrics, &algorithms)?;
    let curves = curves(&c, &raw)?;
    let grid_ranking = grid_ranking(&c, &raw, &metrics)?;
    let update_curves = update_curves(&c, &raw, &algorithms)?;
    let references = references(&c, &raw, &metrics)?;
    let paper = paper(&c, &raw, &algorithms, &metrics)?;
    let claims = super::claims::check(&c, &raw, &metrics, &algorithms)?;
    let mut profiles: Vec<String> = raw.profiles.keys().cloned().collect();
    if !profiles.iter().any(|p| p == PAPER_PROFILE) {
        profiles.insert(0, PAPER_PROFILE.into());
    }
    Ok(Spec {
        name,
        path: path.into(),
        title: raw.title,
        reproduces: raw.reproduces,
        description: raw.description,
        profile: profile.to_string(),
        envs: run_envs,
        algorithms,
        seeds,
        budget,
        metrics,
        paper,
        profiles,
        paper_budget,
        curves,
        grid_ranking,
        update_curves,
        references,
        claims,
        pixels,
        profile_sets: ProfileSets::of(&prof),
        engine_flag: None,
        source_sha256: String::new(),
    })
}

/// The selected profile's overrides.
fn profile_of(c: &Checker, raw: &RawSpec, profile: &str) -> Result<raw::RawProfile, SpecError> {
    Ok(match raw.profiles.get(profile) {
        Some(p) => p.clone(),
        None if profile == PAPER_PROFILE => raw::RawProfile::default(),
        None => {
            let mut known: Vec<&str> = raw.profiles.keys().map(String::as_str).collect();
            if !known.contains(&PAPER_PROFILE) {
                known.insert(0, PAPER_PROFILE);
            }
            return Err(c.err("profiles", format!("no profile `{profile}` (known: {})", known.join(", "))));
        }
    })
}

/// The environments a profile runs: its `envs`, each one of the spec's and named once, in
/// the spec's order; all of the spec's without.
fn profile_envs(c: &Checker, spec_envs: &[String], prof: &raw::RawProfile, profile: &str) -> Result<Vec<String>, SpecError> {
    let Some(envs) = &prof.envs else { return Ok(spec_envs.to_vec()) };
    let f = format!("profiles.{profile}.envs");
    if envs.is_empty() {
        return Err(c.err(f, "no environments; name at least one of the spec's, or leave `envs` out"));
    }
    for (i, e) in envs.iter().enumerate() {
        if !spec_envs.contains(e) {
            return Err(c.err(format!("{f}[{i}]"), format!("`{e}` is not one of the spec's envs ({})", spec_envs.join(", "))));
        }
        if envs[..i].contains(e) {
            return Err(c.err(format!("{f}[{i}]"), format!("`{e}` appears twice")));
        }
    }
    Ok(spec_envs.iter().filter(|e| envs.contains(e)).cloned().collect())
}

/// Registered, and each once.
fn envs(c: &Checker, envs: &[String]) -> Result<(), SpecError> {
    if envs.is_empty() {
        return Err(c.err("envs", "no environments; name at least one Gymnasium id"));
    }
    for (i, id) in envs.iter().enumerate() {
        env::lookup(id).map_err(|e| c.err(format!("envs[{i}]"), e.to_string()))?;
        if envs[..i].contains(id) {
            return Err(c.err(format!("envs[{i}]"), format!("`{id}` appears twice")));
        }
    }
    Ok(())
}

/// Each row typed and checked; rows of algorithms not built yet set aside.
fn algorithms(c: &Checker, rows: &[raw::RawAlgorithm], spec_envs: &[String]) -> Result<Vec<AlgorithmSpec>, SpecError> {
    if rows.is_empty() {
        return Err(c.err("algorithms", "no algorithms; give at least one"));
    }
    let mut algorithms: Vec<AlgorithmSpec> = Vec::new();
    for (i, a) in rows.iter().enumerate() {
        let parsed = c.algorithm(i, a, spec_envs)?;
        if algorithms.iter().any(|x| x.name == a.name) {
            return Err(c.err(format!("algorithms[{i}].name"), format!("`{}` appears twice", a.name)));
        }
        algorithms.push(parsed);
    }
    Ok(algorithms)
}

/// Seeds and budget with the profile's overrides, and the paper profile's budget.
fn seeds_and_budget(c: &Checker, raw: &RawSpec, algorithms: &[AlgorithmSpec], prof: &raw::RawProfile, profile: &str) -> Result<(Vec<u64>, Budget, Budget), SpecError> {
    let pf = |field: &str| format!("profiles.{profile}.{field}");
    let seeds = match &prof.seeds {
        Some(s) => c.seeds(&pf("seeds"), s)?,
        None => c.seeds("seeds", &raw.seeds)?,
    };
    let pick = |over: Option<i64>, field: &str, base: i64, base_field: &str| -> Result<u64, SpecError> {
        match over {
            Some(v) => c.positive(&pf(field), v),
            None => c.positive(base_field, base),
        }
    };
    let budget = Budget {
        total_timesteps: pick(prof.total_timesteps, "total_timesteps", raw.budget.total_timesteps, "budget.total_timesteps")?,
        num_envs: pick(prof.num_envs, "num_envs", raw.budget.num_envs, "budget.num_envs")? as usize,
        steps_per_update: pick(prof.steps_per_update, "steps_per_update", raw.budget.steps_per_update, "budget.steps_per_update")?
            as usize,
        schedule_timesteps: raw.budget.schedule_timesteps.map(|v| c.positive("budget.schedule_timesteps", v)).transpose()?,
    };
    let paper_budget = Budget {
        total_timesteps: c.positive("budget.total_timesteps", raw.budget.total_timesteps)?,
        num_envs: c.positive("budget.num_envs", raw.budget.num_envs)? as usize,
        steps_per_update: c.positive("budget.steps_per_update", raw.budget.steps_per_update)? as usize,
        schedule_timesteps: budget.schedule_timesteps,
    };
    // Every row's schedules anneal over a horizon no shorter than its run.
    for (i, a) in algorithms.iter().enumerate() {
        let b = row_budget(a, budget, paper_budget, ProfileSets::of(prof));
        if b.schedule_horizon() < b.total_timesteps {
            // Only a horizon the spec writes can be shorter (the default never is).
            let field = if a.budget.schedule_timesteps.is_some() {
                format!("algorithms[{i}].budget.schedule_timesteps")
            } else {
                "budget.schedule_timesteps".to_string()
            };
            return Err(c.err(
                field,
                format!(
                    "row `{}` runs {} timesteps, past the {} its learning-rate schedules anneal over (budget.schedule_timesteps)",
                    a.name,
                    b.total_timesteps,
                    b.schedule_horizon()
                ),
            ));
        }
    }
    Ok((seeds, budget, paper_budget))
}

/// A row's budget under a profile ([`Spec::row_budget`]): the row's fields over the
/// spec's (the profile's win), and the horizon of its schedules: the row's own
/// `schedule_timesteps`, else the spec's, else the row's budget as the spec writes it
/// (the paper profile's), so that a profile's shorter run is the paper's run cut short
/// (a profile's longer run anneals over itself).
pub(super) fn row_budget(alg: &AlgorithmSpec, budget: Budget, paper_budget: Budget, profile_sets: ProfileSets) -> Budget {
    let mut b = alg.budget.apply(budget, profile_sets);
    let horizon = alg
        .budget
        .schedule_timesteps
        .or(budget.schedule_timesteps)
        .unwrap_or_else(|| alg.budget.total_timesteps.unwrap_or(paper_budget.total_timesteps).max(b.total_timesteps));
    b.schedule_timesteps = (horizon != b.total_timesteps).then_some(horizon);
    b
}

/// Every network on every environment's spaces (a conv torso needs images, ...); the
/// spaces and time limit of each environment.
/// `pixels:` checked: a positive size and cameras only for the spec's environments (whether
/// each environment can be drawn as asked is [`spaces`]' check, which makes it).
fn pixels(c: &Checker, raw: &RawSpec) -> Result<Option<PixelSpec>, SpecError> {
    let Some(p) = &raw.pixels else { return Ok(None) };
    let size = c.positive("pixels.size", p.size)? as usize;
    for e in p.cameras.keys() {
        if !raw.envs.contains(e) {
            return Err(c.err(format!("pixels.cameras.{e}"), format!("`{e}` is not one of the spec's envs ({})", raw.envs.join(", "))));
        }
    }
    Ok(Some(PixelSpec { size, visuals: p.visuals, cameras: p.cameras.clone() }))
}

fn spaces(c: &Checker, envs: &[String], algorithms: &[AlgorithmSpec], pixels: Option<&PixelSpec>) -> Result<Vec<EnvShape>, SpecError> {
    let mut out = Vec::new();
    for id in envs {
        let e = env::make_observed(id, &observe_of(pixels, id)).map_err(|e| {
            // A pixel request the task cannot take (not MuJoCo, a camera its model lacks, a
            // build that does not render) is the `pixels:` block's fault.
            let field = match (&e, pixels) {
                (env::EnvError::NoPixels { .. }, Some(p)) if p.cameras.contains_key(id) => format!("pixels.cameras.{id}"),
                (env::EnvError::NoPixels { .. }, Some(_)) => "pixels".to_string(),
                _ => "envs".to_string(),
            };
            c.err(field, e.to_string())
        })?;
        let (obs, act) = (e.observation_space(), e.action_space());
        let max_steps = env::lookup(id).map(|e| e.max_episode_steps).unwrap_or(0);
        out.push(EnvShape { id: id.clone(), obs: obs.clone(), act: act.clone(), max_steps });
        if let Some((i, config, err)) = super::first_unfit(algorithms, id, &obs, &act) {
            let field = match err {
                crate::algo::AlgoError::UnsupportedObservations { .. } => "pipeline",
                crate::algo::AlgoError::Net(_) => "network.architecture",
                _ => "network",
            };
            return Err(c.err(format!("algorithms[{i}].{}.{field}", config.kind()), format!("{err} (on {id})")));
        }
    }
    Ok(out)
}

/// An environment's spaces, for the memory estimate.
struct EnvShape {
    id: String,
    obs: env::ObservationSpace,
    act: env::ActionSpace,
    max_steps: usize,
}

/// Bytes this machine has (`MemTotal`), or 16 GiB when it cannot be read.
fn machine_memory() -> u128 {
    std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| m.lines().find(|l| l.starts_with("MemTotal:")).and_then(|l| l.split_whitespace().nth(1)?.parse::<u128>().ok()))
        .map(|kib| kib * 1024)
        .unwrap_or(16 << 30)
}

/// An estimate of the memory one cell needs, refused before anything is allocated when
/// it exceeds the machine's: the batch (inputs, actions, distributions, every layer's
/// activations, trace and gradients for each row) and 1 MiB per environment copy.
fn memory(c: &Checker, shapes: &[EnvShape], algorithms: &[AlgorithmSpec], budget: &Budget, prof: &raw::RawProfile, profile: &str) -> Result<(), SpecError> {
    let limit = machine_memory();
    for e in shapes {
        for alg in algorithms.iter().filter(|a| a.runs_on(&e.id)) {
            let budget = &alg.budget.apply(*budget, ProfileSets::of(prof));
            for config in std::iter::once(&alg.config).chain(alg.grid.iter().map(|p| &p.config)) {
                let settings = config.settings();
                let pipe = settings.pipeline();
                // The spaces were checked against every row (`spaces`), so these succeed.
                let input = config.network_input(&e.obs, &e.act).unwrap_or_default();
                let net = settings.network();
                let layer_floats = net.architecture.floats_per_row(&input, net.policy_activation).unwrap_or_default();
                let input_floats: u128 = input.iter().product::<usize>() as u128;
                let act = e.act.stored_dim() as u128;
                let row_bytes = 4 * (2 * input_floats + 6 * layer_floats + 4 * act + 16);
                let episode = if pipe.batch == crate::algo::BatchLayout::WholeEpisodes { e.max_steps as u128 } else { 0 };
                let rows = budget.num_envs as u128 * (budget.steps_per_update as u128 + episode);
                let need = rows.saturating_mul(row_bytes).saturating_add(budget.num_envs as u128 * (1 << 20));
                if need > limit {
                    let gib = |b: u128| b as f64 / (1u128 << 30) as f64;
                    let field = if prof.num_envs.is_some() || prof.steps_per_update.is_some() {
                        format!("profiles.{profile}.num_envs")
                    } else {
                        "budget.num_envs".to_string()
                    };
                    return Err(c.err(
                        field,
                        format!(
                            "num_envs {} x steps_per_update {} on {} would need about {:.1} GiB for one cell's batch and environments, more than this machine's {:.1} GiB",
                            budget.num_envs, budget.steps_per_update, e.id, gib(need), gib(limit)
                        ),
                    ));
                }
            }
        }
    }
    Ok(())
}

/// Whole-episode batches need one environment copy.
fn batches(c: &Checker, algorithms: &[AlgorithmSpec], budget: &Budget) -> Result<(), SpecError> {
    for (i, alg) in algorithms.iter().enumerate() {
        let batches = std::iter::once(&alg.config).chain(alg.grid.iter().map(|p| &p.config)).map(|c| c.settings().pipeline().batch);
        let whole = batches.into_iter().any(|b| b == crate::algo::BatchLayout::WholeEpisodes);
        if whole && budget.num_envs != 1 {
            let kind = alg.config.kind();
            return Err(c.err(
                format!("algorithms[{i}].{kind}.pipeline.batch"),
                format!("whole_episodes batches run one environment copy, but budget.num_envs is {}", budget.num_envs),
            ));
        }
    }
    Ok(())
}

fn metrics(c: &Checker, raw: &RawSpec) -> Result<Vec<MetricSpec>, SpecError> {
    let mut metrics = Vec::new();
    for (i, m) in raw.metrics.iter().enumerate() {
        let at = format!("metrics[{i}]");
        let (key, params) = match m.definition.iter().collect::<Vec<_>>().as_slice() {
            [one] => *one,
            [] => return Err(c.err(&at, format!("give exactly one metric definition (known: {})", crate::metric::known()))),
            _ => return Err(c.err(&at, "give exactly one metric definition, not several")),
        };
        let Some(entry) = crate::metric::lookup(key) else {
            return Err(c.err(
                format!("{at}.{key}"),
                format!("unknown field `{key}`, expected `name`, `best_seeds`, `min_effect` or a metric ({})", crate::metric::known()),
            ));
        };
        let kind = (entry.parse)(params.clone(), &raw.envs)
            .map_err(|e| c.err(format!("{at}.{key}.{}", e.field).trim_end_matches('.').to_string(), strip_location(&e.message)))?;
        let best_seeds = match m.best_seeds {
            Some(k) => Some(c.positive(&format!("{at}.best_seeds"), k)? as usize),
            None => None,
        };
        if metrics.iter().any(|x: &MetricSpec| x.name == m.name) {
            return Err(c.err(format!("{at}.name"), format!("metric `{}` appears twice", m.name)));
        }
        let min_effect = min_effect(c, &format!("{at}.min_effect"), m.min_effect.as_ref(), &raw.envs)?;
        metrics.push(MetricSpec { name: m.name.clone(), kind, best_seeds, min_effect });
    }
    Ok(metrics)
}

/// `min_effect`: one non-negative number for every environment, or one per environment
/// (every environment named once, no other).
fn min_effect(c: &Checker, at: &str, raw: Option<&raw::RawMinEffect>, envs: &[String]) -> Result<BTreeMap<String, f64>, SpecError> {
    per_env_numbers(c, at, raw, envs, "the spec")
}

fn curves(c: &Checker, raw: &RawSpec) -> Result<Option<CurveSpec>, SpecError> {
    Ok(match &raw.curves {
        Some(cv) => Some(CurveSpec {
            smoothing_episodes: c.positive("curves.smoothing_episodes", cv.smoothing_episodes)? as usize,
            points: match cv.points {
                Some(p) => c.positive("curves.points", p)? as usize,
                None => 100,
            },
            updates: cv.updates,
        }),
        None => None,
    })
}

fn grid_ranking(c: &Checker, raw: &RawSpec, metrics: &[MetricSpec]) -> Result<Option<String>, SpecError> {
    Ok(match &raw.grid_ranking {
        Some(g) => {
            if !metrics.iter().any(|m| m.name == g.metric) {
                let known: Vec<&str> = metrics.iter().map(|m| m.name.as_str()).collect();
                return Err(c.err(
                    "grid_ranking.metric",
                    format!("`{}` is not one of the spec's metrics (known: {})", g.metric, known.join(", ")),
                ));
            }
            Some(g.metric.clone())
        }
        None => metrics.first().map(|m| m.name.clone()),
    })
}

/// The columns of `updates.parquet` some row of the spec logs (a column one row lacks is a
/// note in the report, not an error: rows with different logs may sit side by side), and the
/// run's own columns.
fn logged_columns(algorithms: &[AlgorithmSpec]) -> Vec<&'static str> {
    let mut logged: Vec<&'static str> = vec!["update", "global_step", "wall_seconds"];
    for a in algorithms {
        if let Some(e) = crate::algo::lookup(a.config.kind()) {
            logged.extend(e.columns.iter().filter(|c| !logged.contains(c)).copied().collect::<Vec<_>>());
        }
    }
    logged
}

/// A metric that reads a column of `updates.parquet` no row logs.
fn metric_columns(c: &Checker, raw: &RawSpec, metrics: &[MetricSpec], algorithms: &[AlgorithmSpec]) -> Result<(), SpecError> {
    let logged = logged_columns(algorithms);
    for (i, m) in metrics.iter().enumerate() {
        for col in m.kind.logged_columns() {
            if !algorithms.is_empty() && !logged.contains(&col) {
                let key = raw.metrics[i].definition.keys().next().map(String::as_str).unwrap_or("");
                return Err(c.err(
                    format!("metrics[{i}].{key}"),
                    format!("no row of the spec logs `{col}` (its rows log: {})", logged.join(", ")),
                ));
            }
        }
    }
    Ok(())
}

fn update_curves(c: &Checker, raw: &RawSpec, algorithms: &[AlgorithmSpec]) -> Result<Option<UpdateCurveSpec>, SpecError> {
    let logged = logged_columns(algorithms);
    Ok(match &raw.update_curves {
        Some(u) => {
            if u.columns.is_empty() {
                return Err(c.err("update_curves.columns", "no columns; name at least one column of updates.parquet"));
            }
            let x = u.x.unwrap_or(UpdateAxis::Update);
            for (i, col) in u.columns.iter().enumerate() {
                let f = format!("update_curves.columns[{i}]");
                if col.trim().is_empty() {
                    return Err(c.err(f, "the column name is empty"));
                }
                if u.columns[..i].contains(col) {
                    return Err(c.err(f, format!("`{col}` appears twice")));
                }
            }
            for (i, col) in u.columns.iter().enumerate() {
                if !algorithms.is_empty() && !logged.contains(&col.as_str()) {
                    let f = format!("update_curves.columns[{i}]");
                    return Err(c.err(f, format!("no row of the spec logs `{col}` (its rows log: {})", logged.join(", "))));
                }
            }
            let mut lines = Vec::new();
            for (i, l) in u.lines.iter().enumerate() {
                let f = format!("update_curves.lines[{i}]");
                if !l.value.is_finite() || (u.log_y && l.value <= 0.0) {
                    return Err(c.err(format!("{f}.value"), format!("{} cannot be drawn on this axis (finite, and positive when `log_y`)", l.value)));
                }
                if l.label.trim().is_empty() {
                    return Err(c.err(format!("{f}.label"), "the label is empty"));
                }
                lines.push((l.value, l.label.clone()));
            }
            let y_label = u.y_label.clone().unwrap_or_else(|| u.columns.join(", "));
            Some(UpdateCurveSpec { columns: u.columns.clone(), x, log_y: u.log_y, y_label, from_update: u.from_update, lines })
        }
        None => None,
    })
}

/// Other methods' numbers: a metric of the spec, environments of the spec, one finite
/// number per column.
fn references(c: &Checker, raw: &RawSpec, metrics: &[MetricSpec]) -> Result<Option<References>, SpecError> {
    let Some(r) = &raw.references else { return Ok(None) };
    let metric = metrics
        .iter()
        .position(|m| m.name == r.metric)
        .ok_or_else(|| c.err("references.metric", format!("`{}` is not one of the spec's metrics", r.metric)))?;
    if r.columns.is_empty() {
        return Err(c.err("references.columns", "name at least one method"));
    }
    for (env, values) in &r.rows {
        if !raw.envs.contains(env) {
            return Err(c.err(format!("references.rows.{env}"), format!("`{env}` is not one of the spec's envs")));
        }
        if values.len() != r.columns.len() {
            return Err(c.err(
                format!("references.rows.{env}"),
                format!("{} numbers for {} columns", values.len(), r.columns.len()),
            ));
        }
        if let Some(x) = values.iter().find(|x| !x.is_finite()) {
            return Err(c.err(format!("references.rows.{env}"), format!("{x} is not a finite number")));
        }
    }
    let rows = raw.envs.iter().filter_map(|e| r.rows.get(e).map(|v| (e.clone(), v.clone()))).collect();
    Ok(Some(References { caption: r.caption.clone(), metric, columns: r.columns.clone(), rows }))
}

/// The paper's numbers: rows of the spec's envs and algorithms (or grid rows), values of
/// its metrics.
fn paper(
    c: &Checker,
    raw: &RawSpec,
    algorithms: &[AlgorithmSpec],
    metrics: &[MetricSpec],
) -> Result<BTreeMap<(String, String), BTreeMap<String, PaperValue>>, SpecError> {
    let mut paper = BTreeMap::new();
    for (i, row) in raw.paper.iter().enumerate() {
        let at = format!("paper[{i}]");
        if !raw.envs.contains(&row.env) {
            return Err(c.err(format!("{at}.env"), format!("`{}` is not one of the spec's envs", row.env)));
        }
        // An algorithm's name, or one grid row's label (`ACKTR [steps_per_update=1000]`).
        let is_row = |a: &AlgorithmSpec| {
            a.name == row.algorithm
                || a.grid.iter().any(|p| !p.point.0.is_empty() && format!("{} [{}]", a.name, p.point.label()) == row.algorithm)
        };
        if !algorithms.iter().any(is_row) {
            return Err(c.err(
                format!("{at}.algorithm"),
                format!("`{}` is not one of the spec's algorithms or grid rows", row.algorithm),
            ));
        }
        let mut values = BTreeMap::new();
        for (metric, v) in &row.values {
            if !metrics.iter().any(|m| &m.name == metric) {
                return Err(c.err(format!("{at}.values.{metric}"), format!("`{metric}` is not one of the spec's metrics")));
            }
            values.insert(
                metric.clone(),
                match v {
                    RawPaperValue::Number(x) if x.is_finite() => PaperValue::Number(*x),
                    RawPaperValue::Number(x) => {
                        return Err(c.err(format!("{at}.values.{metric}"), format!("{x} is not a finite number")));
                    }
                    RawPaperValue::Text(t) => PaperValue::Text(t.clone()),
                },
            );
        }
        if paper.insert((row.env.clone(), row.algorithm.clone()), values).is_some() {
            return Err(c.err(&at, format!("a second row for ({}, {})", row.env, row.algorithm)));
        }
    }
    Ok(paper)
}
