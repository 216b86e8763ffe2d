//! ISF's text result files (docs/formats.md#simulation-output-files): voltage traces, synapse
//! activations and presynaptic spike times. Writers reproduce ISF's bytes exactly (TAB separators,
//! `\n` line ends, numbers as Python `str(float)`, every time followed by `,`); readers turn them
//! back into typed rows (replay reads synapse activation files) with errors naming file and line.

use std::io::{self, Write};
use std::path::Path;

use super::{write_atomic_with, write_py_repr, OutputError};

/// First line of a synapse activation file.
pub const SYNAPSE_ACTIVATION_HEADER: &str = "# synapse type\tsynapse ID\tsoma distance\tsection ID\tsection pt ID\tdendrite label\tactivation times";

/// First line of a presynaptic cells file.
pub const PRESYNAPTIC_CELLS_HEADER: &str = "# presynaptic cell type\tcell ID\tspike times";

/// `simulation_run0007_synapses.csv`
pub fn synapse_activation_file_name(run: usize) -> String {
    format!("simulation_run{run:04}_synapses.csv")
}

/// `simulation_run0007_presynaptic_cells.csv`
pub fn presynaptic_cells_file_name(run: usize) -> String {
    format!("simulation_run{run:04}_presynaptic_cells.csv")
}

/// One active synapse: every release time of one trial.
#[derive(Debug, Clone, PartialEq)]
pub struct SynapseActivationRow {
    /// Presynaptic population (`L5tt_C2`).
    pub population: String,
    /// Index of the synapse within its population (file order of the `.syn` file).
    pub synapse_id: usize,
    pub soma_distance_um: f64,
    pub section_id: usize,
    pub section_pt_id: usize,
    /// Label of the synapse's section (`ApicalDendrite`, …).
    pub dendrite_label: String,
    /// Release times, ascending.
    pub times_ms: Vec<f64>,
}

/// One presynaptic cell that spiked in a trial.
#[derive(Debug, Clone, PartialEq)]
pub struct PresynapticCellRow {
    pub population: String,
    pub cell_id: usize,
    /// Spike times, ascending.
    pub times_ms: Vec<f64>,
}

/// Sorts synapse rows as ISF writes them: population by code points, then synapse ID.
pub fn sort_synapse_rows(rows: &mut [SynapseActivationRow]) {
    rows.sort_by(|a, b| {
        a.population
            .cmp(&b.population)
            .then(a.synapse_id.cmp(&b.synapse_id))
    });
}

/// Sorts presynaptic rows as ISF writes them: population by code points, then cell ID.
pub fn sort_presynaptic_rows(rows: &mut [PresynapticCellRow]) {
    rows.sort_by(|a, b| {
        a.population
            .cmp(&b.population)
            .then(a.cell_id.cmp(&b.cell_id))
    });
}

fn check_field(s: &str, what: &str) -> io::Result<()> {
    if s.is_empty() || s.contains(['\t', '\n', '\r']) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{what} {s:?} is empty or contains a tab or line break"),
        ));
    }
    Ok(())
}

fn push_times(line: &mut String, times_ms: &[f64]) {
    for &t in times_ms {
        write_py_repr(line, t);
        line.push(',');
    }
}

/// Writes a synapse activation file (header, then `rows` in the given order; see
/// [`sort_synapse_rows`]).
pub fn write_synapse_activations(
    w: &mut impl Write,
    rows: &[SynapseActivationRow],
) -> io::Result<()> {
    let mut line = String::with_capacity(256);
    writeln!(w, "{SYNAPSE_ACTIVATION_HEADER}")?;
    for r in rows {
        check_field(&r.population, "population")?;
        check_field(&r.dendrite_label, "dendrite label")?;
        line.clear();
        line.push_str(&r.population);
        line.push('\t');
        line.push_str(&r.synapse_id.to_string());
        line.push('\t');
        write_py_repr(&mut line, r.soma_distance_um);
        line.push('\t');
        line.push_str(&r.section_id.to_string());
        line.push('\t');
        line.push_str(&r.section_pt_id.to_string());
        line.push('\t');
        line.push_str(&r.dendrite_label);
        line.push('\t');
        push_times(&mut line, &r.times_ms);
        line.push('\n');
        w.write_all(line.as_bytes())?;
    }
    Ok(())
}

/// Writes a presynaptic cells file (header, then `rows` in the given order; see
/// [`sort_presynaptic_rows`]).
pub fn write_presynaptic_cells(w: &mut impl Write, rows: &[PresynapticCellRow]) -> io::Result<()> {
    let mut line = String::with_capacity(256);
    writeln!(w, "{PRESYNAPTIC_CELLS_HEADER}")?;
    for r in rows {
        check_field(&r.population, "population")?;
        line.clear();
        line.push_str(&r.population);
        line.push('\t');
        line.push_str(&r.cell_id.to_string());
        line.push('\t');
        push_times(&mut line, &r.times_ms);
        line.push('\n');
        w.write_all(line.as_bytes())?;
    }
    Ok(())
}

/// Writes a synapse activation file atomically.
pub fn write_synapse_activation_file(
    path: &Path,
    rows: &[SynapseActivationRow],
) -> Result<(), OutputError> {
    write_atomic_with(path, |w| write_synapse_activations(w, rows))
}

/// Writes a presynaptic cells file atomically.
pub fn write_presynaptic_cells_file(
    path: &Path,
    rows: &[PresynapticCellRow],
) -> Result<(), OutputError> {
    write_atomic_with(path, |w| write_presynaptic_cells(w, rows))
}

/// The header of a trace file with `n_runs` voltage columns: `t\tVm run 00\tVm run 01…`.
pub fn trace_header(n_runs: usize) -> Vec<String> {
    std::iter::once("t".to_string())
        .chain((0..n_runs).map(|i| format!("Vm run {i:02}")))
        .collect()
}

/// Writes a trace file (`*_vm_all_traces.csv`, `*_vm_dend_traces.csv`): one row per sample,
/// time then one voltage \[mV\] per run. Every run must have one value per time.
pub fn write_traces(w: &mut impl Write, t_ms: &[f64], runs_mv: &[&[f64]]) -> io::Result<()> {
    write_trace_rows(w, &trace_header(runs_mv.len()), t_ms, runs_mv)
}

fn write_trace_rows(
    w: &mut impl Write,
    header: &[String],
    t_ms: &[f64],
    runs_mv: &[&[f64]],
) -> io::Result<()> {
    if let Some(bad) = runs_mv.iter().position(|r| r.len() != t_ms.len()) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "trace of run {bad} has {} samples but there are {} times",
                runs_mv[bad].len(),
                t_ms.len()
            ),
        ));
    }
    writeln!(w, "{}", header.join("\t"))?;
    let mut line = String::with_capacity(24 * (1 + runs_mv.len()));
    for (i, &t) in t_ms.iter().enumerate() {
        line.clear();
        write_py_repr(&mut line, t);
        for run in runs_mv {
            line.push('\t');
            write_py_repr(&mut line, run[i]);
        }
        line.push('\n');
        w.write_all(line.as_bytes())?;
    }
    Ok(())
}

/// Writes a trace file atomically.
pub fn write_trace_file(path: &Path, t_ms: &[f64], runs_mv: &[&[f64]]) -> Result<(), OutputError> {
    write_atomic_with(path, |w| write_traces(w, t_ms, runs_mv))
}

/// Writes a trace file atomically from single-precision runs fetched block by block, so that no
/// more than one block of samples of all runs is in memory: `fill(samples, out)` stores the values
/// of every run at `samples` into `out` (run-major: `out[run * samples.len() + i]`). Each value is
/// widened exactly to f64 and written as Python writes that f64, so reading the file back gives
/// the f32 values exactly.
pub fn write_trace_file_f32_blocks(
    path: &Path,
    t_ms: &[f64],
    n_runs: usize,
    block: usize,
    mut fill: impl FnMut(std::ops::Range<usize>, &mut [f32]) -> io::Result<()>,
) -> Result<(), OutputError> {
    let block = block.max(1);
    write_atomic_with(path, |w| {
        writeln!(w, "{}", trace_header(n_runs).join("\t"))?;
        let mut line = String::with_capacity(24 * (1 + n_runs));
        let mut buf = vec![0f32; n_runs * block.min(t_ms.len())];
        for s0 in (0..t_ms.len()).step_by(block) {
            let s1 = (s0 + block).min(t_ms.len());
            let n = s1 - s0;
            fill(s0..s1, &mut buf[..n_runs * n])?;
            for i in 0..n {
                line.clear();
                write_py_repr(&mut line, t_ms[s0 + i]);
                for run in 0..n_runs {
                    line.push('\t');
                    write_py_repr(&mut line, f64::from(buf[run * n + i]));
                }
                line.push('\n');
                w.write_all(line.as_bytes())?;
            }
        }
        Ok(())
    })
}

/// A trace file read back: the header names and the columns (`t` first).
#[derive(Debug, Clone, PartialEq)]
pub struct TraceTable {
    pub header: Vec<String>,
    /// `columns[0]` is time \[ms\]; the others are voltages \[mV\], one per run.
    pub columns: Vec<Vec<f64>>,
}

impl TraceTable {
    pub fn t_ms(&self) -> &[f64] {
        &self.columns[0]
    }

    /// The voltage columns, one per run.
    pub fn runs_mv(&self) -> &[Vec<f64>] {
        &self.columns[1..]
    }

    pub fn read(path: &Path) -> Result<TraceTable, OutputError> {
        let text = read_text(path)?;
        Self::parse(&text, path)
    }

    /// Parses a trace file; `path` is only used in errors. Times must be finite; voltages may
    /// be `nan` (a diverged run is still data).
    pub fn parse(text: &str, path: &Path) -> Result<TraceTable, OutputError> {
        let mut lines = text.lines().enumerate();
        let Some((_, head)) = lines.next() else {
            return Err(format_error(
                path,
                1,
                "empty trace file (expected a `t\\tVm run 00…` header)",
            ));
        };
        let header: Vec<String> = head.split('\t').map(str::to_string).collect();
        if header.first().map(String::as_str) != Some("t") {
            return Err(format_error(
                path,
                1,
                format!("expected a header starting with `t`, found {head:?}"),
            ));
        }
        let mut columns = vec![Vec::new(); header.len()];
        for (i, line) in lines {
            let lineno = i + 1;
            if line.is_empty() {
                continue;
            }
            let fields: Vec<&str> = line
                .strip_suffix('\r')
                .unwrap_or(line)
                .split('\t')
                .collect();
            if fields.len() != header.len() {
                return Err(format_error(
                    path,
                    lineno,
                    format!(
                        "{} fields, but the header has {}",
                        fields.len(),
                        header.len()
                    ),
                ));
            }
            for (c, field) in fields.iter().enumerate() {
                let x: f64 = field.parse().map_err(|_| {
                    format_error(
                        path,
                        lineno,
                        format!("column {} is not a number: {field:?}", c + 1),
                    )
                })?;
                if c == 0 && !x.is_finite() {
                    return Err(format_error(
                        path,
                        lineno,
                        format!("time is not finite: {field:?}"),
                    ));
                }
                columns[c].push(x);
            }
        }
        Ok(TraceTable { header, columns })
    }

    /// Writes the table in ISF's format (with its own header).
    pub fn write(&self, w: &mut impl Write) -> io::Result<()> {
        let runs: Vec<&[f64]> = self.columns[1..].iter().map(Vec::as_slice).collect();
        write_trace_rows(w, &self.header, &self.columns[0], &runs)
    }
}

fn read_text(path: &Path) -> Result<String, OutputError> {
    crate::text::read_text(path).map_err(|e| match e {
        crate::text::ReadTextError::Io(source) => OutputError::io(path, "cannot read", source),
        e => format_error(path, e.line(), e.to_string()),
    })
}

fn format_error(path: &Path, line: usize, message: impl Into<String>) -> OutputError {
    OutputError::Format {
        file: path.to_path_buf(),
        line,
        message: message.into(),
    }
}

/// Checks what every ISF activation file has: at least its header line, and a line end after
/// the last row (ISF ends every row with `\n`, so a last line without one was cut short, e.g.
/// by a full disk, and its last time may be cut too).
fn check_complete(text: &str, path: &Path, header: &str) -> Result<(), OutputError> {
    if text.trim().is_empty() {
        return Err(format_error(
            path,
            1,
            format!("empty file (ISF's files start with the header `{header}`)"),
        ));
    }
    if !text.ends_with('\n') {
        let n = text.lines().count();
        let last = text.lines().next_back().unwrap_or_default();
        if !last.trim().is_empty() && !last.starts_with('#') && !last.ends_with(',') {
            return Err(format_error(
                path,
                n,
                "the file ends in the middle of this line (no line end and no `,` after the \
                 last time): truncated?",
            ));
        }
    }
    Ok(())
}

/// Data lines of an ISF table: skips blank lines and `#` comments; yields 1-based line numbers.
fn data_lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l.strip_suffix('\r').unwrap_or(l)))
        .filter(|(_, l)| !l.trim().is_empty() && !l.starts_with('#'))
}

fn split_fields<'a>(
    path: &Path,
    lineno: usize,
    line: &'a str,
    names: &[&str],
) -> Result<Vec<&'a str>, OutputError> {
    let fields: Vec<&str> = line.split('\t').collect();
    if fields.len() != names.len() {
        return Err(format_error(
            path,
            lineno,
            format!(
                "expected {} TAB-separated fields ({}), found {}",
                names.len(),
                names.join(", "),
                fields.len()
            ),
        ));
    }
    Ok(fields)
}

fn parse_usize(path: &Path, lineno: usize, field: &str, what: &str) -> Result<usize, OutputError> {
    field.parse().map_err(|_| {
        format_error(
            path,
            lineno,
            format!("{what} is not a non-negative integer: {field:?}"),
        )
    })
}

fn parse_times(path: &Path, lineno: usize, field: &str) -> Result<Vec<f64>, OutputError> {
    let body = field.strip_suffix(',').unwrap_or(field);
    if body.is_empty() {
        return Ok(Vec::new());
    }
    body.split(',')
        .map(|s| {
            let t: f64 = s
                .trim()
                .parse()
                .map_err(|_| format_error(path, lineno, format!("time is not a number: {s:?}")))?;
            if t.is_finite() {
                Ok(t)
            } else {
                Err(format_error(
                    path,
                    lineno,
                    format!("time is not finite: {s:?}"),
                ))
            }
        })
        .collect()
}

const SYNAPSE_FIELDS: &[&str] = &[
    "synapse type",
    "synapse ID",
    "soma distance",
    "section ID",
    "section pt ID",
    "dendrite label",
    "activation times",
];

/// Parses a synapse activation file; `path` is only used in errors.
pub fn parse_synapse_activations(
    text: &str,
    path: &Path,
) -> Result<Vec<SynapseActivationRow>, OutputError> {
    check_complete(text, path, SYNAPSE_ACTIVATION_HEADER)?;
    data_lines(text)
        .map(|(lineno, line)| {
            let f = split_fields(path, lineno, line, SYNAPSE_FIELDS)?;
            let soma_distance_um: f64 = f[2].parse().map_err(|_| {
                format_error(
                    path,
                    lineno,
                    format!("soma distance is not a number: {:?}", f[2]),
                )
            })?;
            if !soma_distance_um.is_finite() {
                return Err(format_error(
                    path,
                    lineno,
                    format!("soma distance is not finite: {:?}", f[2]),
                ));
            }
            Ok(SynapseActivationRow {
                population: f[0].to_string(),
                synapse_id: parse_usize(path, lineno, f[1], "synapse ID")?,
                soma_distance_um,
                section_id: parse_usize(path, lineno, f[3], "section ID")?,
                section_pt_id: parse_usize(path, lineno, f[4], "section pt ID")?,
                dendrite_label: f[5].to_string(),
                times_ms: parse_times(path, lineno, f[6])?,
            })
        })
        .collect()
}

/// Reads a synapse activation file (`simulation_runNNNN_synapses.csv`).
pub fn read_synapse_activation_file(path: &Path) -> Result<Vec<SynapseActivationRow>, OutputError> {
    parse_synapse_activations(&read_text(path)?, path)
}

/// Parses a presynaptic cells file; `path` is only used in errors.
pub fn parse_presynaptic_cells(
    text: &str,
    path: &Path,
) -> Result<Vec<PresynapticCellRow>, OutputError> {
    check_complete(text, path, PRESYNAPTIC_CELLS_HEADER)?;
    data_lines(text)
        .map(|(lineno, line)| {
            let f = split_fields(
                path,
                lineno,
                line,
                &["presynaptic cell type", "cell ID", "spike times"],
            )?;
            Ok(PresynapticCellRow {
                population: f[0].to_string(),
                cell_id: parse_usize(path, lineno, f[1], "cell ID")?,
                times_ms: parse_times(path, lineno, f[2])?,
            })
        })
        .collect()
}

/// Reads a presynaptic cells file (`simulation_runNNNN_presynaptic_cells.csv`).
pub fn read_presynaptic_cells_file(path: &Path) -> Result<Vec<PresynapticCellRow>, OutputError> {
    parse_presynaptic_cells(&read_text(path)?, path)
}

#[cfg(test)]
mod tests;
