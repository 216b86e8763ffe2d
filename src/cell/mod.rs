//! Cell model: discretisation (d-λ), NEURON's segment geometry and node tree, distances, spatial rules for channel densities, recording sites; builds the immutable cell template.
