//! Post-processing of isf results.
