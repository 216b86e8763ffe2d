//! Python's `repr(float)`, which ISF uses for every number it writes: defined in the I/O layer
//! ([`isf_io::py_float`]) with the ISF formats that use it.

pub use isf_io::py_float::{py_repr, write_py_repr};
