//! Post-processing of isf results: an indexed results database of self-describing HDF5 files
//! ([`db`]), importers from ISF output folders and from isf's SPMD results file ([`import`]),
//! analysis (spike and burst detection, temporal and spatio-temporal binning, PSTHs;
//! [`analysis`]) and ISF's reduced LDA model ([`lda`]). See `README.md` for the on-disk format.

#![warn(missing_docs)]
// `!(a > b)` deliberately rejects NaN parameters as well; the lint's suggested form hides that.
#![allow(clippy::neg_cmp_op_on_partial_ord)]

pub mod analysis;
pub mod db;
pub mod import;
pub mod import_results;
pub mod lda;
pub mod progress;
pub mod show;
