//! One cell prepared for embedding: the model read, the cell rasterised, and λ computed for every
//! bouton file (docs/mapper.md#algorithm). Realizations ([`super::realize`]) only read this.

use std::path::{Path, PathBuf};

use rayon::prelude::*;

use super::amira::ScalarField;
use super::density::{lambda_field, AxonDensity, CellPst, Normalisation};
use super::grid::{CellGeometry, CellGrid, CellRaster};
use super::model::{list_bouton_files, CellClass, CellClasses, CellCounts, ModelPaths, PstTable};
use super::MapperError;

/// Most synapses one realization may be expected to place on the cell (a real cell receives
/// some 10⁴).
pub const MAX_SYNAPSES_PER_REALIZATION: f64 = 1e6;

/// Most synapses expected over all realizations of a run (all are kept in memory, 20 bytes
/// each).
pub const MAX_SYNAPSES_ALL_REALIZATIONS: f64 = 5e7;

/// At most [`MAX_SYNAPSES_PER_REALIZATION`] (NaN is not).
fn within_limit(expected: f64) -> bool {
    expected <= MAX_SYNAPSES_PER_REALIZATION
}

/// One (column, type) population of presynaptic point cells.
#[derive(Debug, Clone)]
pub struct Block {
    /// Index of the column in the cell-number file.
    pub column: usize,
    /// Index of the cell type in the cell-number file.
    pub cell_type: usize,
    /// Excitatory or inhibitory (`None`: a type of neither list; it has no bouton files).
    pub class: Option<CellClass>,
    /// Presynaptic cells (`nrCells.csv`).
    pub n_cells: u32,
    /// Indices into [`Embedding::densities`] of this folder's bouton files (sorted by name).
    pub files: Vec<u32>,
}

/// The model and the cell, ready for drawing realizations.
#[derive(Debug)]
pub struct Embedding {
    /// The mapped morphology.
    pub cell: CellGeometry,
    /// The morphology on the cell grid.
    pub raster: CellRaster,
    /// The cell's PST fields.
    pub pst: CellPst,
    /// The cell-number table.
    pub counts: CellCounts,
    /// Blocks in ISF's order: column (nrCells header order), then type (row order).
    pub blocks: Vec<Block>,
    /// Per bouton file: its path and sampling form (`None`: no overlap with the cell grid or an
    /// all-zero field — the axon never makes synapses on this cell).
    pub files: Vec<PathBuf>,
    /// Per bouton file (as [`Embedding::files`]), its λ field.
    pub densities: Vec<Option<AxonDensity>>,
    /// Non-fatal findings (ignored files, all-zero fields, …).
    pub warnings: Vec<String>,
    /// Where the PST densities come from (`ConnectionsV8.csv`; named in errors).
    pub pst_source: PathBuf,
}

/// The bouton fields of one (column, type), already in memory (used by benchmarks and tests
/// that generate a model instead of reading one).
pub struct InMemoryModel {
    /// The cell-number table.
    pub counts: CellCounts,
    /// The cell types' classes.
    pub classes: CellClasses,
    /// The excitatory normalisation field.
    pub exc_pst: ScalarField,
    /// The inhibitory normalisation field.
    pub inh_pst: ScalarField,
    /// The PST densities (`ConnectionsV8.csv`).
    pub pst_table: PstTable,
    /// `boutons[column][type]` = that folder's fields.
    pub boutons: Vec<Vec<Vec<ScalarField>>>,
}

impl Embedding {
    /// Reads the model under `paths` and prepares `cell` as postsynaptic type `post_type`.
    pub fn from_model(
        cell: CellGeometry,
        post_type: &str,
        paths: &ModelPaths,
        classes: &CellClasses,
    ) -> Result<Self, MapperError> {
        let counts = CellCounts::read(&paths.nr_cells)?;
        let table = PstTable::read(&paths.connections)?;
        let (exc_rho, inh_rho) = table.for_postsynaptic(post_type, &paths.connections)?;
        let exc = read_pst(&paths.exc_pst)?;
        let inh = read_pst(&paths.inh_pst)?;
        let (files, mut warnings) = list_bouton_files(&paths.boutons, &counts)?;
        let (raster, pst, norm) = prepare_cell(&cell, &exc, &inh, &exc_rho, &inh_rho)
            .map_err(|e| with_field_path(e, &paths.exc_pst))?;
        let blocks = make_blocks(&counts, classes, |c, t| files[c][t].len())?;
        let flat: Vec<(PathBuf, Option<CellClass>)> = blocks
            .iter()
            .filter(|b| !b.files.is_empty())
            .flat_map(|b| {
                files[b.column][b.cell_type]
                    .iter()
                    .map(move |p| (p.clone(), b.class))
            })
            .collect();
        type Loaded = (Option<AxonDensity>, Option<String>);
        let results: Vec<Result<Loaded, MapperError>> = flat
            .par_iter()
            .map(|(path, class)| {
                let field = ScalarField::read(path)?;
                let class = class.expect("blocks with files have a class");
                Ok(match field.cropped_to_nonzero() {
                    None => (
                        None,
                        Some(format!(
                            "{}: all-zero bouton field (this axon makes no synapses)",
                            path.display()
                        )),
                    ),
                    Some(f) => (
                        lambda_field(&f, class, &raster, &pst, &norm)
                            .map(|l| AxonDensity::new(&l, &raster)),
                        None,
                    ),
                })
            })
            .collect();
        let mut densities = Vec::with_capacity(results.len());
        for r in results {
            let (d, w) = r?;
            densities.push(d);
            warnings.extend(w);
        }
        Ok(Embedding {
            cell,
            raster,
            pst,
            counts,
            blocks,
            files: flat.into_iter().map(|(p, _)| p).collect(),
            densities,
            warnings,
            pst_source: paths.connections.clone(),
        })
    }

    /// Prepares `cell` against a model held in memory (no files read).
    pub fn from_memory(
        cell: CellGeometry,
        post_type: &str,
        model: &InMemoryModel,
    ) -> Result<Self, MapperError> {
        let (exc_rho, inh_rho) = model
            .pst_table
            .for_postsynaptic(post_type, Path::new("<memory>"))?;
        let exc = model
            .exc_pst
            .cropped_to_nonzero()
            .ok_or_else(|| MapperError::Model("all-zero excitatory PST field".into()))?;
        let inh = model
            .inh_pst
            .cropped_to_nonzero()
            .ok_or_else(|| MapperError::Model("all-zero inhibitory PST field".into()))?;
        let (raster, pst, norm) = prepare_cell(&cell, &exc, &inh, &exc_rho, &inh_rho)?;
        let blocks = make_blocks(&model.counts, &model.classes, |c, t| {
            model.boutons[c][t].len()
        })?;
        let flat: Vec<(&ScalarField, CellClass)> = blocks
            .iter()
            .filter(|b| !b.files.is_empty())
            .flat_map(|b| {
                model.boutons[b.column][b.cell_type]
                    .iter()
                    .map(move |f| (f, b.class.expect("class")))
            })
            .collect();
        let densities = flat
            .par_iter()
            .map(|(f, class)| {
                f.cropped_to_nonzero().and_then(|f| {
                    lambda_field(&f, *class, &raster, &pst, &norm)
                        .map(|l| AxonDensity::new(&l, &raster))
                })
            })
            .collect::<Vec<_>>();
        Ok(Embedding {
            cell,
            raster,
            pst,
            counts: model.counts.clone(),
            blocks,
            files: vec![PathBuf::from("<memory>"); densities.len()],
            densities,
            warnings: Vec::new(),
            pst_source: PathBuf::from("<memory>"),
        })
    }

    /// Synapse-type label `<type>_<column>` of block `b`.
    pub fn label(&self, b: usize) -> String {
        let blk = &self.blocks[b];
        format!(
            "{}_{}",
            self.counts.types[blk.cell_type], self.counts.columns[blk.column]
        )
    }

    /// Checks, before anything is drawn, that `realizations` realizations stay within
    /// [`MAX_SYNAPSES_PER_REALIZATION`] and [`MAX_SYNAPSES_ALL_REALIZATIONS`] expected synapses
    /// (a bouton field in the wrong units, e.g. 1e20 per voxel, would otherwise make the Poisson
    /// draws ask for more memory than exists).
    pub fn check_limits(&self, realizations: usize) -> Result<(), MapperError> {
        for (d, path) in self.densities.iter().zip(&self.files) {
            if let Some(d) = d {
                if !within_limit(d.total) {
                    return Err(MapperError::file(
                        path,
                        format!(
                            "one axon of this bouton field would make {:e} synapses on {} (limit \
                             {MAX_SYNAPSES_PER_REALIZATION:e}) with the PST densities of {}; are \
                             the values boutons per voxel and the densities per µm and µm²?",
                            d.total,
                            self.cell.name,
                            self.pst_source.display()
                        ),
                    ));
                }
            }
        }
        let total: f64 = (0..self.blocks.len())
            .map(|b| self.expected_synapses(b))
            .sum();
        if !within_limit(total) {
            let worst = (0..self.blocks.len())
                .max_by(|&a, &b| {
                    self.expected_synapses(a)
                        .total_cmp(&self.expected_synapses(b))
                })
                .map(|b| {
                    format!(
                        "; most from `{}` ({:e})",
                        self.label(b),
                        self.expected_synapses(b)
                    )
                })
                .unwrap_or_default();
            return Err(MapperError::Model(format!(
                "the model expects {total:e} synapses on {} per realization, more than the limit \
                 of {MAX_SYNAPSES_PER_REALIZATION:e}{worst}",
                self.cell.name
            )));
        }
        if total * realizations as f64 > MAX_SYNAPSES_ALL_REALIZATIONS {
            return Err(MapperError::Model(format!(
                "{realizations} realizations of about {total:.0} synapses each exceed the limit \
                 of {MAX_SYNAPSES_ALL_REALIZATIONS:e} synapses held in memory; ask for fewer \
                 realizations"
            )));
        }
        Ok(())
    }

    /// Expected synapses of block `b` per realization: nCells · mean over files of Λ_f.
    pub fn expected_synapses(&self, b: usize) -> f64 {
        self.cells_times_mean_over_files(b, |d| d.total)
    }

    /// Expected connected cells of block `b`: nCells · mean over files of 1 − exp(−Λ_f).
    pub fn expected_connected(&self, b: usize) -> f64 {
        self.cells_times_mean_over_files(b, |d| d.connection_probability())
    }

    /// nCells · mean over the files of block `b` of `per_file` (0 for a file without overlap).
    fn cells_times_mean_over_files(&self, b: usize, per_file: impl Fn(&AxonDensity) -> f64) -> f64 {
        let blk = &self.blocks[b];
        if blk.files.is_empty() {
            return 0.0;
        }
        let mean = blk
            .files
            .iter()
            .map(|&f| self.densities[f as usize].as_ref().map_or(0.0, &per_file))
            .sum::<f64>()
            / blk.files.len() as f64;
        blk.n_cells as f64 * mean
    }
}

/// Names the excitatory PST field in a "cell not inside the field" error.
fn with_field_path(e: MapperError, field: &Path) -> MapperError {
    match e {
        MapperError::Morphology { path, message } => MapperError::Morphology {
            path,
            message: format!("{message} of {}", field.display()),
        },
        e => e,
    }
}

fn read_pst(path: &Path) -> Result<ScalarField, MapperError> {
    ScalarField::read(path)?
        .cropped_to_nonzero()
        .ok_or_else(|| MapperError::file(path, "all-zero PST normalisation field"))
}

fn prepare_cell(
    cell: &CellGeometry,
    exc: &ScalarField,
    inh: &ScalarField,
    exc_rho: &super::model::PstDensities,
    inh_rho: &super::model::PstDensities,
) -> Result<(CellRaster, CellPst, Normalisation), MapperError> {
    let grid = CellGrid::for_cell(exc, cell.bounds_um()).map_err(|m| MapperError::Morphology {
        path: PathBuf::from(&cell.name),
        message: m,
    })?;
    let raster = CellRaster::new(cell, grid);
    let pst = CellPst::new(cell, &raster, exc_rho, inh_rho);
    let norm = Normalisation::new(&raster, exc, inh);
    Ok((raster, pst, norm))
}

fn make_blocks(
    counts: &CellCounts,
    classes: &CellClasses,
    n_files: impl Fn(usize, usize) -> usize,
) -> Result<Vec<Block>, MapperError> {
    let mut blocks = Vec::new();
    let mut next = 0u32;
    for c in 0..counts.columns.len() {
        for t in 0..counts.types.len() {
            let n = n_files(c, t);
            let n_cells = counts.count(c, t);
            // A class is needed only when the population can make synapses.
            let class = if n > 0 && n_cells > 0 {
                Some(classes.class_of(&counts.types[t])?)
            } else {
                classes.0.get(&counts.types[t]).copied()
            };
            let files = if class.is_some() {
                (next..next + n as u32).collect()
            } else {
                Vec::new()
            };
            next += files.len() as u32;
            blocks.push(Block {
                column: c,
                cell_type: t,
                class,
                n_cells,
                files,
            });
        }
    }
    Ok(blocks)
}
