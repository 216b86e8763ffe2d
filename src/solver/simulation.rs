//! One simulation run of a [`CellModel`]: point processes, events, recording and the fixed step.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

use super::{CellModel, SolverError};
use crate::mechanisms::catalogue::{BuildEnv, Constructor};
use crate::mechanisms::{
    Catalogue, Delivery, Env, EventSink, IonState, Matrix, MechanismKind, Numerics, PointCtx,
    PointProcess,
};

/// A point process added to a [`SimulationBuilder`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PointHandle {
    pub(super) group: usize,
    pub(super) instance: usize,
}

/// A NetCon added to a [`SimulationBuilder`]: events to a point process with a weight vector
/// (NET_RECEIVE's arguments, the first the weight, the others per-NetCon state).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NetConHandle(pub(super) usize);

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
    /// Element `index` of a NetCon's weight vector (NEURON's `nc._ref_weight[index]`: the
    /// weight, then NET_RECEIVE's per-NetCon state).
    Weight {
        /// The NetCon.
        netcon: NetConHandle,
        /// Element.
        index: usize,
    },
}

/// Where a resolved probe reads from.
#[derive(Debug, Clone, Copy)]
enum Source {
    V(usize),
    Density(usize, usize),
    Point(usize, usize),
    Ion(IonVar, usize),
    Weight(usize),
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

/// An input event: delivered through NetCon `netcon` at `time`.
#[derive(Debug, Clone, Copy)]
struct Event {
    time: f64,
    netcon: u32,
}

/// A NetCon of a built simulation: its target and where its weight vector lives in
/// [`State`]'s weights.
#[derive(Debug, Clone, Copy)]
struct NetCon {
    block: usize,
    instance: usize,
    weights_at: usize,
    n_weights: usize,
    delay: f64,
}

/// No NetCon (a self-event sent by INITIAL).
const NO_NETCON: u32 = u32::MAX;

/// An event made during the run: a self-event (`net_send`) or a spike's delivery through a
/// NetCon (`net_event`).
#[derive(Debug, Clone, Copy)]
struct Pending {
    time: f64,
    /// Order of insertion: events of equal time are delivered first in, first out.
    seq: u64,
    block: usize,
    instance: usize,
    flag: f64,
    netcon: u32,
}

impl PartialEq for Pending {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Pending {}
impl PartialOrd for Pending {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Pending {
    /// Reversed, so that [`BinaryHeap`] (a max-heap) yields the earliest event first.
    fn cmp(&self, other: &Self) -> Ordering {
        other
            .time
            .total_cmp(&self.time)
            .then(other.seq.cmp(&self.seq))
    }
}

/// The events made during a trial (part of its state).
#[derive(Debug, Clone, Default)]
struct Queue {
    heap: BinaryHeap<Pending>,
    seq: u64,
    /// The last self-event each (block, instance) sent, while pending (for `net_move`).
    last_send: std::collections::HashMap<(usize, usize), Pending>,
    /// Sequence numbers of moved (cancelled) self-events still in the heap.
    cancelled: std::collections::HashSet<u64>,
}

impl Queue {
    fn push(&mut self, mut p: Pending) -> Pending {
        p.seq = self.seq;
        self.seq += 1;
        self.heap.push(p);
        p
    }
}

/// A NetCon added to the builder.
#[derive(Debug, Clone)]
pub(super) struct NetConSpec {
    pub(super) source: Option<PointHandle>,
    pub(super) target: PointHandle,
    pub(super) delay: f64,
    pub(super) weights: Vec<f64>,
}

/// Point processes of one mechanism added so far: name, nodes, per-instance parameter overrides.
pub(super) type PointGroup = (&'static str, Vec<usize>, Vec<Vec<(String, f64)>>);

/// Collects the per-trial inputs of a simulation: point processes, their events and what to
/// record.
#[derive(Debug)]
pub struct SimulationBuilder<'m> {
    pub(super) model: &'m CellModel,
    pub(super) groups: Vec<PointGroup>,
    pub(super) netcons: Vec<NetConSpec>,
    /// Input events: time and NetCon.
    pub(super) events: Vec<(f64, usize)>,
    pub(super) probes: Vec<Probe>,
    pub(super) record_every: usize,
    /// Event vectors given to point-process instances (VecStim's `play`).
    pub(super) vectors: Vec<(PointHandle, Vec<f64>)>,
    /// Seed of the cell's legacy generator (`set_seed`), if set.
    pub(super) seed: Option<f64>,
}

/// A ready-to-run simulation: the model, its point-process blocks, the sorted event list and
/// the trial state.
#[derive(Debug)]
pub struct Simulation<'m> {
    model: &'m CellModel,
    points: Vec<Box<dyn PointProcess>>,
    order: Vec<Block>,
    events: Vec<Event>,
    netcons: Vec<NetCon>,
    /// NetCons leaving each instance of each block (`net_event`), empty when there are none.
    outgoing: Vec<Vec<Vec<u32>>>,
    sink: EventSink,
    sources: Vec<Source>,
    /// Whether a probe reads each density block's and each point block's variables
    /// ([`Env::outputs`] of its current evaluation).
    read: [Vec<bool>; 2],
    record_every: usize,
    /// Event vector of every instance of every block (empty when none was given).
    vectors: Vec<Vec<Vec<f64>>>,
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
    /// The NetCons' weight vectors (NET_RECEIVE may change the per-NetCon state).
    weights: Vec<f64>,
    queue: Queue,
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
            netcons: Vec::new(),
            events: Vec::new(),
            probes: Vec::new(),
            record_every: 1,
            vectors: Vec::new(),
            seed: None,
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

    /// Adds a NetCon to `target` with the weight vector `weights` that delivers events at
    /// `times_ms` (delivery times: an input whose delay is already added).
    pub fn add_events(
        &mut self,
        target: PointHandle,
        times_ms: &[f64],
        weights: &[f64],
    ) -> Result<NetConHandle, SolverError> {
        if let Some(&t) = times_ms.iter().find(|t| !t.is_finite()) {
            return Err(SolverError::BadSetting(format!(
                "event time {t} is not finite"
            )));
        }
        let nc = self.netcons.len();
        self.netcons.push(NetConSpec {
            source: None,
            target,
            delay: 0.0,
            weights: weights.to_vec(),
        });
        self.events.extend(times_ms.iter().map(|&t| (t, nc)));
        Ok(NetConHandle(nc))
    }

    /// Adds a NetCon from the point process `source` (its `net_event` spikes) to `target`,
    /// delivering each spike `delay_ms` later with the weight vector `weights`.
    pub fn add_netcon(
        &mut self,
        source: PointHandle,
        target: PointHandle,
        delay_ms: f64,
        weights: &[f64],
    ) -> Result<NetConHandle, SolverError> {
        if !delay_ms.is_finite() || delay_ms < 0.0 {
            return Err(SolverError::BadSetting(format!(
                "NetCon delay {delay_ms} ms is not a finite, non-negative number"
            )));
        }
        let nc = self.netcons.len();
        self.netcons.push(NetConSpec {
            source: Some(source),
            target,
            delay: delay_ms,
            weights: weights.to_vec(),
        });
        Ok(NetConHandle(nc))
    }

    /// Gives instance `target` the event vector `times_ms`, which its NMODL code reads through
    /// the event-vector idiom (VecStim's `play`: event times in ms, played in order). Setting
    /// it again replaces it.
    pub fn set_event_vector(
        &mut self,
        target: PointHandle,
        times_ms: &[f64],
    ) -> Result<(), SolverError> {
        if let Some(&t) = times_ms.iter().find(|t| !t.is_finite()) {
            return Err(SolverError::BadSetting(format!(
                "event-vector time {t} is not finite"
            )));
        }
        if self
            .groups
            .get(target.group)
            .is_none_or(|g| target.instance >= g.1.len())
        {
            return Err(SolverError::BadSetting(
                "event vector for a point process this builder did not add".into(),
            ));
        }
        let name = self.groups[target.group].0;
        if !crate::mechanisms::compiled::takes_event_vector(name) {
            return Err(SolverError::BadSetting(format!(
                "`{name}` takes no event vector (only a mechanism that reads one, as VecStim \
                 does with `element()`, is played a vector)"
            )));
        }
        self.vectors.retain(|(h, _)| *h != target);
        self.vectors.push((target, times_ms.to_vec()));
        Ok(())
    }

    /// Seeds the cell's legacy random generator (NMODL's `scop_random`, `exprand`, `normrand`;
    /// NEURON's `set_seed(seed)`, e.g. from hoc's `SpikeGenerator.seed(12345)`) before the
    /// trial is initialised. Unseeded, it starts from NEURON's initial state.
    pub fn set_seed(&mut self, seed: f64) -> Result<(), SolverError> {
        if !seed.is_finite() {
            return Err(SolverError::BadSetting(format!(
                "random seed {seed} is not finite"
            )));
        }
        self.seed = Some(seed);
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
        let mut netcons = Vec::with_capacity(self.netcons.len());
        let mut outgoing: Vec<Vec<Vec<u32>>> = Vec::new();
        for (k, nc) in self.netcons.iter().enumerate() {
            let h = renumber(&nc.target);
            let block = block_of_group[h.group];
            let w = &nc.weights;
            let need = points[block].n_weights();
            if need == 0 || w.len() != need {
                return Err(SolverError::BadSetting(format!(
                    "`{}` takes {need} NetCon weights, got {}",
                    points[block].name(),
                    w.len()
                )));
            }
            netcons.push(NetCon {
                block,
                instance: h.instance,
                weights_at: weights.len(),
                n_weights: w.len(),
                delay: nc.delay,
            });
            weights.extend_from_slice(w);
            if let Some(src) = &nc.source {
                let src = renumber(src);
                if outgoing.is_empty() {
                    outgoing = points
                        .iter()
                        .map(|p| vec![Vec::new(); p.nodes().len()])
                        .collect();
                }
                outgoing[block_of_group[src.group]][src.instance].push(k as u32);
            }
        }
        let mut events: Vec<Event> = self
            .events
            .iter()
            .map(|&(time, nc)| Event {
                time,
                netcon: nc as u32,
            })
            .collect();
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
            sources.push(resolve(model, &points, &block_of_group, &netcons, p)?);
        }
        let mut read = [vec![false; model.density.len()], vec![false; points.len()]];
        for s in &sources {
            match *s {
                Source::Density(b, _) => read[0][b] = true,
                Source::Point(b, _) => read[1][b] = true,
                _ => {}
            }
        }
        let mut vectors: Vec<Vec<Vec<f64>>> = vec![Vec::new(); points.len()];
        for (h, times) in &self.vectors {
            let h = renumber(h);
            let v = &mut vectors[block_of_group[h.group]];
            if v.len() <= h.instance {
                v.resize(h.instance + 1, Vec::new());
            }
            v[h.instance] = times.clone();
        }
        let mut ions = IonState::initial(&model.ions, &model.ca_written, model.settings.celsius);
        if let Some(seed) = self.seed {
            ions.scop.set_seed(seed);
        }
        let n = model.n_nodes();
        let state = State {
            t: 0.0,
            v: vec![model.settings.vinit_mv; n],
            rhs: vec![0.0; n],
            d: vec![0.0; n],
            dv: vec![0.0; n],
            ions,
            density_vars: model
                .density
                .iter()
                .map(|m| vec![0.0; m.variables().len() * m.nodes().len()])
                .collect(),
            point_vars: points
                .iter()
                .map(|m| vec![0.0; m.variables().len() * m.nodes().len() + m.scratch_len()])
                .collect(),
            weights,
            queue: Queue::default(),
            cursor: 0,
            steps: 0,
        };
        let mut sim = Simulation {
            model,
            points,
            order,
            events,
            netcons,
            outgoing,
            sink: EventSink::default(),
            sources,
            read,
            record_every: self.record_every,
            vectors,
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
        for &(t, nc) in &self.events {
            let h = &self.netcons[nc].target;
            let f = &mut first[h.group][h.instance];
            *f = f.min(t);
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
    netcons: &[NetCon],
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
        Probe::Weight { netcon, index } => {
            let Some(nc) = netcons.get(netcon.0) else {
                return unknown(format!("no NetCon {}", netcon.0));
            };
            if *index >= nc.n_weights {
                return unknown(format!(
                    "NetCon {} has {} weights, not element {index}",
                    netcon.0, nc.n_weights
                ));
            }
            Ok(Source::Weight(nc.weights_at + index))
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
            outputs: true,
        };
        let mut sink = std::mem::take(&mut self.sink);
        for k in 0..self.order.len() {
            let blk = self.order[k];
            let st = &mut self.state;
            match blk {
                Block::Density(i) => {
                    model.density[i].initialize(&env, &st.v, &mut st.ions, &mut st.density_vars[i])
                }
                Block::Point(i) => {
                    sink.clear();
                    let mut cx = PointCtx {
                        scop: &mut st.ions.scop,
                        vectors: &self.vectors[i],
                    };
                    self.points[i].initialize(
                        &env,
                        &st.v,
                        &mut st.point_vars[i],
                        &mut sink,
                        &mut cx,
                    );
                    self.absorb(i, NO_NETCON, &sink);
                }
            }
        }
        self.sink = sink;
        // The NetCons' per-NetCon state: NET_RECEIVE's INITIAL, or zeroed without one.
        let st = &mut self.state;
        for nc in &self.netcons {
            let w = &mut st.weights[nc.weights_at..nc.weights_at + nc.n_weights];
            let mut cx = PointCtx {
                scop: &mut st.ions.scop,
                vectors: &self.vectors[nc.block],
            };
            self.points[nc.block].receive_init(
                nc.instance,
                w,
                &mut st.point_vars[nc.block],
                &mut cx,
            );
        }
        self.deliver_until(0.0);
        self.assemble(0.0);
    }

    /// Queues what a delivery to (or the INITIAL of) `block` emitted; self-events carry the
    /// weight vector of `netcon`.
    fn absorb(&mut self, block: usize, netcon: u32, sink: &EventSink) {
        if sink.is_empty() {
            return;
        }
        let q = &mut self.state.queue;
        for s in sink.sends() {
            let p = q.push(Pending {
                time: s.time,
                seq: 0,
                block,
                instance: s.instance,
                flag: s.flag,
                netcon,
            });
            q.last_send.insert((block, s.instance), p);
        }
        for m in sink.moves() {
            if let Some(old) = q.last_send.remove(&(block, m.instance)) {
                q.cancelled.insert(old.seq);
                let p = q.push(Pending {
                    time: m.time,
                    ..old
                });
                q.last_send.insert((block, m.instance), p);
            }
        }
        for &(instance, time) in sink.spikes() {
            let Some(out) = self.outgoing.get(block).and_then(|o| o.get(instance)) else {
                continue;
            };
            for &k in out {
                let nc = &self.netcons[k as usize];
                q.push(Pending {
                    time: time + nc.delay,
                    seq: 0,
                    block: nc.block,
                    instance: nc.instance,
                    flag: 0.0,
                    netcon: k,
                });
            }
        }
    }

    /// Delivers every event due by `tm` in time order (input events before made ones of the
    /// same time), each NET_RECEIVE seeing its own event time.
    fn deliver_until(&mut self, tm: f64) {
        loop {
            let st = &mut self.state;
            let input = self.events.get(st.cursor).filter(|e| e.time <= tm);
            let made = st.queue.heap.peek().filter(|p| p.time <= tm);
            let (time, block, instance, flag, netcon) = match (input, made) {
                (Some(e), m) if m.is_none_or(|m| e.time <= m.time) => {
                    st.cursor += 1;
                    let nc = &self.netcons[e.netcon as usize];
                    (e.time, nc.block, nc.instance, 0.0, e.netcon)
                }
                (_, Some(_)) => {
                    let p = st.queue.heap.pop().expect("peeked");
                    if st.queue.cancelled.remove(&p.seq) {
                        continue;
                    }
                    let key = (p.block, p.instance);
                    if st.queue.last_send.get(&key).is_some_and(|l| l.seq == p.seq) {
                        st.queue.last_send.remove(&key);
                    }
                    (p.time, p.block, p.instance, p.flag, p.netcon)
                }
                _ => break,
            };
            let weights: &mut [f64] = match self.netcons.get(netcon as usize) {
                Some(nc) => &mut st.weights[nc.weights_at..nc.weights_at + nc.n_weights],
                None => &mut [],
            };
            let ev = Delivery {
                instance,
                t: time,
                flag,
                weights,
            };
            self.sink.clear();
            let mut cx = PointCtx {
                scop: &mut st.ions.scop,
                vectors: &self.vectors[block],
            };
            self.points[block].receive(ev, &mut st.point_vars[block], &mut self.sink, &mut cx);
            if !self.sink.is_empty() {
                let sink = std::mem::take(&mut self.sink);
                self.absorb(block, netcon, &sink);
                self.sink = sink;
            }
        }
    }

    /// Currents and Jacobian (NEURON's `setup_tree_matrix`) at time `t`.
    fn assemble(&mut self, t: f64) {
        let model = self.model;
        let env = Env {
            dt: model.settings.dt_ms,
            t,
            celsius: model.settings.celsius,
            outputs: true,
        };
        let st = &mut self.state;
        let fast = model.settings.numerics == Numerics::Fast;
        if fast && super::lanes::serves(model.lanes) {
            let n = st.v.len();
            super::lanes::Assemble {
                lanes: model.lanes,
                up: &model.lane_up,
                v: &st.v[..n],
                dv: &mut st.dv[..n],
                rhs: &mut st.rhs[..n],
                d: &mut st.d[..n],
                d_const: &model.lane_d_const,
                a: &model.lane_a,
                b: &model.lane_b,
                currents: st.ions.currents_mut().map(|x| &mut x[..n]),
            }
            .exec();
        } else if fast {
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
        st.ions.update_eca(
            model.ca_runs.index(&model.ca_written),
            env.celsius,
            model.settings.numerics,
        );
        let mut mx = Matrix {
            rhs: &mut st.rhs,
            d: &mut st.d,
            numerics: model.settings.numerics,
        };
        for &blk in &self.order {
            match blk {
                Block::Density(i) => model.density[i].current(
                    &Env {
                        outputs: self.read[0][i],
                        ..env
                    },
                    &st.v,
                    &mut st.ions,
                    &mut mx,
                    &mut st.density_vars[i],
                ),
                Block::Point(i) => {
                    let mut cx = PointCtx {
                        scop: &mut st.ions.scop,
                        vectors: &self.vectors[i],
                    };
                    let env = Env {
                        outputs: self.read[1][i],
                        ..env
                    };
                    self.points[i].current(&env, &st.v, &mut mx, &mut st.point_vars[i], &mut cx)
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
        if super::lanes::serves(model.lanes) {
            super::lanes::Solve {
                lanes: model.lanes,
                fast,
                parent: &model.lane_parent,
                elim: &model.lane_elim,
                rhs,
                d,
                a: &model.lane_a,
                b: &model.lane_b,
            }
            .exec();
            return;
        }
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
            outputs: true,
        };
        for &blk in &self.order {
            match blk {
                Block::Density(i) => {
                    model.density[i].advance(&env, &st.v, &mut st.ions, &mut st.density_vars[i])
                }
                Block::Point(i) => {
                    let mut cx = PointCtx {
                        scop: &mut st.ions.scop,
                        vectors: &self.vectors[i],
                    };
                    self.points[i].advance(&env, &st.v, &mut st.point_vars[i], &mut cx)
                }
            }
        }
        st.steps += 1;
    }

    fn sample(&self, out: &mut Traces) {
        out.t.push(self.state.t);
        for (col, src) in out.columns.iter_mut().zip(&self.sources) {
            col.push(self.value(*src));
        }
    }

    /// The current value a probe reads.
    fn value(&self, src: Source) -> f64 {
        let st = &self.state;
        match src {
            Source::V(i) => st.v[i],
            Source::Density(b, k) => st.density_vars[b][k],
            Source::Point(b, k) => st.point_vars[b][k],
            Source::Weight(k) => st.weights[k],
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
        }
    }

    /// Runs the lanes of a batch (docs/architecture.md#batched-trials): lane `k` records the
    /// probe columns `lanes[k].0` with ISF's loop `while t < lanes[k].1` (on the accumulated t),
    /// exactly the rows [`Simulation::run_until`] would give it alone; the run ends when every
    /// lane has ended.
    pub(super) fn run_lanes(&mut self, lanes: &[(std::ops::Range<usize>, f64)]) -> Vec<Traces> {
        let mut out: Vec<Traces> = lanes
            .iter()
            .map(|(cols, _)| Traces {
                t: Vec::new(),
                columns: vec![Vec::new(); cols.len()],
            })
            .collect();
        let sample = |sim: &Self, out: &mut Traces, cols: &std::ops::Range<usize>| {
            out.t.push(sim.state.t);
            for (col, &src) in out.columns.iter_mut().zip(&sim.sources[cols.clone()]) {
                col.push(sim.value(src));
            }
        };
        for (o, (cols, _)) in out.iter_mut().zip(lanes) {
            sample(self, o, cols);
        }
        let mut active = vec![false; lanes.len()];
        loop {
            for (a, (_, tstop)) in active.iter_mut().zip(lanes) {
                *a = self.state.t < *tstop;
            }
            if !active.contains(&true) {
                break;
            }
            self.step();
            if self.state.steps % self.record_every == 0 {
                for ((o, (cols, _)), _) in out.iter_mut().zip(lanes).zip(&active).filter(|x| *x.1) {
                    sample(self, o, cols);
                }
            }
        }
        out
    }

    /// Whether anything has drawn from the cell's legacy random generator (which a batch's
    /// lanes would share).
    pub(super) fn used_scop(&self) -> bool {
        self.state.ions.scop != crate::mechanisms::random::ScopLcg::new()
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mechanisms::catalogue::{self, Entry};
    use crate::mechanisms::{Instances, Ions, MechanismPlacement};
    use crate::solver::{CableTree, SimSettings};

    /// A test relay: a NetCon event (flag 0) counts in `n`, sends itself flag 7 after `wait`;
    /// flag 7 records `t` in `last` and spikes (`net_event`). Per-NetCon state `weights[1]`
    /// counts that NetCon's events; NET_RECEIVE's INITIAL sets it to 100.
    #[derive(Debug)]
    struct Relay {
        nodes: Vec<usize>,
        wait: Vec<f64>,
    }

    impl PointProcess for Relay {
        fn name(&self) -> &'static str {
            "test_relay"
        }
        fn nodes(&self) -> &[usize] {
            &self.nodes
        }
        fn variables(&self) -> &'static [&'static str] {
            &["n", "last"]
        }
        fn initialize(
            &self,
            _: &Env,
            _: &[f64],
            vars: &mut [f64],
            events: &mut EventSink,
            _cx: &mut crate::mechanisms::PointCtx<'_>,
        ) {
            vars.fill(0.0);
            // The first instance also starts itself at t = 0.
            events.net_send(0, 0.0 + 0.0, 7.0);
        }
        fn current(
            &self,
            _: &Env,
            _: &[f64],
            _: &mut Matrix,
            _: &mut [f64],
            _cx: &mut crate::mechanisms::PointCtx<'_>,
        ) {
        }
        fn advance(
            &self,
            _: &Env,
            _: &[f64],
            _: &mut [f64],
            _cx: &mut crate::mechanisms::PointCtx<'_>,
        ) {
        }
        fn receive(
            &self,
            ev: Delivery<'_>,
            vars: &mut [f64],
            events: &mut EventSink,
            _cx: &mut crate::mechanisms::PointCtx<'_>,
        ) {
            let n = self.nodes.len();
            let j = ev.instance;
            if ev.flag == 0.0 {
                vars[j] += 1.0;
                ev.weights[1] += 1.0;
                events.net_send(j, ev.t + self.wait[j], 7.0);
            } else {
                assert_eq!(ev.flag, 7.0);
                vars[n + j] = ev.t;
                events.net_event(j, ev.t);
            }
        }
        fn receive_init(
            &self,
            _: usize,
            weights: &mut [f64],
            _: &mut [f64],
            _cx: &mut crate::mechanisms::PointCtx<'_>,
        ) {
            weights[1] = 100.0;
        }
        fn n_weights(&self) -> usize {
            2
        }
    }

    fn build(inst: Instances, _: &BuildEnv) -> Box<dyn PointProcess> {
        Box::new(Relay {
            nodes: inst.nodes,
            wait: inst.values[0].clone(),
        })
    }

    #[test]
    fn self_events_and_spikes_travel_through_the_queue() {
        let _ = catalogue::register(
            Entry {
                name: "test_relay",
                params: &[("wait", 1.0)],
                ctor: Constructor::Point(&build),
                rank: 90_000,
            },
            "a test",
        );
        let tree = CableTree::single_compartment(100.0, 1.0, 0.01);
        let mut pas = MechanismPlacement::new("pas");
        pas.nodes = vec![1];
        let settings = SimSettings {
            dt_ms: 0.025,
            celsius: 34.0,
            vinit_mv: -65.0,
            numerics: Numerics::Exact,
        };
        let model = CellModel::new(&tree, &[pas], Ions::defaults(3), settings).unwrap();
        let mut b = SimulationBuilder::new(&model);
        let a = b.add_point("test_relay", 1, &[("wait", 0.5)]).unwrap();
        let c = b.add_point("test_relay", 1, &[("wait", 0.3)]).unwrap();
        let input = b.add_events(a, &[1.0, 1.01], &[1.0, 5.0]).unwrap();
        // a's spikes reach c 2 ms later; c's spikes come back to a.
        let ac = b.add_netcon(a, c, 2.0, &[1.0, 0.0]).unwrap();
        b.add_netcon(c, a, 0.0, &[1.0, 0.0]).unwrap();
        let cols: Vec<usize> = [(a, "n"), (a, "last"), (c, "n"), (c, "last")]
            .into_iter()
            .map(|(handle, v)| {
                b.record(Probe::Point {
                    handle,
                    variable: v.into(),
                })
            })
            .collect();
        let w_in = b.record(Probe::Weight {
            netcon: input,
            index: 1,
        });
        let w_ac = b.record(Probe::Weight {
            netcon: ac,
            index: 1,
        });
        let mut b2 = SimulationBuilder::new(&model);
        let x = b2.add_point("test_relay", 1, &[]).unwrap();
        let nc = b2.add_events(x, &[], &[1.0, 0.0]).unwrap();
        b2.record(Probe::Weight {
            netcon: nc,
            index: 2,
        });
        assert!(matches!(b2.build(), Err(SolverError::UnknownProbe(_))));
        let tr = b.build().unwrap().run_steps(400);
        let at = |col: usize, ms: f64| tr.columns[col][(ms / 0.025_f64).round() as usize];
        // Row 0: a's INITIAL self-event at t = 0 was delivered in finitialize, spiking to c
        // (delivered at 2 ms); NET_RECEIVE's INITIAL set both NetCons' state to 100.
        assert_eq!(at(cols[1], 0.0), 0.0);
        assert_eq!(at(w_in, 0.0), 100.0);
        // c got the spike at 2 ms: counts it, self-event at 2.3, spikes back to a at 2.3.
        assert_eq!(at(cols[2], 2.2), 1.0);
        assert_eq!(at(w_ac, 2.2), 101.0);
        assert_eq!(at(cols[3], 2.4), 2.3);
        // a: inputs at 1 and 1.01 (each its own t), self-events at 1.5 and 1.51, each spiking.
        assert_eq!(at(cols[0], 1.1), 2.0);
        assert_eq!(at(w_in, 1.1), 102.0);
        assert_eq!(at(cols[1], 1.55), 1.01 + 0.5);
        // c's spike at 2.3 reached a (delay 0) and a's self-event at 2.8 spiked to c at 4.8.
        assert_eq!(at(cols[0], 2.4), 3.0);
        assert_eq!(at(cols[1], 2.9), 2.3 + 0.5);
        assert_eq!(at(cols[2], 5.0), 4.0);
    }
}
