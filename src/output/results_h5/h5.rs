//! Collective HDF5 helpers of the results writer: the transfer property list with its write
//! hook, rows written as per-rank pieces of one collective `H5Dwrite`, growable datasets and
//! attributes.

use std::path::Path;

use hdf5::dataset::FillTime;
use hdf5::types::VarLenUnicode;
use hdf5::{Dataset, File, Group, H5Type, Location, SimpleExtents};
use hdf5_sys::h5i::hid_t;
use isf_io::results_schema::{self as schema, Column};

use super::ResultsFileError;
use crate::comm::Communicator;
use crate::trial::result::SynapsePositions;

/// SONATA's spike-sorting enum (names are part of the format).
#[allow(non_camel_case_types, dead_code)]
#[derive(H5Type, Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub(super) enum SpikeSorting {
    none = 0,
    by_id = 1,
    by_time = 2,
}

/// Called before every change the writer makes to an open results file (each dataset extension,
/// row write, flush and commit), with a short description of it; an error stops the write there as
/// a failed HDF5 call would. Tests use it to abort or fail a run at every write point.
#[derive(Clone)]
pub struct WriteHook(pub std::sync::Arc<WriteHookFn>);

/// The function of a [`WriteHook`]: given what is about to change, go on or fail with a message.
pub type WriteHookFn = dyn Fn(&str) -> Result<(), String> + Send + Sync;

impl std::fmt::Debug for WriteHook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WriteHook")
    }
}

/// How rows reach the file: the dataset transfer property list (collective MPI-IO when the file is
/// opened through MPI) and the write hook, if any.
pub(super) struct Dxpl {
    id: hid_t,
    hook: Option<WriteHook>,
}

impl Dxpl {
    /// Runs the write hook (if any) before the change `what`.
    pub(super) fn point(&self, what: &dyn Fn() -> String) -> hdf5::Result<()> {
        match &self.hook {
            Some(h) => (h.0)(&what()).map_err(|e| hdf5::Error::from(e.as_str())),
            None => Ok(()),
        }
    }

    pub(super) fn new(collective: bool, hook: Option<WriteHook>) -> hdf5::Result<Self> {
        // SAFETY: plain HDF5 C calls on ids we own; the class id is valid once the library is open.
        unsafe {
            hdf5_sys::h5::H5open();
            let id = hdf5_sys::h5p::H5Pcreate(*hdf5_sys::h5p::H5P_CLS_DATASET_XFER);
            if id < 0 {
                return Err("H5Pcreate(dataset transfer) failed".into());
            }
            #[cfg(feature = "mpi")]
            if collective
                && hdf5_sys::h5p::H5Pset_dxpl_mpio(
                    id,
                    hdf5_sys::h5p::H5FD_mpio_xfer_t::H5FD_MPIO_COLLECTIVE,
                ) < 0
            {
                hdf5_sys::h5p::H5Pclose(id);
                return Err("H5Pset_dxpl_mpio(COLLECTIVE) failed".into());
            }
            #[cfg(not(feature = "mpi"))]
            let _ = collective;
            Ok(Self { id, hook })
        }
    }
}

impl Drop for Dxpl {
    fn drop(&mut self) {
        // SAFETY: closing the id we created.
        unsafe {
            hdf5_sys::h5p::H5Pclose(self.id);
        }
    }
}

/// One rank's share of a write: disjoint ascending row ranges and their data, concatenated.
pub(super) struct Piece<T> {
    ranges: Vec<(u64, u64)>,
    data: Vec<T>,
}

impl<T: Copy> Piece<T> {
    pub(super) fn new() -> Self {
        Self {
            ranges: Vec::new(),
            data: Vec::new(),
        }
    }
    /// Rows `start..start + rows.len() / width` with `rows` (row-major).
    pub(super) fn push(&mut self, start: u64, n_rows: u64, rows: &[T]) {
        if n_rows > 0 {
            self.ranges.push((start, n_rows));
            self.data.extend_from_slice(rows);
        }
    }
}

/// Writes the rows of `piece` into `ds` (already extended) collectively. Every rank calls this
/// for the same datasets in the same order, also with an empty piece. `width` is the row length
/// of a 2-D dataset; a row of a 3-D dataset is a whole \[n1 × n2\] block.
pub(super) fn write_rows<T: H5Type>(
    ds: &Dataset,
    width: u64,
    piece: &Piece<T>,
    dxpl: &Dxpl,
) -> hdf5::Result<()> {
    use hdf5_sys::h5s::{
        H5S_seloper_t, H5Sclose, H5Screate_simple, H5Sselect_hyperslab, H5Sselect_none,
    };
    let mut ranges = piece.ranges.clone();
    ranges.sort_unstable();
    debug_assert!(
        ranges == piece.ranges,
        "pieces must be pushed in ascending row order"
    );
    dxpl.point(&|| format!("write {}", ds.name()))?;
    let shape: Vec<u64> = ds.shape().iter().map(|&d| d as u64).collect();
    let mem_type = hdf5::Datatype::from_type::<T>()?;
    let n_dims = ds.ndim();
    let one = [1u8];
    // SAFETY: spaces are created and closed here; buffers outlive the H5Dwrite call and hold
    // exactly the selected number of elements of the memory type.
    unsafe {
        let fspace = hdf5_sys::h5d::H5Dget_space(ds.id());
        if fspace < 0 {
            return Err("H5Dget_space failed".into());
        }
        let total = piece.data.len() as u64;
        let mdims = [total.max(1)];
        let mspace = H5Screate_simple(1, mdims.as_ptr(), std::ptr::null());
        let mut status = 0;
        if ranges.is_empty() {
            status |= H5Sselect_none(fspace);
            status |= H5Sselect_none(mspace);
        } else {
            for (i, &(start, n)) in ranges.iter().enumerate() {
                let op = if i == 0 {
                    H5S_seloper_t::H5S_SELECT_SET
                } else {
                    H5S_seloper_t::H5S_SELECT_OR
                };
                // A row of a 3-D dataset is whole: every further dimension in full.
                let mut s = vec![0u64; n_dims.max(1)];
                let mut c = vec![1u64; n_dims.max(1)];
                (s[0], c[0]) = (start, n);
                if n_dims == 2 {
                    c[1] = width;
                } else if n_dims > 2 {
                    c[1..].copy_from_slice(&shape[1..]);
                }
                status |= H5Sselect_hyperslab(
                    fspace,
                    op,
                    s.as_ptr(),
                    std::ptr::null(),
                    c.as_ptr(),
                    std::ptr::null(),
                );
            }
        }
        let buf = if piece.data.is_empty() {
            one.as_ptr().cast()
        } else {
            piece.data.as_ptr().cast()
        };
        if status >= 0 {
            status = hdf5_sys::h5d::H5Dwrite(ds.id(), mem_type.id(), mspace, fspace, dxpl.id, buf);
        }
        H5Sclose(mspace);
        H5Sclose(fspace);
        if status < 0 {
            return Err(format!("H5Dwrite of {} failed", ds.name()).into());
        }
    }
    Ok(())
}

// Rows are always written right after the extent grows, so fill values would only double the I/O
// (parallel HDF5 allocates chunks collectively and fills them unless told not to).
pub(super) fn ext1<T: H5Type>(g: &Group, c: Column) -> hdf5::Result<Dataset> {
    g.new_dataset::<T>()
        .chunk(c.chunk)
        .fill_time(FillTime::Never)
        .shape(SimpleExtents::resizable([0]))
        .create(c.name)
}

/// The growable 1-D dataset `c`, of the element type the schema gives it.
pub(super) fn ext1_of(g: &Group, c: Column) -> hdf5::Result<Dataset> {
    use schema::Elem;
    match c.elem {
        Elem::U8 => ext1::<u8>(g, c),
        Elem::U32 => ext1::<u32>(g, c),
        Elem::U64 => ext1::<u64>(g, c),
        Elem::F32 => ext1::<f32>(g, c),
        Elem::F64 => ext1::<f64>(g, c),
    }
}

pub(super) fn ext2<T: H5Type>(g: &Group, name: &str, width: usize) -> hdf5::Result<Dataset> {
    g.new_dataset::<T>()
        .chunk((1, width.max(1)))
        .fill_time(FillTime::Never)
        .shape(SimpleExtents::resizable([0, width]))
        .create(name)
}

/// A growable 3-D dataset \[row × `n1` × `n2`\], chunked by one (row, `n1` index).
pub(super) fn ext3<T: H5Type>(
    g: &Group,
    name: &str,
    n1: usize,
    n2: usize,
) -> hdf5::Result<Dataset> {
    g.new_dataset::<T>()
        .chunk((1, 1, n2.max(1)))
        .fill_time(FillTime::Never)
        .shape(SimpleExtents::resizable([0, n1, n2]))
        .create(name)
}

/// Extends the first dimension of `ds` to `rows` if it is shorter (never shrinks it).
pub(super) fn grow(ds: &Dataset, rows: u64, x: &Dxpl) -> hdf5::Result<()> {
    let mut shape = ds.shape();
    let rows = usize::try_from(rows).map_err(|_| hdf5::Error::from("row count overflows"))?;
    if shape[0] >= rows {
        return Ok(());
    }
    x.point(&|| format!("extend {}", ds.name()))?;
    shape[0] = rows;
    ds.resize(shape)
}

pub(super) fn attr_str(loc: &Location, name: &str, value: &str) -> hdf5::Result<()> {
    let v: VarLenUnicode = value
        .parse()
        .map_err(|e| hdf5::Error::from(format!("{e}")))?;
    if loc.attr_names()?.iter().any(|n| n == name) {
        loc.delete_attr(name)?;
    }
    loc.new_attr::<VarLenUnicode>()
        .create(name)?
        .write_scalar(&v)
}

pub(super) fn attr_strs(loc: &Location, name: &str, values: &[String]) -> hdf5::Result<()> {
    let v: Vec<VarLenUnicode> = values
        .iter()
        .map(|s| s.parse().map_err(|e| hdf5::Error::from(format!("{e}"))))
        .collect::<hdf5::Result<_>>()?;
    loc.new_attr::<VarLenUnicode>()
        .shape(v.len())
        .create(name)?
        .write(&v)
}

pub(super) fn attr_scalar<T: H5Type>(loc: &Location, name: &str, value: T) -> hdf5::Result<()> {
    if loc.attr_names()?.iter().any(|n| n == name) {
        loc.delete_attr(name)?;
    }
    loc.new_attr::<T>().create(name)?.write_scalar(&value)
}

pub(super) fn read_attr_str(loc: &Location, name: &str) -> hdf5::Result<String> {
    Ok(loc.attr(name)?.read_scalar::<VarLenUnicode>()?.to_string())
}

pub(super) fn read_attr_strs(loc: &Location, name: &str) -> hdf5::Result<Vec<String>> {
    Ok(loc
        .attr(name)?
        .read_raw::<VarLenUnicode>()?
        .iter()
        .map(|s| s.to_string())
        .collect())
}

/// A fixed-size dataset of UTF-8 text, written collectively with rank 0's copy (every rank holds
/// the same bytes).
pub(super) fn text_dataset(
    g: &Group,
    name: &str,
    text: &[u8],
    rank0: bool,
    dxpl: &Dxpl,
) -> hdf5::Result<Dataset> {
    let d = column(g, name, text, rank0, dxpl)?;
    attr_str(&d, "encoding", "utf-8")?;
    Ok(d)
}

/// A fixed-size 1-D dataset with `values`, written collectively with rank 0's copy.
pub(super) fn column<T: H5Type + Copy>(
    g: &Group,
    name: &str,
    values: &[T],
    rank0: bool,
    dxpl: &Dxpl,
) -> hdf5::Result<Dataset> {
    let d = g.new_dataset::<T>().shape(values.len()).create(name)?;
    let mut piece = Piece::new();
    if rank0 {
        piece.push(0, values.len() as u64, values);
    }
    write_rows(&d, 1, &piece, dxpl)?;
    Ok(d)
}

/// The cell's synapse table: one row per synapse, population-major then by synapse id, with the
/// position columns of ISF's synapse activation file. Identical on every rank, so rank 0 writes it.
pub(super) fn write_synapse_table(
    g: &Group,
    table: &SynapsePositions,
    rank0: bool,
    dxpl: &Dxpl,
) -> hdf5::Result<()> {
    let rows = table
        .populations
        .iter()
        .enumerate()
        .flat_map(|(p, syns)| syns.iter().enumerate().map(move |(i, s)| (p, i, s)));
    let mut population = Vec::with_capacity(table.len());
    let mut synapse_id = Vec::with_capacity(table.len());
    let mut distance = Vec::with_capacity(table.len());
    let mut section = Vec::with_capacity(table.len());
    let mut pt = Vec::with_capacity(table.len());
    let mut label = Vec::with_capacity(table.len());
    for (p, i, s) in rows {
        population.push(p as u32);
        synapse_id.push(i as u32);
        distance.push(s.soma_distance_um);
        section.push(s.section_id);
        pt.push(s.section_pt_id);
        label.push(s.label);
    }
    use schema::synapses as sy;
    column(g, sy::POPULATION.name, &population, rank0, dxpl)?;
    column(g, sy::SYNAPSE_ID.name, &synapse_id, rank0, dxpl)?;
    let d = column(g, sy::SOMA_DISTANCE_UM.name, &distance, rank0, dxpl)?;
    attr_str(&d, schema::cell::trace_attr::UNITS, "um")?;
    column(g, sy::SECTION_ID.name, &section, rank0, dxpl)?;
    column(g, sy::SECTION_PT_ID.name, &pt, rank0, dxpl)?;
    column(g, sy::DENDRITE_LABEL.name, &label, rank0, dxpl)?;
    attr_strs(g, sy::LABEL_NAMES, &table.labels)
}

/// Whether the file is opened through MPI-IO (then transfers are collective).
pub(super) fn uses_mpi(comm: &dyn Communicator) -> bool {
    #[cfg(feature = "mpi")]
    return comm.mpi_comm().is_some();
    #[cfg(not(feature = "mpi"))]
    {
        let _ = comm;
        false
    }
}

/// Opens (or creates) the results file. It keeps HDF5's earliest object formats: the 1.10
/// formats checksum their metadata, but a 1.10-format file that a killed writer left open cannot
/// be opened again without `h5clear` (its superblock records the open writer), which would defeat
/// `--resume`.
pub(super) fn open_file(path: &Path, comm: &dyn Communicator, create: bool) -> hdf5::Result<File> {
    // Only the MPI build configures the builder.
    #[cfg_attr(not(feature = "mpi"), allow(unused_mut))]
    let mut b = File::with_options();
    #[cfg(feature = "mpi")]
    if let Some(raw) = comm.mpi_comm() {
        b.with_fapl(|p| p.mpio(raw, None));
    }
    let _ = comm;
    if create {
        b.create_excl(path)
    } else {
        b.open_rw(path)
    }
}

/// A `map_err` adapter: an HDF5 error while doing `context` on the results file `path`.
pub(super) fn hdf5_error(
    path: &Path,
    context: impl Into<String>,
) -> impl Fn(hdf5::Error) -> ResultsFileError {
    let (path, context) = (path.to_path_buf(), context.into());
    move |source| ResultsFileError::Hdf5 {
        path: path.clone(),
        context: context.clone(),
        source,
    }
}

/// Bytes an unprivileged writer may still use on the file system holding `path` (its folder
/// if it does not exist yet); `None` if the system will not say.
pub fn free_bytes(path: &Path) -> Option<u64> {
    use std::os::unix::ffi::OsStrExt;
    let probe = if path.exists() {
        path
    } else {
        path.parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."))
    };
    let c = std::ffi::CString::new(probe.as_os_str().as_bytes()).ok()?;
    let mut st = std::mem::MaybeUninit::<libc::statvfs>::uninit();
    // SAFETY: a valid NUL-terminated path and a buffer statvfs fills on success.
    if unsafe { libc::statvfs(c.as_ptr(), st.as_mut_ptr()) } != 0 {
        return None;
    }
    // SAFETY: statvfs returned 0, so the buffer is initialised.
    let st = unsafe { st.assume_init() };
    Some(st.f_bavail.saturating_mul(st.f_frsize))
}
