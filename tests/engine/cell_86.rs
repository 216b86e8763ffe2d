//! The example cell 86 against NEURON's own geometry/biophysics table
//! (`reference/neuron-9.0.2/cell/segments.csv`).

use isf::cell::CellTemplate;
use isf::param::CellParams;
use isf::testing::shared_path;
use std::collections::HashMap;

fn close(a: f64, b: f64) -> bool {
    if b == 0.0 {
        a.abs() <= 1e-12
    } else {
        ((a - b) / b).abs() <= 1e-9
    }
}

fn read_reference(path: &std::path::Path) -> (Vec<String>, Vec<HashMap<String, String>>) {
    let mut r = csv::Reader::from_path(path).unwrap();
    let header: Vec<String> = r.headers().unwrap().iter().map(String::from).collect();
    let rows = r
        .records()
        .map(|rec| {
            let rec = rec.unwrap();
            header
                .iter()
                .cloned()
                .zip(rec.iter().map(String::from))
                .collect()
        })
        .collect();
    (header, rows)
}

#[test]
fn cell_86_matches_neuron_segments_table() {
    let (Some(param), Some(reference)) = (
        shared_path("isf-example/86_C2_center.param"),
        shared_path("reference/neuron-9.0.2/cell/segments.csv"),
    ) else {
        return;
    };
    let p = CellParams::read(&param).unwrap();
    let cell = CellTemplate::from_params(&p).unwrap();
    assert_eq!(cell.sections.len(), 170);
    assert_eq!(cell.n_segments(), 1142);
    // Hines order
    assert!(cell
        .cable
        .parent
        .iter()
        .enumerate()
        .all(|(i, &p)| p == usize::MAX || p < i));

    // mechanisms live on segment nodes only, in ascending node order, one value per node
    for m in &cell.mechanisms {
        assert!(m.nodes.windows(2).all(|w| w[0] < w[1]), "{}", m.name);
        assert!(
            m.nodes.iter().all(|&n| cell.cable.area_um2[n] > 0.0),
            "{}",
            m.name
        );
        assert!(
            m.params.values().all(|v| v.len() == m.nodes.len()),
            "{}",
            m.name
        );
    }
    let zero_area = cell.cable.area_um2.iter().filter(|&&a| a == 0.0).count();
    assert_eq!(
        zero_area,
        170 + 1,
        "one 1-end node per section plus the soma root node"
    );
    assert_eq!(cell.cable.len(), 1142 + 171);

    let (header, ref_rows) = read_reference(&reference);
    let table = cell.segments_table();
    assert_eq!(table.rows.len(), ref_rows.len());
    let fixed = [
        "sec_L",
        "parent_x",
        "x",
        "area_um2",
        "diam",
        "ri_Mohm",
        "cm",
        "Ra",
        "soma_dist",
    ];
    let mut worst: HashMap<&str, f64> = HashMap::new();
    for (row, r) in table.rows.iter().zip(&ref_rows) {
        assert_eq!(row.sec_idx.to_string(), r["sec_idx"]);
        assert_eq!(row.seg_idx.to_string(), r["seg_idx"]);
        assert_eq!(
            row.nseg.to_string(),
            r["nseg"],
            "nseg of section {}",
            row.sec_idx
        );
        assert_eq!(row.label, r["label"]);
        assert_eq!(row.parent_sec_idx.to_string(), r["parent_sec_idx"]);
        let ours = [
            row.sec_l,
            row.parent_x,
            row.x,
            row.area_um2,
            row.diam,
            row.ri_mohm,
            row.cm,
            row.ra,
            row.soma_dist,
        ];
        for (name, v) in fixed.iter().zip(ours) {
            let want: f64 = r[*name].parse().unwrap();
            let rel = if want == 0.0 {
                v.abs()
            } else {
                ((v - want) / want).abs()
            };
            let w = worst.entry(name).or_insert(0.0);
            *w = w.max(rel);
            assert!(
                close(v, want),
                "{name} of section {} segment {}: {v} vs NEURON {want}",
                row.sec_idx,
                row.seg_idx
            );
        }
    }
    // every mechanism column of the reference
    let mech_cols: Vec<&String> = header
        .iter()
        .skip_while(|h| h.as_str() != "soma_dist")
        .skip(1)
        .collect();
    assert!(!mech_cols.is_empty());
    for col in mech_cols {
        let j = table
            .mech_columns
            .iter()
            .position(|c| c == col)
            .unwrap_or_else(|| panic!("column {col} missing: {:?}", table.mech_columns));
        for (row, r) in table.rows.iter().zip(&ref_rows) {
            let v = row.mech[j];
            match r[col.as_str()].as_str() {
                "" => assert!(
                    v.is_nan(),
                    "{col} section {}: {v}, NEURON has none",
                    row.sec_idx
                ),
                s => {
                    let want: f64 = s.parse().unwrap();
                    assert!(
                        close(v, want),
                        "{col} of section {} segment {}: {v} vs NEURON {want}",
                        row.sec_idx,
                        row.seg_idx
                    );
                }
            }
        }
    }
    eprintln!("worst relative errors: {worst:?}");
    // summary.json: total area 42957.02993768065 µm²
    let total = cell.total_area_um2();
    assert!(
        ((total - 42957.02993768065) / 42957.02993768065).abs() < 1e-12,
        "{total}"
    );
    assert_eq!(format!("{total:.4}"), "42957.0299");
}

#[test]
fn cell_86_distances_and_recording_site() {
    let Some(param) = shared_path("isf-example/86_C2_center.param") else {
        return;
    };
    let cell = CellTemplate::from_params(&CellParams::read(&param).unwrap()).unwrap();
    // spec Appendix A: distance_to_soma(6, 1.0) = 53.3958 (soma half 11.0809 + L 42.3149)
    let d = cell.distance_to_soma(6, 1.0);
    assert!((d - (cell.sections[0].length_um / 2.0 + cell.sections[6].length_um)).abs() < 1e-9);
    assert!((d - 53.3958).abs() < 1e-4, "{d}");
    // synaptic soma distance excludes the soma
    let s = cell.synaptic_soma_distance(6, 0.5);
    assert!((s - cell.sections[6].length_um * 0.5).abs() < 1e-12);
    assert_eq!(cell.synaptic_soma_distance(0, 0.5), 0.0);
    // the example label of docs/formats.md#recording-sites
    assert_eq!(cell.recording_sites.len(), 1);
    assert_eq!(
        cell.recording_sites[0].label,
        "apical_proximal_distal_rec_sites_ID_000_sec_038_seg_032_x_0.929_somaDist_920.7"
    );
    // soma trace node is soma segment 0; ions: ek -85 on soma, NaN on basal dendrites
    assert_eq!(cell.soma_node, cell.sections[0].first_node);
    assert_eq!(cell.ions.ek_mv[cell.soma_node], -85.0);
    assert!(cell.ions.ek_mv[cell.sections[1].first_node].is_nan());
    assert_eq!(cell.celsius, 34.0);
}

#[test]
fn cell_86_synaptic_soma_distances_match_isf_output() {
    // ISF writes the synaptic soma distance of every active synapse, computed at the synapse's
    // relative position x from the `.syn` file (synapse ID = index within its type).
    let (Some(param), Some(syn), Some(out)) = (
        shared_path("isf-example/86_C2_center.param"),
        shared_path("isf-example/example_embedding_86_C2_center/example_embedding_86_C2_center.syn"),
        shared_path("reference/neuron-9.0.2/network_trial_seed1234/isf_output/simulation_run0000_synapses.csv"),
    ) else {
        return;
    };
    let cell = CellTemplate::from_params(&CellParams::read(&param).unwrap()).unwrap();
    let mut by_type: HashMap<String, Vec<(usize, f64)>> = HashMap::new();
    for line in std::fs::read_to_string(syn).unwrap().lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.len() != 3 || line.starts_with('#') {
            continue;
        }
        by_type
            .entry(f[0].to_string())
            .or_default()
            .push((f[1].parse().unwrap(), f[2].parse().unwrap()));
    }
    let text = std::fs::read_to_string(out).unwrap();
    let mut n = 0;
    let mut worst = 0.0f64;
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let f: Vec<&str> = line.split('\t').collect();
        let want: f64 = f[2].parse().unwrap();
        let id: usize = f[1].parse().unwrap();
        let sec: usize = f[3].parse().unwrap();
        let (syn_sec, x) = by_type[f[0]][id];
        assert_eq!(syn_sec, sec);
        assert_eq!(cell.sections[sec].label, f[5]);
        let got = cell.synaptic_soma_distance(sec, x);
        let err = if want == 0.0 {
            got.abs()
        } else {
            ((got - want) / want).abs()
        };
        worst = worst.max(err);
        n += 1;
    }
    eprintln!("{n} synapses, worst relative soma-distance error {worst:e}");
    assert!(n > 1000);
    assert!(worst <= 1e-12, "{worst}");
}
