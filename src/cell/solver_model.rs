//! The step from a built cell to the solver's model. It belongs to the cell because the solver is
//! a generic engine on a node tree and knows nothing of sections, parameter files or templates.

use super::CellTemplate;
use crate::mechanisms::{Ions, Numerics};
use crate::solver::{CellModel, SimSettings, SolverError};

impl CellTemplate {
    /// The solver model of this cell with its parameter file's time step and the default
    /// numerics: node tree, mechanism placements, ion settings, `celsius` and `v_init`.
    pub fn default_solver_model(&self) -> Result<CellModel, SolverError> {
        self.solver_model(self.dt_ms, Numerics::default())
    }

    /// The solver model of this cell with time step `dt_ms` and the given numerics.
    pub fn solver_model(&self, dt_ms: f64, numerics: Numerics) -> Result<CellModel, SolverError> {
        self.solver_model_batched(dt_ms, numerics, 1)
    }

    /// [`CellTemplate::solver_model`] for `lanes` trials side by side
    /// ([`CellModel::batched`]).
    pub fn solver_model_batched(
        &self,
        dt_ms: f64,
        numerics: Numerics,
        lanes: usize,
    ) -> Result<CellModel, SolverError> {
        if let Some((name, _)) = self
            .ions
            .other
            .iter()
            .find(|(_, v)| v.iter().any(|x| !x.is_nan()))
        {
            return Err(SolverError::BadSetting(format!(
                "ion setting `{name}` is not supported by the engine (only ena and ek are)"
            )));
        }
        let ions = Ions {
            ena_mv: self.ions.ena_mv.clone(),
            ek_mv: self.ions.ek_mv.clone(),
        };
        let settings = SimSettings {
            dt_ms,
            celsius: self.celsius,
            vinit_mv: self.vinit_mv,
            numerics,
        };
        CellModel::batched(&self.cable, &self.mechanisms, ions, settings, lanes)
    }
}
