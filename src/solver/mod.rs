//! NEURON's fixed-step linearised backward-Euler solver on the node tree (Hines elimination), event delivery and recording.

pub mod cable;

pub use cable::CableTree;
