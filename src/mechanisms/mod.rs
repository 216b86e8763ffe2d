//! Membrane mechanisms and point processes (NEURON built-ins and ISF's L5PT channels and synapses) as struct-of-arrays plug-ins registered by name.

pub mod placement;

pub use placement::MechanismPlacement;
