//! `network-param` builders against ISF's shipped `network.param` (docs/mapper.md#evoked-builder): the evoked builder
//! with the ongoing template, the "model run1" evoked templates, whisker C2 and the example
//! `NumberOfConnectedCells.csv` must reproduce every entry (file paths and the hand-edited
//! `NMODL_mechanisms` aside).

use std::path::Path;

use isf::mapper::network_param::{
    evoked_network, evoked_response_whisker, ongoing_network, read_cell_numbers,
    read_model_run1_templates, NetworkFiles,
};
use isf::param::{to_json_pretty, Node, ParamFile, Value};
use isf::testing::shared_path;

/// Structural equality ignoring spans and list/tuple spelling; `skip` keys are not compared.
fn same(a: &Node, b: &Node, path: &str, skip: &[&str]) -> Result<(), String> {
    match (&a.value, &b.value) {
        (Value::Dict(x), Value::Dict(y)) => {
            let kx: Vec<&String> = x.keys().filter(|k| !skip.contains(&k.as_str())).collect();
            let mut ky: Vec<&String> = y.keys().filter(|k| !skip.contains(&k.as_str())).collect();
            let mut kx2 = kx.clone();
            kx2.sort();
            ky.sort();
            if kx2 != ky {
                return Err(format!("{path}: keys {kx2:?} vs {ky:?}"));
            }
            for k in kx {
                same(&x[k], &y[k], &format!("{path}.{k}"), skip)?;
            }
            Ok(())
        }
        (Value::List(x) | Value::Tuple(x), Value::List(y) | Value::Tuple(y)) => {
            if x.len() != y.len() {
                return Err(format!("{path}: length {} vs {}", x.len(), y.len()));
            }
            for (i, (p, q)) in x.iter().zip(y).enumerate() {
                same(p, q, &format!("{path}[{i}]"), skip)?;
            }
            Ok(())
        }
        (x, y) if x == y => Ok(()),
        (x, y) => Err(format!("{path}: {x:?} vs {y:?}")),
    }
}

#[test]
fn evoked_builder_reproduces_the_shipped_network_param() {
    let Some(ex) = shared_path("isf-example") else {
        return;
    };
    let template =
        ParamFile::read(&ex.join(
            "ongoing_activity/ongoing_activity_celltype_template_exc_conductances_fitted.param",
        ))
        .unwrap();
    let numbers =
        read_cell_numbers(&ex.join("example_embedding_86_C2_center/NumberOfConnectedCells.csv"))
            .unwrap();
    let types: Vec<String> = template
        .root
        .get("network")
        .unwrap()
        .as_dict()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    let (evoked, missing) =
        read_model_run1_templates(&ex.join("evoked_activity"), types.iter()).unwrap();
    assert!(missing.is_empty(), "{missing:?}");
    let files = NetworkFiles {
        syn: "example_embedding_86_C2_center/example_embedding_86_C2_center.syn".into(),
        con: "example_embedding_86_C2_center/example_embedding_86_C2_center.con".into(),
    };
    let root = evoked_network(&template, &evoked, &numbers, &files, "C2", false).unwrap();
    // Through the written text, as a consumer sees it.
    let ours = ParamFile::parse(&to_json_pretty(&root), Path::new("ours.param")).unwrap();
    let shipped = ParamFile::read(&ex.join("network.param")).unwrap();
    let (a, b) = (
        ours.root.get("network").unwrap(),
        shipped.root.get("network").unwrap(),
    );
    assert_eq!(a.as_dict().unwrap().len(), 278);
    same(a, b, "network", &["distributionFile", "connectionFile"]).unwrap();
    same(
        ours.root.get("info").unwrap(),
        shipped.root.get("info").unwrap(),
        "info",
        &[],
    )
    .unwrap();
    // Paths are stored verbatim.
    let l5 = a.get("L5tt_C2").unwrap();
    assert_eq!(
        l5.get("synapses")
            .unwrap()
            .get("connectionFile")
            .unwrap()
            .as_str(),
        Some(files.con.as_str())
    );
    // C2's own column gets the PSTH with the 245 ms offset; E4 (outside C2's 3×3) does not.
    let ct = l5.get("celltype").unwrap();
    assert_eq!(
        ct.get("pointcell").unwrap().get("offset").unwrap().as_f64(),
        Some(245.0)
    );
    // Exactly the columns of C2's 3×3 neighbourhood get PSTHs (B1–D3), all others stay ongoing.
    let mut evoked_cols = std::collections::BTreeSet::new();
    for (k, v) in a.as_dict().unwrap() {
        let col = k.rsplit('_').next().unwrap();
        let ct = v.get("celltype").unwrap();
        if evoked_response_whisker("C2", col).unwrap().is_some() {
            assert!(ct.get("pointcell").is_some(), "{k}");
            evoked_cols.insert(col.to_string());
        } else {
            assert_eq!(ct.as_str(), Some("spiketrain"), "{k}");
        }
    }
    assert_eq!(evoked_cols.len(), 9);

    // The ongoing builder: every entry is the template's entry plus cellNr and paths.
    let ong = ongoing_network(&template, &numbers, &files, false).unwrap();
    let net = ong.get("network").unwrap().as_dict().unwrap();
    assert_eq!(net.len(), 278);
    let t = template.root.get("network").unwrap();
    for (k, v) in net {
        let ty = k.split('_').next().unwrap();
        same(
            v,
            t.get(ty).unwrap(),
            k,
            &["cellNr", "distributionFile", "connectionFile"],
        )
        .unwrap();
        let col = &k[ty.len() + 1..];
        assert_eq!(v.get("cellNr").unwrap().as_i64(), Some(numbers[ty][col]));
    }
    // Unknown whisker: a clear error.
    let e = evoked_network(&template, &evoked, &numbers, &files, "Z9", false).unwrap_err();
    assert!(e.to_string().contains("unknown whisker"), "{e}");
}
