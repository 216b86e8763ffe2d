//! Small helpers over `hdf5` for the self-describing payload files: UTF-8 string datasets and
//! attributes, 1-D numeric datasets, and contiguous row reads.

use hdf5::types::VarLenUnicode;
use hdf5::{Dataset, Group, H5Type, Location};
use std::str::FromStr;

pub(crate) type H5Result<T> = hdf5::Result<T>;

fn vlu(s: &str) -> H5Result<VarLenUnicode> {
    // Interior NULs cannot be stored in HDF5 strings; they never occur in our keys or labels.
    VarLenUnicode::from_str(&s.replace('\0', "")).map_err(|e| hdf5::Error::from(e.to_string()))
}

/// Writes a scalar UTF-8 string attribute.
pub(crate) fn set_attr_str(loc: &Location, name: &str, value: &str) -> H5Result<()> {
    let v = vlu(value)?;
    loc.new_attr::<VarLenUnicode>()
        .create(name)?
        .write_scalar(&v)
}

/// Writes a scalar f64 attribute.
pub(crate) fn set_attr_f64(loc: &Location, name: &str, value: f64) -> H5Result<()> {
    loc.new_attr::<f64>().create(name)?.write_scalar(&value)
}

/// Writes a scalar i64 attribute.
pub(crate) fn set_attr_i64(loc: &Location, name: &str, value: i64) -> H5Result<()> {
    loc.new_attr::<i64>().create(name)?.write_scalar(&value)
}

/// Reads a scalar UTF-8 string attribute.
pub(crate) fn attr_str(loc: &Location, name: &str) -> H5Result<String> {
    let v: VarLenUnicode = loc.attr(name)?.read_scalar()?;
    Ok(v.as_str().to_string())
}

/// Reads a scalar f64 attribute.
pub(crate) fn attr_f64(loc: &Location, name: &str) -> H5Result<f64> {
    loc.attr(name)?.read_scalar()
}

/// Creates a 1-D dataset of UTF-8 strings (h5py reads it as `bytes`/`str` objects).
pub(crate) fn write_strings(g: &Group, name: &str, values: &[String]) -> H5Result<Dataset> {
    let data = values
        .iter()
        .map(|s| vlu(s))
        .collect::<H5Result<Vec<_>>>()?;
    g.new_dataset_builder().with_data(&data).create(name)
}

/// Reads a 1-D dataset of UTF-8 strings.
pub(crate) fn read_strings(g: &Group, name: &str) -> H5Result<Vec<String>> {
    let v: Vec<VarLenUnicode> = g.dataset(name)?.read_raw()?;
    Ok(v.into_iter().map(|s| s.as_str().to_string()).collect())
}

/// Creates a 1-D numeric dataset; large ones are chunked so that slices read quickly.
pub(crate) fn write_1d<T: H5Type + Copy>(g: &Group, name: &str, values: &[T]) -> H5Result<Dataset> {
    let b = g.new_dataset_builder();
    if values.len() > 1 << 20 {
        b.chunk(1 << 18).with_data(values).create(name)
    } else {
        b.with_data(values).create(name)
    }
}

/// Reads a 1-D numeric dataset.
pub(crate) fn read_1d<T: H5Type>(g: &Group, name: &str) -> H5Result<Vec<T>> {
    g.dataset(name)?.read_raw()
}
