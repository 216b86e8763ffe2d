//! One trial: from a cell template and its inputs (network realization, replayed activations or a current protocol) to a trial result.

pub mod result;
