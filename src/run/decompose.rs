//! Work decomposition: whole trials are the units. A batch's trials are assigned to ranks by
//! estimated cost (longest-processing-time-first onto the least-loaded rank), which balances cells
//! of different size where round-robin would not. The assignment depends only on the costs, so every
//! rank computes the same one without communication; where a trial runs never changes its result.

/// Assigns `costs[i]` (one per trial of the batch, in trial order) to `n_ranks` ranks; returns the
/// rank of each trial.
pub fn assign_by_cost(costs: &[f64], n_ranks: u32) -> Vec<u32> {
    let n_ranks = n_ranks.max(1) as usize;
    let mut order: Vec<usize> = (0..costs.len()).collect();
    // Costliest first; ties in trial order, so the result is deterministic.
    order.sort_by(|&a, &b| costs[b].total_cmp(&costs[a]).then(a.cmp(&b)));
    let mut load = vec![0.0f64; n_ranks];
    let mut count = vec![0usize; n_ranks];
    let mut owner = vec![0u32; costs.len()];
    for i in order {
        // Least loaded; then fewest trials (equal costs spread evenly); then lowest rank.
        let r = (0..n_ranks)
            .min_by(|&a, &b| {
                load[a]
                    .total_cmp(&load[b])
                    .then(count[a].cmp(&count[b]))
                    .then(a.cmp(&b))
            })
            .unwrap_or(0);
        load[r] += costs[i].max(0.0);
        count[r] += 1;
        owner[i] = r as u32;
    }
    owner
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_costs_spread_evenly() {
        let a = assign_by_cost(&[1.0; 8], 3);
        let per: Vec<usize> = (0..3)
            .map(|r| a.iter().filter(|&&x| x == r).count())
            .collect();
        assert_eq!(per, vec![3, 3, 2]);
    }

    #[test]
    fn one_big_cell_against_many_small_ones() {
        // One trial of cost 6 and six of cost 1 on 2 ranks: LPT puts the big one alone
        // (load 6 vs 6); round-robin would give 9 vs 3.
        let costs = [1.0, 1.0, 1.0, 6.0, 1.0, 1.0, 1.0];
        let a = assign_by_cost(&costs, 2);
        let load = |r| {
            costs
                .iter()
                .zip(&a)
                .filter(|(_, &x)| x == r)
                .map(|(c, _)| c)
                .sum::<f64>()
        };
        assert_eq!((load(0), load(1)), (6.0, 6.0));
    }

    #[test]
    fn single_rank_takes_all() {
        assert_eq!(assign_by_cost(&[3.0, 1.0], 1), vec![0, 0]);
        assert!(assign_by_cost(&[], 4).is_empty());
    }
}
