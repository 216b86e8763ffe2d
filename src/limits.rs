//! Documented limits on what an input may ask for. Each is far above any real model and is
//! checked before memory is allocated for it, so a wrong number in a file (a coordinate of 2^32,
//! a `cm` of 4294967295, a dt of 1e-300) gives a clear error instead of gigabytes of allocation.
//! README, "Limits", lists them for users.

/// Largest absolute 3-D coordinate or diameter in a morphology (µm): one metre. Real
/// reconstructions span a few millimetres; anything larger is a unit or file error.
pub const MAX_MORPHOLOGY_UM: f64 = 1e6;

/// Most segments (nseg) of one section: NEURON's own limit (32767).
pub const MAX_NSEG_PER_SECTION: usize = 32_767;

/// Most segments of one cell. A detailed reconstruction discretised at 1 µm has a few 10^4.
pub const MAX_SEGMENTS_PER_CELL: usize = 1_000_000;

/// Longest time step (ms). Longer steps are a unit error (seconds given as ms).
pub const MAX_DT_MS: f64 = 1000.0;

/// Most time steps of one trial (`tstop / dt`): 250 s of biological time at dt = 0.025 ms; one
/// recorded trace of this length takes 80 MB.
pub const MAX_STEPS_PER_TRIAL: f64 = 1e7;

/// Most sweeps of one `isf simulate CELL NETWORK` task (ISF's `nSweeps`).
pub const MAX_SWEEPS: usize = 100_000;

/// Most trace samples a task keeps in memory (sweeps × samples × traces): 2 GiB of f64.
pub const MAX_TASK_TRACE_SAMPLES: f64 = (1u64 << 28) as f64;

/// Most presynaptic cells of one population in a network parameter file (`cellNr`). A barrel
/// cortex column has about 2·10^4 neurons.
pub const MAX_CELLS_PER_POPULATION: i64 = 1_000_000;

/// A number for a message: plain when moderate, in exponent form when huge or tiny (so 1e308
/// is not printed with 309 digits).
pub fn fmt_num(x: f64) -> String {
    if x == 0.0 || !x.is_finite() || (1e-4..1e6).contains(&x.abs()) {
        format!("{x}")
    } else {
        format!("{x:e}")
    }
}

/// Checks a time step against [`MAX_DT_MS`]: finite, positive and at most a second.
pub fn check_dt(dt_ms: f64) -> Result<(), String> {
    if !(dt_ms.is_finite() && dt_ms > 0.0) {
        return Err(format!(
            "dt must be a positive number of ms, got {}",
            fmt_num(dt_ms)
        ));
    }
    if dt_ms > MAX_DT_MS {
        return Err(format!(
            "dt = {} ms is longer than the limit of {MAX_DT_MS} ms (a unit error?)",
            fmt_num(dt_ms)
        ));
    }
    Ok(())
}

/// The number of time steps of a run to `tstop_ms` at `dt_ms`, checked against
/// [`MAX_STEPS_PER_TRIAL`].
pub fn check_steps(tstop_ms: f64, dt_ms: f64) -> Result<usize, String> {
    check_dt(dt_ms)?;
    if !(tstop_ms.is_finite() && tstop_ms >= 0.0) {
        return Err(format!(
            "the stop time must be a non-negative number of ms, got {}",
            fmt_num(tstop_ms)
        ));
    }
    let steps = (tstop_ms / dt_ms).ceil();
    if steps > MAX_STEPS_PER_TRIAL {
        return Err(format!(
            "tstop = {} ms at dt = {} ms is {steps:.3e} time steps, more than the limit of \
             {MAX_STEPS_PER_TRIAL:.0e} per trial",
            fmt_num(tstop_ms),
            fmt_num(dt_ms)
        ));
    }
    Ok(steps as usize)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dt_and_steps() {
        assert!(check_dt(0.025).is_ok());
        for bad in [0.0, -0.025, f64::NAN, f64::INFINITY, 1e308, 1001.0] {
            assert!(check_dt(bad).is_err(), "{bad}");
        }
        assert_eq!(check_steps(345.0, 0.025), Ok(13_800));
        assert!(check_steps(1e12, 0.025).unwrap_err().contains("limit"));
        assert!(check_steps(10.0, 1e-300).unwrap_err().contains("limit"));
        assert!(check_steps(f64::INFINITY, 0.025).is_err());
        assert!(check_dt(1e308).unwrap_err().contains("1e308 ms"));
        assert_eq!(fmt_num(0.025), "0.025");
        assert_eq!(fmt_num(-2147483648.0), "-2.147483648e9");
    }
}
