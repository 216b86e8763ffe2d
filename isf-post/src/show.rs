//! Text rendering of keys for `isf db ls` / `isf db show`.

use crate::db::{
    self, Activations, ActivationsKind, Binned, Database, DbError, Payload, SpikeTimes, Strings,
    Table, TraceReader, Traces, TrialIndex,
};
use crate::lda::ReducedLdaModel;
use std::io::Write;

fn w(e: std::io::Error) -> DbError {
    DbError::Io {
        path: "<stdout>".into(),
        source: e,
    }
}

/// Lists keys (recursively with `recursive`): key path, kind, creation time, description.
pub fn ls(database: &Database, recursive: bool, out: &mut dyn Write) -> db::Result<()> {
    let keys: Vec<(Vec<String>, db::KeyMeta)> = if recursive {
        database.keys_recursive()?
    } else {
        database
            .keys()?
            .into_iter()
            .map(|k| (vec![k.name], k.meta))
            .collect()
    };
    for (k, m) in keys {
        writeln!(
            out,
            "{:<60} {:<18} {}  {}",
            k.join("/"),
            m.kind,
            m.created_utc,
            m.description
        )
        .map_err(w)?;
    }
    Ok(())
}

/// Shows a key: its metadata and a summary, or with `trial` the data of that trial.
pub fn show(
    database: &Database,
    key: &str,
    trial: Option<&str>,
    out: &mut dyn Write,
) -> db::Result<()> {
    let k = db::parse_key(key)?;
    let (sub, last) = database.resolve(&k)?;
    let meta = sub.meta(&last)?;
    if trial.is_none() {
        let json = serde_json::to_string_pretty(&meta).unwrap_or_default();
        writeln!(out, "{json}").map_err(w)?;
    }
    match meta.kind.as_str() {
        db::KIND_SUB_DB => {
            if trial.is_some() {
                return Err(not_trial(key, &meta.kind));
            }
            for kk in sub.sub_db(&last)?.keys()? {
                writeln!(out, "  {}/{}  ({})", key, kk.name, kk.meta.kind).map_err(w)?;
            }
        }
        db::KIND_MANAGED_FOLDER => {
            if trial.is_some() {
                return Err(not_trial(key, &meta.kind));
            }
            let dir = sub.managed_folder(&last)?;
            let mut names: Vec<String> = std::fs::read_dir(&dir)
                .map_err(db::io_err(&dir))?
                .flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect();
            names.sort();
            for n in names {
                writeln!(out, "  {}", dir.join(n).display()).map_err(w)?;
            }
        }
        Traces::KIND => {
            let (_, f, _) = database.open_value(&k, Some(Traces::KIND))?;
            let r = TraceReader::open(f, key)?;
            match trial {
                Some(t) => {
                    let v = r.trial(t)?;
                    writeln!(out, "t_ms\tvm_mV").map_err(w)?;
                    for (t, v) in r.t_ms.iter().zip(v) {
                        writeln!(out, "{t}\t{v}").map_err(w)?;
                    }
                }
                None => writeln!(
                    out,
                    "{} trials × {} samples, t = {} … {} ms",
                    r.index.len(),
                    r.t_ms.len(),
                    r.t_ms.first().copied().unwrap_or(f64::NAN),
                    r.t_ms.last().copied().unwrap_or(f64::NAN)
                )
                .map_err(w)?,
            }
        }
        SpikeTimes::KIND => {
            let st = database.get::<SpikeTimes>(&k)?;
            match trial {
                Some(t) => {
                    let i = TrialIndex::new(st.trial_ids.clone()).row_or_err(t, key)?;
                    writeln!(out, "spike_times_ms\t{:?}", st.row(i)).map_err(w)?;
                    if !st.interpolated_ms.is_empty() {
                        writeln!(out, "interpolated_ms\t{:?}", st.row_interpolated(i))
                            .map_err(w)?;
                    }
                }
                None => writeln!(
                    out,
                    "{} trials, {} spikes (threshold {} mV)",
                    st.trial_ids.len(),
                    st.times_ms.len(),
                    st.threshold_mv
                )
                .map_err(w)?,
            }
        }
        Activations::KIND => {
            let a = database.get::<Activations>(&k)?;
            match trial {
                Some(t) => {
                    let i = TrialIndex::new(a.trial_ids.clone()).row_or_err(t, key)?;
                    for r in a.trial_rows(i) {
                        let times: Vec<String> =
                            a.row_times(r).iter().map(|x| x.to_string()).collect();
                        let pop = &a.populations[a.population_code[r] as usize];
                        if a.kind == ActivationsKind::Synapse {
                            writeln!(
                                out,
                                "{pop}\t{}\t{}\t{}\t{}\t{}\t{}",
                                a.id[r],
                                a.soma_distance_um[r],
                                a.section_id[r],
                                a.section_pt_id[r],
                                a.labels[a.label_code[r] as usize],
                                times.join(",")
                            )
                            .map_err(w)?;
                        } else {
                            writeln!(out, "{pop}\t{}\t{}", a.id[r], times.join(",")).map_err(w)?;
                        }
                    }
                }
                None => writeln!(
                    out,
                    "{} trials, {} rows, {} activations, {} populations",
                    a.trial_ids.len(),
                    a.n_rows(),
                    a.times_ms.len(),
                    a.populations.len()
                )
                .map_err(w)?,
            }
        }
        Binned::KIND => {
            let b = database.get::<Binned>(&k)?;
            match trial {
                Some(t) => {
                    let i = TrialIndex::new(b.trial_ids.clone()).row_or_err(t, key)?;
                    let v: Vec<String> = b.counts.row(i).iter().map(|x| x.to_string()).collect();
                    writeln!(out, "{}", v.join("\t")).map_err(w)?;
                }
                None => writeln!(
                    out,
                    "{} trials × {} bins, {} … {} ms, total {}",
                    b.counts.nrows(),
                    b.counts.ncols(),
                    b.bin_edges_ms.first().copied().unwrap_or(f64::NAN),
                    b.bin_edges_ms.last().copied().unwrap_or(f64::NAN),
                    b.counts.sum()
                )
                .map_err(w)?,
            }
        }
        Table::KIND => {
            let t = database.get::<Table>(&k)?;
            let names: Vec<&str> = t.columns.iter().map(|(n, _)| n.as_str()).collect();
            let rows: Vec<usize> = match trial {
                Some(id) => {
                    let ids = match t.column("sim_trial_index") {
                        Some(db::Column::Str(v)) => v.clone(),
                        _ => return Err(not_trial(key, "table without sim_trial_index")),
                    };
                    vec![TrialIndex::new(ids).row_or_err(id, key)?]
                }
                None => (0..t.n_rows()).collect(),
            };
            writeln!(out, "{}", names.join("\t")).map_err(w)?;
            for r in rows {
                let cells: Vec<String> = t.columns.iter().map(|(_, c)| c.cell(r)).collect();
                writeln!(out, "{}", cells.join("\t")).map_err(w)?;
            }
        }
        Strings::KIND => {
            for v in database.get::<Strings>(&k)?.values {
                writeln!(out, "{v}").map_err(w)?;
            }
        }
        ReducedLdaModel::KIND => {
            let m = database.get::<ReducedLdaModel>(&k)?;
            match trial {
                Some(t) => {
                    let i = TrialIndex::new(m.trial_ids.clone()).row_or_err(t, key)?;
                    writeln!(out, "model\twni\tp_spike\tspike_in_window").map_err(w)?;
                    for (j, p) in m.models.iter().enumerate() {
                        writeln!(
                            out,
                            "{j}\t{}\t{}\t{}",
                            p.wni[i],
                            p.lookup.lookup(p.wni[i]),
                            m.spike[i]
                        )
                        .map_err(w)?;
                    }
                }
                None => {
                    writeln!(out, "score {:.4}, {} trials", m.score, m.trial_ids.len())
                        .map_err(w)?;
                    for (j, p) in m.models.iter().enumerate() {
                        writeln!(
                            out,
                            "model {j}: acc spike {:.3}, acc silent {:.3}, AUC test {:.3}, AUC all {:.3}, table WNI {}…{}",
                            p.acc_spike,
                            p.acc_silent,
                            p.auc_test,
                            p.auc_full,
                            p.lookup.start,
                            p.lookup.start + p.lookup.p.len() as i64 - 1
                        )
                        .map_err(w)?;
                    }
                }
            }
        }
        other => {
            writeln!(
                out,
                "(no viewer for kind `{other}`; read {} with h5py)",
                db::DATA_FILE
            )
            .map_err(w)?;
        }
    }
    Ok(())
}

fn not_trial(key: &str, kind: &str) -> DbError {
    DbError::WrongKind {
        key: key.into(),
        found: kind.into(),
        expected: "a per-trial value for --trial".into(),
    }
}
