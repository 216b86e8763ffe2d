//! A perceptually uniform colour map (viridis) on a value range, with its exact inverse.
//!
//! Values are quantised to [`ColorMap::LEVELS`] colours, so a pixel's colour names one level
//! and [`ColorMap::level_of`] recovers it (to within one level, where neighbouring levels share
//! an 8-bit colour): a reader of a picture (a test, a user's script) gets
//! the value back to within one level, `(vmax − vmin) / (LEVELS − 1)`.

use super::Rgb;

/// The viridis colour map over `[vmin, vmax]`; values outside are clamped to the ends.
#[derive(Debug, Clone)]
pub struct ColorMap {
    /// Value of the first colour.
    pub vmin: f64,
    /// Value of the last colour.
    pub vmax: f64,
    table: Vec<Rgb>,
}

impl ColorMap {
    /// Distinct colours of the map.
    pub const LEVELS: usize = 256;

    /// Viridis over `[vmin, vmax]` (`vmin < vmax`, both finite).
    pub fn viridis(vmin: f64, vmax: f64) -> anyhow::Result<ColorMap> {
        if !(vmin.is_finite() && vmax.is_finite() && vmin < vmax) {
            anyhow::bail!("colour range [{vmin}, {vmax}] must be finite with vmin < vmax");
        }
        let table = (0..Self::LEVELS)
            .map(|i| {
                let c = colorous::VIRIDIS.eval_rational(i, Self::LEVELS);
                [c.r, c.g, c.b]
            })
            .collect();
        Ok(ColorMap { vmin, vmax, table })
    }

    /// The level (0..LEVELS) of value `v`: the nearest level, ends clamped; NaN gives level 0.
    pub fn level(&self, v: f64) -> usize {
        let f = (v - self.vmin) / (self.vmax - self.vmin);
        if f.is_nan() {
            return 0;
        }
        (f.clamp(0.0, 1.0) * (Self::LEVELS - 1) as f64).round() as usize
    }

    /// The colour of value `v`.
    pub fn color(&self, v: f64) -> Rgb {
        self.table[self.level(v)]
    }

    /// The colour of level `i`.
    pub fn level_color(&self, i: usize) -> Rgb {
        self.table[i.min(Self::LEVELS - 1)]
    }

    /// The value at the centre of level `i`.
    pub fn level_value(&self, i: usize) -> f64 {
        self.vmin + (self.vmax - self.vmin) * i as f64 / (Self::LEVELS - 1) as f64
    }

    /// The inverse: the level whose colour `c` is, if it is one of the map's colours. A few
    /// neighbouring levels of viridis round to the same 8-bit colour; the first is returned, so
    /// the inverse is exact to within one level.
    pub fn level_of(&self, c: Rgb) -> Option<usize> {
        self.table.iter().position(|&t| t == c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inverse_recovers_every_level_and_values_round_to_the_nearest() {
        let m = ColorMap::viridis(-75.0, -30.0).unwrap();
        for i in 0..ColorMap::LEVELS {
            let back = m.level_of(m.level_color(i)).unwrap();
            assert!(back.abs_diff(i) <= 1, "level {i} read back as {back}");
            assert_eq!(m.level(m.level_value(i)), i);
        }
        assert_eq!(m.level(-100.0), 0);
        assert_eq!(m.level(20.0), ColorMap::LEVELS - 1);
        assert_eq!(m.level_of([255, 0, 0]), None);
        assert!(ColorMap::viridis(1.0, 1.0).is_err());
    }
}
