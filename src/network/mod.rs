//! Network activity: synapse realization files (`.syn`/`.con`), numpy-compatible random numbers, presynaptic activity generators, release and weights.

pub mod rng;
