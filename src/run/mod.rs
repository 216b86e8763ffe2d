//! The run layer: run configs, work decomposition over MPI ranks and rayon threads, the communicator interface (MPI or serial).
