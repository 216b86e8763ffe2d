//! Writers and readers of results: ISF's CSV output folder and the collective HDF5 results file.

pub mod results_h5;
