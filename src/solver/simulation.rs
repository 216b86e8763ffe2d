//! One simulation run of a [`CellModel`]: point processes, events, recording and the fixed step.

use super::{CellModel, SolverError};
use crate::mechanisms::catalogue::{BuildEnv, Constructor};
use crate::mechanisms::{Catalogue, Env, IonState, Matrix, MechanismKind, Numerics, PointProcess};

/// A point process added to a [`SimulationBuilder`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PointHandle {
    group: usize,
    instance: usize,
}

/// What a recorded column holds.
#[derive(Debug, Clone, PartialEq)]
pub enum Probe {
    /// Membrane potential of a node, mV.
    Voltage(usize),
    /// A variable of a density mechanism at a node (e.g. `NaTa_t`, `m`).
    Density {
        /// Mechanism name.
        mechanism: String,
        /// Variable name (see [`crate::mechanisms::DensityMechanism::variables`]).
        variable: String,
        /// Node.
        node: usize,
    },
    /// A variable of a point process (e.g. `i` of an `IClamp`).
    Point {
        /// The process.
        handle: PointHandle,
        /// Variable name.
        variable: String,
    },
    /// An ion variable at a node: `ina`, `ik`, `ica`, `ena`, `ek`, `eca`, `cai`, `cao`.
    Ion {
        /// Variable name.
        variable: String,
        /// Node.
        node: usize,
    },
}

/// Where a resolved probe reads from.
#[derive(Debug, Clone, Copy)]
enum Source {
    V(usize),
    Density(usize, usize),
    Point(usize, usize),
    Ion(IonVar, usize),
}

#[derive(Debug, Clone, Copy)]
enum IonVar {
    Ina,
    Ik,
    Ica,
    Ena,
    Ek,
    Eca,
    Cai,
    Cao,
}

/// A mechanism block in NEURON's mechanism order (density and point processes interleaved:
/// summation order of the currents is part of reproducing NEURON's round-off).
#[derive(Debug, Clone, Copy)]
enum Block {
    Density(usize),
    Point(usize),
}

#[derive(Debug, Clone, Copy)]
struct Event {
    time: f64,
    block: usize,
    instance: usize,
    weights_at: usize,
    n_weights: usize,
}

/// Point processes of one mechanism added so far: name, nodes, per-instance parameter overrides.
type PointGroup = (&'static str, Vec<usize>, Vec<Vec<(String, f64)>>);

/// Collects the per-trial inputs of a simulation: point processes, their events and what to
/// record.
#[derive(Debug)]
pub struct SimulationBuilder<'m> {
    model: &'m CellModel,
    groups: Vec<PointGroup>,
    events: Vec<(f64, PointHandle, Vec<f64>)>,
    probes: Vec<Probe>,
    record_every: usize,
}

/// A ready-to-run simulation: the model, its point-process blocks, the sorted event list and
/// the trial state.
#[derive(Debug)]
pub struct Simulation<'m> {
    model: &'m CellModel,
    points: Vec<Box<dyn PointProcess>>,
    order: Vec<Block>,
    events: Vec<Event>,
    weights: Vec<f64>,
    sources: Vec<Source>,
    record_every: usize,
    state: State,
}

/// The mutable per-trial state.
#[derive(Debug, Clone)]
pub struct State {
    /// Time, ms (accumulated in half steps, as NEURON does).
    pub t: f64,
    /// Membrane potential per node, mV.
    pub v: Vec<f64>,
    rhs: Vec<f64>,
    d: Vec<f64>,
    /// `v[parent] − v` of every node ([`Numerics::Fast`]'s axial terms).
    dv: Vec<f64>,
    /// Ion variables.
    pub ions: IonState,
    density_vars: Vec<Vec<f64>>,
    point_vars: Vec<Vec<f64>>,
    cursor: usize,
    steps: usize,
}

/// Recorded traces: `t` and one column per probe, one row per recorded step (row 0 = t = 0).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Traces {
    /// Time of every row, ms.
    pub t: Vec<f64>,
    /// One column per probe, in the order the probes were added.
    pub columns: Vec<Vec<f64>>,
}

impl<'m> SimulationBuilder<'m> {
    /// An empty trial of `model`.
    pub fn new(model: &'m CellModel) -> Self {
        SimulationBuilder {
            model,
            groups: Vec::new(),
            events: Vec::new(),
            probes: Vec::new(),
            record_every: 1,
        }
    }

    /// Adds a point process `name` at `node` with the given parameter values (others take the
    /// NMODL defaults).
    pub fn add_point(
        &mut self,
        name: &str,
        node: usize,
        params: &[(&str, f64)],
    ) -> Result<PointHandle, SolverError> {
        let entry = Catalogue.get(name)?;
        if entry.kind() != MechanismKind::Point {
            return Err(crate::mechanisms::CatalogueError::WrongKind {
                name: name.into(),
                actual: MechanismKind::Density,
                wanted: MechanismKind::Point,
            }
            .into());
        }
        if node >= self.model.n_nodes() {
            return Err(SolverError::NodeOutOfRange {
                node,
                nodes: self.model.n_nodes(),
            });
        }
        for (p, v) in params {
            entry.param_index(p)?;
            if !v.is_finite() {
                return Err(crate::mechanisms::CatalogueError::NotFinite {
                    mechanism: name.into(),
                    parameter: (*p).into(),
                    value: *v,
                }
                .into());
            }
        }
        let group = match self.groups.iter().position(|g| g.0 == entry.name) {
            Some(g) => g,
            None => {
                self.groups.push((entry.name, Vec::new(), Vec::new()));
                self.groups.len() - 1
            }
        };
        let g = &mut self.groups[group];
        g.1.push(node);
        g.2.push(params.iter().map(|(k, v)| (k.to_string(), *v)).collect());
        Ok(PointHandle {
            group,
            instance: g.1.len() - 1,
        })
    }

    /// Schedules events (NetCon deliveries with delay 0) to `target` at `times_ms`, each with the
    /// NetCon weight vector `weights`.
    pub fn add_events(
        &mut self,
        target: PointHandle,
        times_ms: &[f64],
        weights: &[f64],
    ) -> Result<(), SolverError> {
        if let Some(&t) = times_ms.iter().find(|t| !t.is_finite()) {
            return Err(SolverError::BadSetting(format!(
                "event time {t} is not finite"
            )));
        }
        for &t in times_ms {
            self.events.push((t, target, weights.to_vec()));
        }
        Ok(())
    }

    /// Records `probe` (returns its column index).
    pub fn record(&mut self, probe: Probe) -> usize {
        self.probes.push(probe);
        self.probes.len() - 1
    }

    /// Records every `k`-th step (plus t = 0); default 1.
    pub fn record_every(&mut self, k: usize) -> &mut Self {
        self.record_every = k.max(1);
        self
    }

    /// Builds the point-process blocks, sorts the events and initialises the state
    /// (NEURON's `finitialize`).
    pub fn build(mut self) -> Result<Simulation<'m>, SolverError> {
        let model = self.model;
        let renumbered = match model.settings.numerics {
            Numerics::Fast => self.order_by_first_event(),
            // NEURON's order: the currents of a node's synapses are summed in it.
            Numerics::Exact => self
                .groups
                .iter()
                .map(|g| (0..g.1.len()).collect())
                .collect(),
        };
        let env = BuildEnv {
            dt: model.settings.dt_ms,
            celsius: model.settings.celsius,
            numerics: model.settings.numerics,
        };
        // Blocks in NEURON's mechanism order.
        let mut order: Vec<usize> = (0..self.groups.len()).collect();
        let rank = |g: usize| {
            Catalogue
                .get(self.groups[g].0)
                .map(|e| e.rank)
                .unwrap_or(u32::MAX)
        };
        order.sort_by_key(|&g| rank(g));
        let mut block_of_group = vec![0; self.groups.len()];
        let mut points = Vec::with_capacity(order.len());
        let mut ranked: Vec<(u32, Block)> = model
            .density_rank
            .iter()
            .enumerate()
            .map(|(i, &r)| (r, Block::Density(i)))
            .collect();
        for (bi, &g) in order.iter().enumerate() {
            block_of_group[g] = bi;
            let (name, nodes, params) = &self.groups[g];
            let entry = Catalogue.get(name)?;
            let Constructor::Point(ctor) = entry.ctor else {
                unreachable!("checked in add_point")
            };
            let n = nodes.len();
            let mut values: Vec<Vec<f64>> = entry.params.iter().map(|&(_, d)| vec![d; n]).collect();
            for (j, ps) in params.iter().enumerate() {
                for (k, v) in ps {
                    values[entry.param_index(k)?][j] = *v;
                }
            }
            let inst = crate::mechanisms::Instances {
                nodes: nodes.clone(),
                values,
                area_um2: nodes.iter().map(|&i| model.area_eff[i]).collect(),
            };
            points.push(ctor(inst, &env));
            ranked.push((entry.rank, Block::Point(bi)));
        }
        ranked.sort_by_key(|(r, _)| *r);
        let order: Vec<Block> = ranked.into_iter().map(|(_, b)| b).collect();
        let renumber = |h: &PointHandle| PointHandle {
            group: h.group,
            instance: renumbered[h.group][h.instance],
        };
        let mut weights = Vec::new();
        let mut events = Vec::with_capacity(self.events.len());
        for (time, h, w) in &self.events {
            let h = &renumber(h);
            let block = block_of_group[h.group];
            let need = points[block].n_weights();
            if need == 0 || w.len() != need {
                return Err(SolverError::BadSetting(format!(
                    "`{}` takes {need} NetCon weights, got {}",
                    points[block].name(),
                    w.len()
                )));
            }
            events.push(Event {
                time: *time,
                block,
                instance: h.instance,
                weights_at: weights.len(),
                n_weights: w.len(),
            });
            weights.extend_from_slice(w);
        }
        // Stable: simultaneous events keep the order they were added in.
        events.sort_by(|a, b| a.time.total_cmp(&b.time));

        let mut sources = Vec::with_capacity(self.probes.len());
        for p in &self.probes {
            let p = match p {
                Probe::Point { handle, variable } => &Probe::Point {
                    handle: renumber(handle),
                    variable: variable.clone(),
                },
                p => p,
            };
            sources.push(resolve(model, &points, &block_of_group, p)?);
        }
        let n = model.n_nodes();
        let state = State {
            t: 0.0,
            v: vec![model.settings.vinit_mv; n],
            rhs: vec![0.0; n],
            d: vec![0.0; n],
            dv: vec![0.0; n],
            ions: IonState::initial(&model.ions, &model.ca_written, model.settings.celsius),
            density_vars: model
                .density
                .iter()
                .map(|m| vec![0.0; m.variables().len() * m.nodes().len()])
                .collect(),
            point_vars: points
                .iter()
                .map(|m| vec![0.0; m.variables().len() * m.nodes().len() + m.scratch_len()])
                .collect(),
            cursor: 0,
            steps: 0,
        };
        let mut sim = Simulation {
            model,
            points,
            order,
            events,
            weights,
            sources,
            record_every: self.record_every,
            state,
        };
        sim.initialize();
        Ok(sim)
    }
}

impl SimulationBuilder<'_> {
    /// [`Numerics::Fast`]: numbers each point process's instances in the order of their first
    /// event (stably; those without events last), so that the instances that have received an
    /// event are always a prefix, over which the synapses' loops run contiguously. Returns each
    /// group's new instance numbers by old ones; handles stay valid for the caller.
    fn order_by_first_event(&mut self) -> Vec<Vec<usize>> {
        let mut first: Vec<Vec<f64>> = self
            .groups
            .iter()
            .map(|g| vec![f64::INFINITY; g.1.len()])
            .collect();
        for (t, h, _) in &self.events {
            let f = &mut first[h.group][h.instance];
            *f = f.min(*t);
        }
        self.groups
            .iter_mut()
            .zip(&first)
            .map(|((_, nodes, params), first)| {
                let mut order: Vec<usize> = (0..nodes.len()).collect();
                order.sort_by(|&a, &b| first[a].total_cmp(&first[b]));
                *nodes = order.iter().map(|&o| nodes[o]).collect();
                let mut old = std::mem::take(params);
                *params = order.iter().map(|&o| std::mem::take(&mut old[o])).collect();
                let mut new_of_old = vec![0; order.len()];
                for (new, &o) in order.iter().enumerate() {
                    new_of_old[o] = new;
                }
                new_of_old
            })
            .collect()
    }
}

fn resolve(
    model: &CellModel,
    points: &[Box<dyn PointProcess>],
    block_of_group: &[usize],
    p: &Probe,
) -> Result<Source, SolverError> {
    let n = model.n_nodes();
    let check = |node: usize| {
        if node < n {
            Ok(())
        } else {
            Err(SolverError::NodeOutOfRange { node, nodes: n })
        }
    };
    let unknown = |what: String| Err(SolverError::UnknownProbe(what));
    match p {
        Probe::Voltage(node) => {
            check(*node)?;
            Ok(Source::V(*node))
        }
        Probe::Density {
            mechanism,
            variable,
            node,
        } => {
            let Some(b) = model.density.iter().position(|m| m.name() == mechanism) else {
                return unknown(format!("no density mechanism `{mechanism}` in the model"));
            };
            let m = &model.density[b];
            let Some(k) = m.variables().iter().position(|x| x == variable) else {
                return unknown(format!(
                    "`{mechanism}` has no variable `{variable}` (known: {})",
                    m.variables().join(", ")
                ));
            };
            let Some(j) = m.nodes().iter().position(|x| x == node) else {
                return unknown(format!("`{mechanism}` is not inserted at node {node}"));
            };
            Ok(Source::Density(b, k * m.nodes().len() + j))
        }
        Probe::Point { handle, variable } => {
            let b = block_of_group[handle.group];
            let m = &points[b];
            let Some(k) = m.variables().iter().position(|x| x == variable) else {
                return unknown(format!(
                    "`{}` has no variable `{variable}` (known: {})",
                    m.name(),
                    m.variables().join(", ")
                ));
            };
            Ok(Source::Point(b, k * m.nodes().len() + handle.instance))
        }
        Probe::Ion { variable, node } => {
            check(*node)?;
            let v = match variable.as_str() {
                "ina" => IonVar::Ina,
                "ik" => IonVar::Ik,
                "ica" => IonVar::Ica,
                "ena" => IonVar::Ena,
                "ek" => IonVar::Ek,
                "eca" => IonVar::Eca,
                "cai" => IonVar::Cai,
                "cao" => IonVar::Cao,
                _ => return unknown(format!("unknown ion variable `{variable}`")),
            };
            Ok(Source::Ion(v, *node))
        }
    }
}

impl Simulation<'_> {
    /// The model simulated.
    pub fn model(&self) -> &CellModel {
        self.model
    }

    /// The current state.
    pub fn state(&self) -> &State {
        &self.state
    }

    /// NEURON's `finitialize`: v = vinit, ions, INITIAL blocks, events at t ≤ 0, one assembly of
    /// the currents (so recorded currents of row 0 are defined).
    fn initialize(&mut self) {
        let model = self.model;
        let env = Env {
            dt: model.settings.dt_ms,
            t: 0.0,
            celsius: model.settings.celsius,
        };
        let st = &mut self.state;
        for &blk in &self.order {
            match blk {
                Block::Density(i) => {
                    model.density[i].initialize(&env, &st.v, &mut st.ions, &mut st.density_vars[i])
                }
                Block::Point(i) => self.points[i].initialize(&env, &st.v, &mut st.point_vars[i]),
            }
        }
        self.deliver_until(0.0);
        self.assemble(0.0);
    }

    fn deliver_until(&mut self, tm: f64) {
        let st = &mut self.state;
        while let Some(e) = self.events.get(st.cursor) {
            if e.time > tm {
                break;
            }
            let w = &self.weights[e.weights_at..e.weights_at + e.n_weights];
            self.points[e.block].receive(e.instance, w, &mut st.point_vars[e.block]);
            st.cursor += 1;
        }
    }

    /// Currents and Jacobian (NEURON's `setup_tree_matrix`) at time `t`.
    fn assemble(&mut self, t: f64) {
        let model = self.model;
        let env = Env {
            dt: model.settings.dt_ms,
            t,
            celsius: model.settings.celsius,
        };
        let st = &mut self.state;
        let fast = model.settings.numerics == Numerics::Fast;
        if fast {
            // The axial terms first, assigned rather than added to zeros, and the diagonal's
            // constant part copied in; the mechanisms' currents are added after them (NEURON
            // adds them before: the same sums in another order).
            let n = st.v.len();
            let (rhs, v, dv) = (&mut st.rhs[..n], &st.v[..n], &mut st.dv[..n]);
            let (up, a, b) = (&model.up[..n], &model.a[..n], &model.b[..n]);
            let (d, d_const) = (&mut st.d[..n], &model.d_const[..n]);
            let [ina, ik, ica] = st.ions.currents_mut().map(|x| &mut x[..n]);
            // `p.min(i)` is `p` (a parent precedes its node, checked when the model is built);
            // written so, the index's range is visible and the loops need no bounds checks.
            // The diagonal is copied and the ion currents zeroed in the same loop: copies and
            // fills of their own become calls to `memcpy` and `memset`, whose `rep movsb` and
            // `rep stosb` took up to 5 % and 1 % of the replay's time on AMD Zen 3 (depending
            // on the arrays' alignment).
            for i in 0..n {
                let x = v[up[i].min(i)] - v[i];
                dv[i] = x;
                rhs[i] = -(b[i] * x);
                d[i] = d_const[i];
                ina[i] = 0.0;
                ik[i] = 0.0;
                ica[i] = 0.0;
            }
            for i in 0..n {
                rhs[up[i].min(i)] += a[i] * dv[i];
            }
        } else {
            st.rhs.fill(0.0);
            st.d.fill(0.0);
            for x in st.ions.currents_mut() {
                x.fill(0.0);
            }
        }
        st.ions
            .update_eca(&model.ca_written, env.celsius, model.settings.numerics);
        let mut mx = Matrix {
            rhs: &mut st.rhs,
            d: &mut st.d,
            numerics: model.settings.numerics,
        };
        for &blk in &self.order {
            match blk {
                Block::Density(i) => model.density[i].current(
                    &env,
                    &st.v,
                    &mut st.ions,
                    &mut mx,
                    &mut st.density_vars[i],
                ),
                Block::Point(i) => {
                    self.points[i].current(&env, &st.v, &mut mx, &mut st.point_vars[i])
                }
            }
        }
        if fast {
            return;
        }
        let n = st.v.len();
        let (rhs, d, v) = (&mut st.rhs[..n], &mut st.d[..n], &st.v[..]);
        let (parent, a, b) = (&model.parent[..n], &model.a[..n], &model.b[..n]);
        // A parent precedes its node (checked when the model is built), so `p.min(i)` is `p`;
        // written so, the index's range is visible and the loops need no bounds checks.
        for i in 1..n {
            let p = parent[i];
            if p == usize::MAX {
                continue;
            }
            let p = p.min(i);
            let dv = v[p] - v[i];
            rhs[i] -= b[i] * dv;
            rhs[p] += a[i] * dv;
        }
        for &i in &model.cap_nodes {
            d[i] += model.cap[i];
        }
        for i in 1..n {
            let p = parent[i];
            if p == usize::MAX {
                continue;
            }
            let p = p.min(i);
            d[i] -= b[i];
            d[p] -= a[i];
        }
    }

    /// Hines elimination and back substitution; leaves the voltage change in `rhs`. Nodes are
    /// visited in the model's elimination order (bit-identical to NEURON's descending order).
    ///
    /// With [`Numerics::Fast`] each eliminated node's diagonal is replaced by its reciprocal,
    /// which the back substitution then multiplies by: one division per node instead of two
    /// (the divider's throughput bounds both passes; the results differ by round-off).
    fn solve(&mut self) {
        let model = self.model;
        let fast = model.settings.numerics == Numerics::Fast;
        let st = &mut self.state;
        let n = st.v.len();
        let (rhs, d) = (&mut st.rhs[..n], &mut st.d[..n]);
        let (parent, a, b) = (&model.parent[..n], &model.a[..n], &model.b[..n]);
        // Nodes of the elimination order are below n and have a parent, which precedes them
        // (checked when the model is built): the clamps are no-ops that make the indices'
        // ranges visible, so the loops need no bounds checks.
        let last = n - 1;
        if fast {
            for &i in &model.elim_order {
                let i = i.min(last);
                let p = parent[i].min(i);
                let inv = 1.0 / d[i];
                d[i] = inv;
                let f = a[i] * inv;
                d[p] -= f * b[i];
                rhs[p] -= f * rhs[i];
            }
        } else {
            for &i in &model.elim_order {
                let i = i.min(last);
                let p = parent[i].min(i);
                let f = a[i] / d[i];
                d[p] -= f * b[i];
                rhs[p] -= f * rhs[i];
            }
        }
        for i in 0..n {
            if parent[i] == usize::MAX {
                rhs[i] /= d[i];
            }
        }
        if fast {
            for &i in model.elim_order.iter().rev() {
                let i = i.min(last);
                let p = parent[i].min(i);
                rhs[i] = (rhs[i] - b[i] * rhs[p]) * d[i];
            }
        } else {
            for &i in model.elim_order.iter().rev() {
                let i = i.min(last);
                let p = parent[i].min(i);
                rhs[i] -= b[i] * rhs[p];
                rhs[i] /= d[i];
            }
        }
    }

    /// One fixed step t → t + dt (NEURON's `nrn_fixed_step`, secondorder = 0).
    pub fn step(&mut self) {
        let model = self.model;
        let dt = model.settings.dt_ms;
        self.deliver_until(self.state.t + 0.5 * dt);
        self.state.t += 0.5 * dt;
        self.assemble(self.state.t);
        self.solve();
        let st = &mut self.state;
        for (v, x) in st.v.iter_mut().zip(st.rhs.iter()) {
            *v += *x;
        }
        st.t += 0.5 * dt;
        let env = Env {
            dt,
            t: st.t,
            celsius: model.settings.celsius,
        };
        for &blk in &self.order {
            match blk {
                Block::Density(i) => {
                    model.density[i].advance(&env, &st.v, &mut st.ions, &mut st.density_vars[i])
                }
                Block::Point(i) => self.points[i].advance(&env, &st.v, &mut st.point_vars[i]),
            }
        }
        st.steps += 1;
    }

    fn sample(&self, out: &mut Traces) {
        let st = &self.state;
        out.t.push(st.t);
        for (col, src) in out.columns.iter_mut().zip(&self.sources) {
            col.push(match *src {
                Source::V(i) => st.v[i],
                Source::Density(b, k) => st.density_vars[b][k],
                Source::Point(b, k) => st.point_vars[b][k],
                Source::Ion(var, i) => {
                    let s = &st.ions;
                    match var {
                        IonVar::Ina => s.ina[i],
                        IonVar::Ik => s.ik[i],
                        IonVar::Ica => s.ica[i],
                        IonVar::Ena => s.ena[i],
                        IonVar::Ek => s.ek[i],
                        IonVar::Eca => s.eca[i],
                        IonVar::Cai => s.cai[i],
                        IonVar::Cao => s.cao[i],
                    }
                }
            });
        }
    }

    fn run_with(&mut self, mut go_on: impl FnMut(&State) -> bool) -> Traces {
        let mut out = Traces {
            t: Vec::new(),
            columns: vec![Vec::new(); self.sources.len()],
        };
        self.sample(&mut out);
        while go_on(&self.state) {
            self.step();
            if self.state.steps % self.record_every == 0 {
                self.sample(&mut out);
            }
        }
        out
    }

    /// Runs exactly `n` steps from the current state; returns the recorded rows (the current
    /// state first).
    pub fn run_steps(&mut self, n: usize) -> Traces {
        let end = self.state.steps + n;
        self.run_with(|s| s.steps < end)
    }

    /// Runs ISF's loop `while t < tstop: step` (on the accumulated t); returns the recorded rows.
    pub fn run_until(&mut self, tstop_ms: f64) -> Traces {
        self.run_with(|s| s.t < tstop_ms)
    }
}
