//! Anatomical embedding: mapping a neuron into the barrel-cortex model and building network parameter files from activity templates.
//!
//! The pipeline follows ISF's `map_singlecell_inputs` (spec: `docs/input-mapper-spec.md`):
//! [`amira`] and [`model`] read the model, [`grid`] rasterises the morphology onto the PST lattice,
//! [`density`] turns every single-axon bouton field into an expected-synapse field λ,
//! [`realize`] draws seeded realizations in parallel, [`summary`] computes ISF's statistics and
//! picks the representative realization, [`write`] writes ISF's output files, and
//! [`network_param`] builds `network.param` files from activity templates.
//!
//! Deliberate deviations from ISF (each documented where it happens):
//! * bouton files are taken in sorted name order, not filesystem order (spec §8 item 6);
//! * the population "SD of path length" statistics are real SD statistics and the −1 "empty"
//!   sentinels are left out of population means (§8 item 5);
//! * an all-zero bouton density is treated as "no synapses" (§8 item 8);
//! * the `.syn` header names the cell without `.hoc`, like the shipped example (§8 item 9);
//! * `NumberOfConnectedCells.csv` counts distinct connected cells (ISF's code; the shipped example
//!   counts synapses, §3.4);
//! * random numbers come from one ChaCha stream per realization, seeded from `(seed, index)`, so
//!   realizations run in parallel and results do not depend on the thread count (§2.10).

pub mod amira;
pub mod density;
pub mod embedding;
pub mod error;
pub mod grid;
pub mod model;
pub mod network_param;
pub mod realize;
pub mod summary;
pub mod write;

pub use error::MapperError;
