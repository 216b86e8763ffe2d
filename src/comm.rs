//! The communicator interface: the few collective operations the run layer needs, with an MPI
//! implementation (feature `mpi`) and a serial one. The rest of isf never names MPI, so the serial
//! build (`--no-default-features`) runs exactly the same code with one rank.

/// Collective operations over the ranks of a run. Every rank must call each method in the same
/// order (they are collective); only the main thread calls them.
pub trait Communicator {
    /// This process's rank, `0..size()`.
    fn rank(&self) -> u32;
    /// Number of ranks.
    fn size(&self) -> u32;
    /// Number of ranks sharing this node (to split the node's cores among them).
    fn ranks_on_node(&self) -> u32;
    /// Waits for every rank.
    fn barrier(&self);
    /// Every rank's `values`, indexed by rank (lengths may differ).
    fn all_gather_u64(&self, values: &[u64]) -> Vec<Vec<u64>>;
    /// Rank 0's `bytes` on every rank (other ranks' argument is ignored).
    fn broadcast_bytes(&self, bytes: Vec<u8>) -> Vec<u8>;
    /// The raw MPI communicator for MPI-IO (`None` for the serial communicator).
    #[cfg(feature = "mpi")]
    fn mpi_comm(&self) -> Option<mpi::ffi::MPI_Comm>;
}

/// One process, no MPI.
#[derive(Debug, Default, Clone, Copy)]
pub struct SerialCommunicator;

impl Communicator for SerialCommunicator {
    fn rank(&self) -> u32 {
        0
    }
    fn size(&self) -> u32 {
        1
    }
    fn ranks_on_node(&self) -> u32 {
        1
    }
    fn barrier(&self) {}
    fn all_gather_u64(&self, values: &[u64]) -> Vec<Vec<u64>> {
        vec![values.to_vec()]
    }
    fn broadcast_bytes(&self, bytes: Vec<u8>) -> Vec<u8> {
        bytes
    }
    #[cfg(feature = "mpi")]
    fn mpi_comm(&self) -> Option<mpi::ffi::MPI_Comm> {
        None
    }
}

/// `MPI_COMM_WORLD`. MPI is initialised when this is created and finalised when it is dropped;
/// a process can do this only once.
#[cfg(feature = "mpi")]
pub struct MpiCommunicator {
    // Field order matters: communicators are freed before the universe finalises MPI.
    world: mpi::topology::SimpleCommunicator,
    ranks_on_node: u32,
    _universe: mpi::environment::Universe,
}

#[cfg(feature = "mpi")]
impl MpiCommunicator {
    /// Initialises MPI (funneled threading: only the main thread calls MPI). `None` if MPI was
    /// already initialised in this process.
    pub fn init() -> Option<Self> {
        use mpi::topology::Communicator as _;
        let (universe, _threading) = mpi::initialize_with_threading(mpi::Threading::Funneled)?;
        let world = universe.world();
        let ranks_on_node = world.split_shared(world.rank()).size() as u32;
        Some(Self {
            world,
            ranks_on_node,
            _universe: universe,
        })
    }
}

#[cfg(feature = "mpi")]
impl Communicator for MpiCommunicator {
    fn rank(&self) -> u32 {
        use mpi::topology::Communicator as _;
        self.world.rank() as u32
    }
    fn size(&self) -> u32 {
        use mpi::topology::Communicator as _;
        self.world.size() as u32
    }
    fn ranks_on_node(&self) -> u32 {
        self.ranks_on_node
    }
    fn barrier(&self) {
        use mpi::collective::CommunicatorCollectives as _;
        self.world.barrier();
    }
    fn all_gather_u64(&self, values: &[u64]) -> Vec<Vec<u64>> {
        use mpi::collective::CommunicatorCollectives as _;
        use mpi::datatype::PartitionMut;
        let n = self.size() as usize;
        let mut counts = vec![0i32; n];
        self.world
            .all_gather_into(&(values.len() as i32), &mut counts[..]);
        let displs: Vec<i32> = counts
            .iter()
            .scan(0i32, |acc, &c| {
                let d = *acc;
                *acc += c;
                Some(d)
            })
            .collect();
        let total: usize = counts.iter().map(|&c| c as usize).sum();
        let mut flat = vec![0u64; total];
        {
            let mut part = PartitionMut::new(&mut flat[..], &counts[..], &displs[..]);
            self.world.all_gather_varcount_into(values, &mut part);
        }
        counts
            .iter()
            .zip(&displs)
            .map(|(&c, &d)| flat[d as usize..(d + c) as usize].to_vec())
            .collect()
    }
    fn broadcast_bytes(&self, bytes: Vec<u8>) -> Vec<u8> {
        use mpi::collective::Root as _;
        use mpi::topology::Communicator as _;
        let root = self.world.process_at_rank(0);
        let mut len = bytes.len() as u64;
        root.broadcast_into(&mut len);
        let mut buf = if self.rank() == 0 {
            bytes
        } else {
            vec![0u8; len as usize]
        };
        root.broadcast_into(&mut buf[..]);
        buf
    }
    fn mpi_comm(&self) -> Option<mpi::ffi::MPI_Comm> {
        use mpi::raw::AsRaw as _;
        Some(self.world.as_raw())
    }
}

/// The communicator for this process: MPI when built with it (works without `mpirun` as a
/// one-rank singleton), serial otherwise.
pub fn world() -> Box<dyn Communicator> {
    #[cfg(feature = "mpi")]
    {
        if let Some(c) = MpiCommunicator::init() {
            return Box::new(c);
        }
    }
    Box::new(SerialCommunicator)
}

/// Encodes a float for [`Communicator::all_gather_u64`].
pub fn f64_to_word(x: f64) -> u64 {
    x.to_bits()
}

/// Decodes a float from [`Communicator::all_gather_u64`].
pub fn word_to_f64(w: u64) -> f64 {
    f64::from_bits(w)
}
