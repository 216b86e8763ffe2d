//! Making a per-rank outcome collective: every rank learns whether any rank failed, so no rank
//! enters a collective call that another rank will never reach. One routine for the run loop,
//! the sinks and the results writer.

use crate::comm::Communicator;

/// Returns `local` on every rank where it failed; on the others, `Ok` only if no rank failed, else
/// `other_rank(r)` for the first failing rank `r`. Collective: every rank must call it.
pub fn agree<T, E>(
    comm: &dyn Communicator,
    local: Result<T, E>,
    other_rank: impl FnOnce(u32) -> E,
) -> Result<T, E> {
    let flags = comm.all_gather_u64(&[u64::from(local.is_err())]);
    let v = local?;
    match flags.iter().position(|f| f[0] != 0) {
        Some(rank) => Err(other_rank(rank as u32)),
        None => Ok(v),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::comm::SerialCommunicator;

    #[test]
    fn a_single_rank_keeps_its_outcome() {
        let ok: Result<u8, String> = agree(&SerialCommunicator, Ok(3), |r| format!("rank {r}"));
        assert_eq!(ok, Ok(3));
        let err: Result<u8, String> = agree(&SerialCommunicator, Err("mine".into()), |r| {
            format!("rank {r}")
        });
        assert_eq!(err, Err("mine".into()));
    }
}
