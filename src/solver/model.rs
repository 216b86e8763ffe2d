//! The immutable simulation model of one cell (the template shared by all its trials).

use super::{CableTree, SolverError};
use crate::mechanisms::catalogue::{BuildEnv, Constructor};
use crate::mechanisms::{
    Catalogue, DensityMechanism, Ions, MechanismKind, MechanismPlacement, Numerics,
};

/// Global simulation settings of a cell.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SimSettings {
    /// Fixed time step, ms.
    pub dt_ms: f64,
    /// Temperature, °C.
    pub celsius: f64,
    /// Initial membrane potential, mV.
    pub vinit_mv: f64,
    /// How the mechanism kernels evaluate their equations.
    pub numerics: Numerics,
}

/// Everything about a cell that does not change during or between trials: the matrix
/// coefficients of the node tree, the density mechanism blocks and the ion layout.
#[derive(Debug)]
pub struct CellModel {
    pub(crate) parent: Vec<usize>,
    /// The parent of each node, or the node itself for a root (whose `a` and `b` are 0): lets
    /// the axial loops run without a branch.
    pub(crate) up: Vec<usize>,
    /// [`Numerics::Fast`]: the part of each diagonal that does not change, `cap − b − Σ a` of
    /// the children (summed once instead of every step).
    pub(crate) d_const: Vec<f64>,
    /// Non-root nodes in the order Hines elimination processes them (see [`elimination_order`]).
    pub(crate) elim_order: Vec<usize>,
    /// NEURON's `VEC_A`: effect of node i on its parent's row.
    pub(crate) a: Vec<f64>,
    /// NEURON's `VEC_B`: effect of the parent on node i's row.
    pub(crate) b: Vec<f64>,
    /// `(0.001/dt)·cm` for segment nodes, 0 for zero-area nodes.
    pub(crate) cap: Vec<f64>,
    /// Segment nodes (those with capacitance).
    pub(crate) cap_nodes: Vec<usize>,
    /// Node area used for point processes: µm², or 100 for zero-area nodes (NEURON's convention).
    pub(crate) area_eff: Vec<f64>,
    pub(crate) density: Vec<Box<dyn DensityMechanism>>,
    /// NEURON mechanism-order rank of every density block.
    pub(crate) density_rank: Vec<u32>,
    pub(crate) ions: Ions,
    pub(crate) ca_written: Vec<usize>,
    /// The runs of `ca_written` (a batched model's).
    pub(crate) ca_runs: crate::mechanisms::density::Runs,
    pub(crate) settings: SimSettings,
    /// Trials simulated side by side ([`CellModel::batched`]); 1 for a model of one trial.
    pub(crate) lanes: usize,
    /// With `lanes > 1`: the parent of every node of one lane (`usize::MAX` for a root).
    pub(crate) lane_parent: Vec<usize>,
    /// With `lanes > 1`: [`CellModel::up`] of one lane.
    pub(crate) lane_up: Vec<usize>,
    /// With `lanes > 1`: [`elimination_order`] of one lane.
    pub(crate) lane_elim: Vec<usize>,
    /// With `lanes > 1`: `a`, `b` and `d_const` of one lane, which every lane shares (the
    /// batch's loops read them once per node instead of once per lane).
    pub(crate) lane_a: Vec<f64>,
    pub(crate) lane_b: Vec<f64>,
    pub(crate) lane_d_const: Vec<f64>,
}

/// The order in which Hines elimination folds non-root nodes into their parents.
///
/// NEURON eliminates nodes in descending index order. Any order gives the same bits as long as
/// every node comes after all its children (its diagonal and right-hand side are final) and the
/// children of one parent keep their descending order (their contributions are summed in that
/// order). Within those constraints this order takes ready nodes first-in first-out, which
/// interleaves the nodes of independent branches: consecutive eliminations no longer wait on each
/// other's division, and the elimination runs at the divider's throughput rather than its latency.
pub(crate) fn elimination_order(parent: &[usize]) -> Vec<usize> {
    let n = parent.len();
    let is_child = |i: usize| parent[i] != usize::MAX;
    // Unmet prerequisites: the children, plus the next-higher-index sibling.
    let mut waits = vec![0u32; n];
    let mut next_sibling = vec![usize::MAX; n];
    let mut last_child = vec![usize::MAX; n];
    for i in (0..n).rev().filter(|&i| is_child(i)) {
        let p = parent[i];
        waits[p] += 1;
        if last_child[p] != usize::MAX {
            next_sibling[last_child[p]] = i;
            waits[i] += 1;
        }
        last_child[p] = i;
    }
    let mut ready: std::collections::VecDeque<usize> =
        (0..n).rev().filter(|&i| waits[i] == 0).collect();
    let mut order = Vec::with_capacity(n);
    while let Some(i) = ready.pop_front() {
        if !is_child(i) {
            continue;
        }
        order.push(i);
        for next in [parent[i], next_sibling[i]] {
            if next != usize::MAX {
                waits[next] -= 1;
                if waits[next] == 0 {
                    ready.push_back(next);
                }
            }
        }
    }
    order
}

fn check_finite(what: &'static str, node: usize, x: f64) -> Result<(), SolverError> {
    if x.is_finite() {
        Ok(())
    } else {
        Err(SolverError::BadTree {
            node,
            reason: format!("{what} is {x}"),
        })
    }
}

impl CellModel {
    /// Builds the model from the node tree, the density mechanism placements (mechanism names
    /// and parameters are checked against the catalogue), per-node ion settings (`ena`/`ek`,
    /// NaN = NEURON default) and the simulation settings.
    pub fn new(
        tree: &CableTree,
        placements: &[MechanismPlacement],
        ions: Ions,
        settings: SimSettings,
    ) -> Result<Self, SolverError> {
        let n = tree.len();
        if n == 0 {
            return Err(SolverError::BadTree {
                node: 0,
                reason: "the tree has no nodes".into(),
            });
        }
        if !(settings.dt_ms > 0.0 && settings.dt_ms.is_finite()) {
            return Err(SolverError::BadSetting(format!(
                "dt must be positive, got {}",
                settings.dt_ms
            )));
        }
        if !settings.celsius.is_finite() || !settings.vinit_mv.is_finite() {
            return Err(SolverError::BadSetting(
                "celsius and vinit must be finite".into(),
            ));
        }
        for (len, what) in [
            (tree.area_um2.len(), "area_um2"),
            (tree.cm_uf_cm2.len(), "cm_uf_cm2"),
            (tree.rinv_us.len(), "rinv_us"),
            (ions.ena_mv.len(), "ena"),
            (ions.ek_mv.len(), "ek"),
        ] {
            if len != n {
                return Err(SolverError::BadTree {
                    node: 0,
                    reason: format!("{what} has {len} entries for {n} nodes"),
                });
            }
        }
        if tree.parent[0] != usize::MAX {
            return Err(SolverError::BadTree {
                node: 0,
                reason: "node 0 must be the root (parent usize::MAX)".into(),
            });
        }
        let area_eff: Vec<f64> = tree
            .area_um2
            .iter()
            .map(|&a| if a == 0.0 { 100.0 } else { a })
            .collect();
        let mut a = vec![0.0; n];
        let mut b = vec![0.0; n];
        for i in 0..n {
            check_finite("area", i, tree.area_um2[i])?;
            check_finite("cm", i, tree.cm_uf_cm2[i])?;
            if tree.area_um2[i] < 0.0 {
                return Err(SolverError::BadTree {
                    node: i,
                    reason: "negative area".into(),
                });
            }
            let p = tree.parent[i];
            if p == usize::MAX {
                continue;
            }
            if p >= i {
                return Err(SolverError::BadTree {
                    node: i,
                    reason: format!("parent {p} does not precede the node (Hines order)"),
                });
            }
            let rinv = tree.rinv_us[i];
            check_finite("rinv", i, rinv)?;
            a[i] = -1.0e2 * rinv / area_eff[p];
            b[i] = -1.0e2 * rinv / area_eff[i];
        }
        let cfac = 0.001 / settings.dt_ms;
        let cap_nodes: Vec<usize> = (0..n).filter(|&i| tree.area_um2[i] != 0.0).collect();
        let mut cap = vec![0.0; n];
        for &i in &cap_nodes {
            cap[i] = cfac * tree.cm_uf_cm2[i];
        }
        let up: Vec<usize> = (0..n)
            .map(|i| {
                if tree.parent[i] == usize::MAX {
                    i
                } else {
                    tree.parent[i]
                }
            })
            .collect();
        let mut d_const: Vec<f64> = (0..n).map(|i| cap[i] - b[i]).collect();
        for i in 0..n {
            d_const[up[i]] -= a[i];
        }
        let mut ions = ions;
        for (x, default) in [
            (&mut ions.ena_mv, crate::mechanisms::ions::DEFAULT_ENA),
            (&mut ions.ek_mv, crate::mechanisms::ions::DEFAULT_EK),
        ] {
            for v in x.iter_mut() {
                if v.is_nan() {
                    *v = default;
                }
            }
        }

        let cat = Catalogue;
        let env = BuildEnv {
            dt: settings.dt_ms,
            celsius: settings.celsius,
            numerics: settings.numerics,
        };
        let mut blocks: Vec<(u32, Box<dyn DensityMechanism>)> = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for pl in placements {
            let entry = cat.get(&pl.name)?;
            let Constructor::Density(ctor) = entry.ctor else {
                return Err(crate::mechanisms::CatalogueError::WrongKind {
                    name: pl.name.clone(),
                    actual: MechanismKind::Point,
                    wanted: MechanismKind::Density,
                }
                .into());
            };
            if !seen.insert(entry.name) {
                return Err(SolverError::DuplicatePlacement(pl.name.clone()));
            }
            if let Some(&bad) = pl.nodes.iter().find(|&&x| x >= n) {
                return Err(SolverError::NodeOutOfRange {
                    node: bad,
                    nodes: n,
                });
            }
            let areas = pl.nodes.iter().map(|&i| area_eff[i]).collect();
            let inst = cat.instances(
                entry,
                pl.nodes.clone(),
                areas,
                pl.params.iter().map(|(k, v)| (k.as_str(), v.as_slice())),
            )?;
            blocks.push((entry.rank, ctor(inst, &env)));
        }
        blocks.sort_by_key(|(r, _)| *r);
        let density_rank: Vec<u32> = blocks.iter().map(|(r, _)| *r).collect();
        let density: Vec<Box<dyn DensityMechanism>> = blocks.into_iter().map(|(_, b)| b).collect();
        let mut ca_written: Vec<usize> = density
            .iter()
            .filter(|m| m.writes_cai())
            .flat_map(|m| m.nodes().iter().copied())
            .collect();
        ca_written.sort_unstable();
        ca_written.dedup();
        Ok(CellModel {
            elim_order: elimination_order(&tree.parent),
            parent: tree.parent.clone(),
            up,
            d_const,
            a,
            b,
            cap,
            cap_nodes,
            area_eff,
            density,
            density_rank,
            ions,
            ca_runs: crate::mechanisms::density::Runs::of(&ca_written),
            ca_written,
            settings,
            lanes: 1,
            lane_parent: Vec::new(),
            lane_up: Vec::new(),
            lane_elim: Vec::new(),
            lane_a: Vec::new(),
            lane_b: Vec::new(),
            lane_d_const: Vec::new(),
        })
    }

    /// The model of `lanes` trials of one cell simulated side by side
    /// (docs/architecture.md#batched-trials): `lanes` copies of the tree interleaved, node `i` of lane `l` at
    /// `i·lanes + l`, every density instance `k` of lane `l` at `k·lanes + l` with the
    /// parameters of instance `k`. Each lane then sees exactly the operations of the one-trial
    /// model in the same order (its currents are summed in its own instance order, its
    /// children folded in the same order), so its results are bit-identical to a run alone;
    /// the per-node loops run over the lanes of a node at once.
    pub fn batched(
        tree: &CableTree,
        placements: &[MechanismPlacement],
        ions: Ions,
        settings: SimSettings,
        lanes: usize,
    ) -> Result<Self, SolverError> {
        if lanes == 0 {
            return Err(SolverError::BadSetting(
                "a batch needs at least one lane".into(),
            ));
        }
        if lanes == 1 {
            return Self::new(tree, placements, ions, settings);
        }
        let one = Self::new(tree, placements, ions.clone(), settings)?;
        let n = tree.len();
        let spread = |x: &[f64]| -> Vec<f64> {
            x.iter()
                .flat_map(|&v| std::iter::repeat_n(v, lanes))
                .collect()
        };
        let forest = CableTree {
            parent: (0..n * lanes)
                .map(|j| match tree.parent[j / lanes] {
                    usize::MAX => usize::MAX,
                    p => p * lanes + j % lanes,
                })
                .collect(),
            area_um2: spread(&tree.area_um2),
            cm_uf_cm2: spread(&tree.cm_uf_cm2),
            rinv_us: spread(&tree.rinv_us),
        };
        let wide: Vec<MechanismPlacement> = placements
            .iter()
            .map(|pl| MechanismPlacement {
                name: pl.name.clone(),
                nodes: pl
                    .nodes
                    .iter()
                    .flat_map(|&i| (0..lanes).map(move |l| i * lanes + l))
                    .collect(),
                params: pl
                    .params
                    .iter()
                    .map(|(k, v)| (k.clone(), spread(v)))
                    .collect(),
            })
            .collect();
        let ions = Ions {
            ena_mv: spread(&ions.ena_mv),
            ek_mv: spread(&ions.ek_mv),
        };
        let mut m = Self::new(&forest, &wide, ions, settings)?;
        m.lanes = lanes;
        m.lane_parent = one.parent;
        m.lane_up = one.up;
        m.lane_elim = one.elim_order;
        // Each lane's coefficients are computed from the same values by the same operations
        // as the one-trial model's, so they are its bits.
        for (wide, one) in [(&m.a, &one.a), (&m.b, &one.b), (&m.d_const, &one.d_const)] {
            assert!(
                wide.iter()
                    .enumerate()
                    .all(|(j, x)| x.to_bits() == one[j / lanes].to_bits()),
                "a batch's lanes differ from the one-trial model"
            );
        }
        m.lane_a = one.a;
        m.lane_b = one.b;
        m.lane_d_const = one.d_const;
        Ok(m)
    }

    /// Trials this model simulates side by side (1 unless built by [`CellModel::batched`]).
    pub fn lanes(&self) -> usize {
        self.lanes
    }

    /// Number of nodes.
    pub fn n_nodes(&self) -> usize {
        self.parent.len()
    }
    /// Simulation settings.
    pub fn settings(&self) -> SimSettings {
        self.settings
    }
    /// Number of segment nodes (nodes with membrane), of all lanes of a batched model.
    pub fn n_segments(&self) -> usize {
        self.cap_nodes.len()
    }
    /// Names of the density mechanisms, in evaluation order.
    pub fn mechanism_names(&self) -> Vec<&'static str> {
        self.density.iter().map(|m| m.name()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::elimination_order;

    #[test]
    fn elimination_order_respects_children_and_sibling_order() {
        // Two roots (0 and 6); node 1 has children 2, 3, 5; node 3 has child 4.
        let parent = [usize::MAX, 0, 1, 1, 3, 1, usize::MAX, 6];
        let order = elimination_order(&parent);
        let pos = |i: usize| order.iter().position(|&x| x == i).unwrap();
        assert_eq!(order.len(), 6, "{order:?}");
        assert!(!order.contains(&0) && !order.contains(&6));
        for (i, &p) in parent.iter().enumerate() {
            if p != usize::MAX && parent[p] != usize::MAX {
                assert!(pos(i) < pos(p), "child {i} before parent {p}: {order:?}");
            }
        }
        // Siblings 5 > 3 > 2 contribute to node 1 in descending order.
        assert!(pos(5) < pos(3) && pos(3) < pos(2), "{order:?}");
    }
}
