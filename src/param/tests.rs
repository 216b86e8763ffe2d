use std::path::{Path, PathBuf};

use super::*;
use crate::testing::shared_path;

fn parse(text: &str) -> Result<Node, ParamError> {
    ParamFile::parse(text, Path::new("t.param")).map(|f| f.root)
}

fn ok(text: &str) -> Node {
    match parse(text) {
        Ok(n) => n,
        Err(e) => panic!("parse failed: {e}"),
    }
}

fn err(text: &str) -> ParamError {
    match parse(text) {
        Ok(n) => panic!("expected an error for {text:?}, parsed {n:?}"),
        Err(e) => e,
    }
}

fn seq_values(n: &Node) -> Vec<Value> {
    n.as_seq()
        .unwrap()
        .iter()
        .map(|x| x.value.clone())
        .collect()
}

#[test]
fn scalars() {
    let n = ok(
        r#"{"a": 1, "b": -90, "c": 2.5, "d": -0.0000326, "e": 1e3, "f": 1E-5, "g": +4,
                   "h": .5, "i": 5., "j": None, "k": null, "l": True, "m": false, "n": true,
                   "o": False, "p": NaN, "q": Infinity, "r": -Infinity, "s": 0, "t": -0.0}"#,
    );
    let v = |k: &str| n.get(k).unwrap().value.clone();
    assert_eq!(v("a"), Value::Int(1));
    assert_eq!(v("b"), Value::Int(-90));
    assert_eq!(v("c"), Value::Float(2.5));
    assert_eq!(v("d"), Value::Float(-0.0000326));
    assert_eq!(v("e"), Value::Float(1000.0));
    assert_eq!(v("f"), Value::Float(1e-5));
    assert_eq!(v("g"), Value::Int(4));
    assert_eq!(v("h"), Value::Float(0.5));
    assert_eq!(v("i"), Value::Float(5.0));
    assert_eq!(v("j"), Value::Null);
    assert_eq!(v("k"), Value::Null);
    assert_eq!(v("l"), Value::Bool(true));
    assert_eq!(v("m"), Value::Bool(false));
    assert_eq!(v("n"), Value::Bool(true));
    assert_eq!(v("o"), Value::Bool(false));
    assert!(n.get("p").unwrap().as_f64().unwrap().is_nan());
    assert_eq!(v("q"), Value::Float(f64::INFINITY));
    assert_eq!(v("r"), Value::Float(f64::NEG_INFINITY));
    assert_eq!(v("s"), Value::Int(0));
    assert!(matches!(v("t"), Value::Float(x) if x == 0.0 && x.is_sign_negative()));
    // Int and Float stay distinct but both read as numbers.
    assert_eq!(n.get("b").unwrap().as_f64(), Some(-90.0));
    assert_eq!(n.get("c").unwrap().as_i64(), None);
    assert_eq!(n.get("l").unwrap().as_bool(), Some(true));
}

#[test]
fn strings_and_escapes() {
    let n = ok(
        r##"{'single': 'a"b', "double": "it's", "esc": "a\nb\t\\\"\'\/\u00e9\x41\0",
                   "pair": "\ud83d\ude00", "utf8": "µm – ok", "hash": "#not a comment"}"##,
    );
    assert_eq!(n.get("single").unwrap().as_str(), Some("a\"b"));
    assert_eq!(n.get("double").unwrap().as_str(), Some("it's"));
    assert_eq!(
        n.get("esc").unwrap().as_str(),
        Some("a\nb\t\\\"'/\u{e9}A\0")
    );
    assert_eq!(n.get("pair").unwrap().as_str(), Some("\u{1F600}"));
    assert_eq!(n.get("utf8").unwrap().as_str(), Some("µm – ok"));
    assert_eq!(n.get("hash").unwrap().as_str(), Some("#not a comment"));
}

#[test]
fn lists_tuples_nesting_trailing_commas() {
    let n = ok(
        "{\"l\": [1, 2.0, 'x',], \"t\": (1,), \"t2\": (1, 2,), \"one\": (3), \"e\": (),
               \"el\": [], \"nest\": ((0, 1), (1, 2),), \"mixed\": [(0.0, 1.0), [2, (3,)]],
               \"d\": {}, \"dd\": {'a': {'b': [{}],},},}",
    );
    assert_eq!(
        seq_values(n.get("l").unwrap()),
        vec![Value::Int(1), Value::Float(2.0), Value::Str("x".into())]
    );
    assert!(matches!(&n.get("l").unwrap().value, Value::List(_)));
    assert!(matches!(&n.get("t").unwrap().value, Value::Tuple(v) if v.len() == 1));
    assert!(matches!(&n.get("t2").unwrap().value, Value::Tuple(v) if v.len() == 2));
    // ISF turns `(3)` into `[3]`; we keep that meaning.
    assert!(matches!(&n.get("one").unwrap().value, Value::Tuple(v) if v.len() == 1));
    assert_eq!(n.get("e").unwrap().as_seq().unwrap().len(), 0);
    assert_eq!(n.get("el").unwrap().as_seq().unwrap().len(), 0);
    let nest = n.get("nest").unwrap().as_seq().unwrap();
    assert_eq!(seq_values(&nest[1]), vec![Value::Int(1), Value::Int(2)]);
    let mixed = n.get("mixed").unwrap().as_seq().unwrap();
    assert_eq!(
        seq_values(&mixed[0]),
        vec![Value::Float(0.0), Value::Float(1.0)]
    );
    assert!(n.get("d").unwrap().as_dict().unwrap().is_empty());
    let b = n.get("dd").unwrap().get("a").unwrap().get("b").unwrap();
    assert_eq!(b.as_seq().unwrap().len(), 1);
}

#[test]
fn comments_and_whitespace() {
    let n = ok("# header comment\n{ # open\n\t\"a\": 1, # after a value\n  # full line\n  \"b\": [1, # in a list\n 2]\r\n}\n# trailing\n\n");
    assert_eq!(n.get("a").unwrap().as_i64(), Some(1));
    assert_eq!(n.get("b").unwrap().as_seq().unwrap().len(), 2);
    let top = ok("\u{feff}[1]");
    assert_eq!(top.as_seq().unwrap().len(), 1);
}

#[test]
fn key_order_and_duplicates() {
    let n = ok("{\"z\": 1, \"a\": 2, \"m\": 3, \"a\": 4}");
    let keys: Vec<&str> = n.as_dict().unwrap().keys().map(|s| s.as_str()).collect();
    assert_eq!(keys, ["z", "a", "m"]);
    assert_eq!(n.get("a").unwrap().as_i64(), Some(4));
}

#[test]
fn spans_are_one_based_characters() {
    let n = ok("{\n  \"µ\": 1,\n\t\"b\": [7, 8]\n}");
    assert_eq!(n.span, Span { line: 1, col: 1 });
    assert_eq!(n.get("µ").unwrap().span, Span { line: 2, col: 8 });
    let b = n.get("b").unwrap();
    assert_eq!(b.span, Span { line: 3, col: 7 });
    assert_eq!(b.as_seq().unwrap()[1].span, Span { line: 3, col: 11 });
}

#[test]
fn error_truncated_file() {
    let e = err("{\n  \"a\": {\n    \"b\": 1,\n");
    assert!(e.message.contains("unterminated dict"), "{e}");
    assert_eq!((e.line, e.col), (2, 8));
    let e = err("{\"a\": [1, 2");
    assert!(e.message.contains("unterminated list"), "{e}");
    let e = err("{\"a\": ");
    assert!(e.message.contains("end of file"), "{e}");
    let e = err("");
    assert!(e.message.contains("empty"), "{e}");
}

#[test]
fn error_unterminated_string() {
    let e = err("{\n  \"name\": \"abc\n}");
    assert!(e.message.contains("unterminated string"), "{e}");
    assert_eq!((e.line, e.col), (2, 11));
    assert_eq!(e.key.as_deref(), Some("name"));
    let e = err("{\"a\": 'abc");
    assert!(e.message.contains("unterminated string"), "{e}");
    let e = err(r#"{"a": "C:\data"}"#);
    assert!(e.message.contains("unknown escape"), "{e}");
}

#[test]
fn error_bad_numbers() {
    for bad in [
        "1.2.3",
        "12abc",
        "-",
        "1e",
        "1e+",
        "007",
        "--1",
        "-foo",
        "0x10",
        "99999999999999999999",
    ] {
        let e = err(&format!("{{\"sim\": {{\"dt\": {bad}}}}}"));
        assert_eq!(e.key.as_deref(), Some("sim.dt"), "{bad}: {e}");
        assert_eq!((e.line, e.col), (1, 16), "{bad}: {e}");
        assert!(
            e.message.contains("number") || e.message.contains("integer"),
            "{bad}: {e}"
        );
    }
}

#[test]
fn error_syntax_positions_and_display() {
    let text = "{\n  \"sim\": {\n    \"dt\": 0.025\n    \"T\": 34.0,\n  },\n}";
    let e = err(text);
    assert_eq!((e.line, e.col), (4, 5));
    assert_eq!(e.key.as_deref(), Some("sim"));
    let shown = e.to_string();
    assert!(
        shown.starts_with("t.param:4:5: key `sim`: expected `,` or `}` in dict, found `\"`"),
        "{shown}"
    );
    assert!(
        shown.ends_with("  4 |     \"T\": 34.0,\n    |     ^"),
        "{shown}"
    );

    let e = err("{\"a\": 1 2}");
    assert!(e.message.contains("expected `,`"), "{e}");
    let e = err("{a: 1}");
    assert!(e.message.contains("quoted key"), "{e}");
    let e = err("{\"a\" 1}");
    assert!(e.message.contains("expected `:`"), "{e}");
    let e = err("{\"a\": bogus}");
    assert!(e.message.contains("unknown word `bogus`"), "{e}");
    let e = err("{\"a\": 1}}");
    assert!(e.message.contains("after the end"), "{e}");
    let e = err("{\"a\": (1 2)}");
    assert!(e.message.contains("in tuple"), "{e}");
    let e = err("{\"a\": [1,,2]}");
    assert!(e.message.contains("expected a value"), "{e}");
    let e = err(&"[".repeat(100_000));
    assert!(e.message.contains("nesting"), "{e}");
}

#[test]
fn excerpt_of_long_line_is_windowed() {
    let mut text = String::from("[");
    for i in 0..200 {
        text.push_str(&format!("{i}, "));
    }
    text.push_str("oops]");
    let e = err(&text);
    let lines: Vec<&str> = e.excerpt.lines().collect();
    assert_eq!(lines.len(), 2);
    assert!(lines[0].len() < 100, "{}", e.excerpt);
    assert!(lines[0].contains("oops"));
    // The caret sits under the `o` of `oops`.
    let caret = lines[1].find('^').unwrap();
    assert_eq!(&lines[0][caret..caret + 4], "oops");
}

#[test]
fn never_panics_on_garbage() {
    // Every prefix of a tricky text, and byte-level mutations of it.
    let text =
        "{'a': [1, (2, 3.5e-2,), \"x\\u00e9\\n\"], # c\n \"b\": {\"c\": None, \"d\": -Infinity}}";
    for end in 0..=text.len() {
        if text.is_char_boundary(end) {
            let _ = parse(&text[..end]);
        }
    }
    let specials = [
        "\"", "'", "\\", "(", "[", "{", "}", "]", ")", ",", ":", "#", "-", ".", "e", "\n", "µ",
    ];
    for i in 0..text.len() {
        if !text.is_char_boundary(i) {
            continue;
        }
        for s in specials {
            let mut t = text.to_string();
            t.insert_str(i, s);
            let _ = parse(&t);
        }
    }
}

#[test]
fn set_path_and_get_path() {
    let mut f = ParamFile::parse(
        "{\"sim\": {\"dt\": 0.025, \"tStop\": 250.0}}",
        Path::new("x.param"),
    )
    .unwrap();
    f.set_path("sim.tStop", Value::Float(300.0)).unwrap();
    f.set_path("sim.new.deep", Value::Int(1)).unwrap();
    assert_eq!(f.get_path("sim.tStop").unwrap().as_f64(), Some(300.0));
    assert_eq!(f.get_path("sim.new.deep").unwrap().as_i64(), Some(1));
    let keys: Vec<&String> = f
        .root
        .get("sim")
        .unwrap()
        .as_dict()
        .unwrap()
        .keys()
        .collect();
    assert_eq!(keys, ["dt", "tStop", "new"]);
    let e = f.set_path("sim.dt.x", Value::Null).unwrap_err();
    assert!(e.message.contains("`sim.dt` is a float"), "{e}");
}

#[test]
fn json_matches_python_layout() {
    let n = ok(
        "{'a': (1, 2.0), 'b': {}, 'c': [], 'd': {'e': None, 'f': True}, 'g': NaN,
               'h': -Infinity, 'i': 'é\"\\\\\t', 'j': 1e-05, 'k': [[1]]}",
    );
    // Hand-written from Python: json.dumps(obj, indent=4) for the same object.
    let want = "{\n    \"a\": [\n        1,\n        2.0\n    ],\n    \"b\": {},\n    \"c\": [],\n    \"d\": {\n        \"e\": null,\n        \"f\": true\n    },\n    \"g\": NaN,\n    \"h\": -Infinity,\n    \"i\": \"\\u00e9\\\"\\\\\\t\",\n    \"j\": 1e-05,\n    \"k\": [\n        [\n            1\n        ]\n    ]\n}";
    assert_eq!(to_json_pretty(&n), want);
    // What we write parses back to the same tree (tuples become lists).
    let back = ok(&to_json_pretty(&n));
    assert_eq!(to_json_pretty(&back), want);
}

#[test]
fn json_matches_python_json_module() {
    // Compare with Python's own json.dumps(indent=4) of our parse of a sample.
    let text = "{'x': [0.1, 1e16, 1234567890123456.0, -0.0, 5e-324, 'ünï \\u2603 \\ud83d\\ude00'], 'y': {'z': (1,)}}";
    let ours = to_json_pretty(&ok(text));
    let Ok(out) = std::process::Command::new("python3")
        .arg("-c")
        .arg(
            "import json,sys; sys.stdout.write(json.dumps(json.loads(sys.stdin.read()), indent=4))",
        )
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            use std::io::Write;
            c.stdin.take().unwrap().write_all(ours.as_bytes())?;
            c.wait_with_output()
        })
    else {
        eprintln!("notice: python3 not available; skipping the json cross-check");
        return;
    };
    assert!(out.status.success());
    assert_eq!(String::from_utf8(out.stdout).unwrap(), ours);
}

fn example(rel: &str) -> Option<PathBuf> {
    shared_path(&format!("isf-example/{rel}"))
}

#[test]
fn missing_file_is_named() {
    let e = ParamFile::read(Path::new("/nonexistent/dir/cell.param")).unwrap_err();
    let s = e.to_string();
    assert!(
        s.starts_with("/nonexistent/dir/cell.param: cannot read"),
        "{s}"
    );
}

#[test]
fn truncated_prefixes_of_real_file_never_panic() {
    let Some(p) = example("86_C2_center.param") else {
        return;
    };
    let text = std::fs::read_to_string(&p).unwrap();
    let mut errors = 0;
    for end in (0..text.len()).filter(|&i| text.is_char_boundary(i)) {
        match ParamFile::parse(&text[..end], &p) {
            Ok(f) => {
                // Only the complete dict (plus trailing whitespace) parses.
                assert!(
                    text[end..].trim().is_empty(),
                    "prefix of {end} bytes parsed: {:?}",
                    f.root.type_name()
                );
            }
            Err(e) => {
                assert!(e.line >= 1 && e.col >= 1, "{e}");
                errors += 1;
            }
        }
    }
    assert!(errors > 1000);
}

#[test]
fn example_cell_params() {
    let Some(p) = example("86_C2_center.param") else {
        return;
    };
    let c = CellParams::read(&p).unwrap();
    let dir = p.parent().unwrap();
    assert_eq!(c.neuron.filename, dir.join("86_C2_center.hoc"));
    let labels: Vec<&str> = c.neuron.labels.iter().map(|l| l.label.as_str()).collect();
    assert_eq!(
        labels,
        ["Soma", "Dendrite", "ApicalDendrite", "AIS", "Myelin"]
    );
    let soma = c.label("Soma").unwrap();
    assert!(c.label("Axon").is_none());
    assert_eq!(soma.properties.get("Ra"), Some(&100.0));
    assert_eq!(soma.properties.get("cm"), Some(&1.0));
    assert_eq!(soma.ions.get("ek"), Some(&-85.0));
    assert_eq!(soma.ions.get("ena"), Some(&50.0));
    assert!(soma.properties.get("ions").is_none());
    let mechs: Vec<&str> = soma
        .range_mechanisms
        .iter()
        .map(|(n, _)| n.as_str())
        .collect();
    assert_eq!(mechs[..3], ["pas", "Ca_LVAst", "Ca_HVA"]);
    assert_eq!(mechs.len(), 11);
    let pas = &soma.range_mechanisms[0].1;
    assert_eq!(pas.get("e").unwrap().value, Value::Int(-90));
    assert_eq!(pas.get("g").unwrap().as_f64(), Some(0.0000326));
    assert_eq!(c.neuron.labels[1].ions.len(), 0);
    assert_eq!(c.neuron.cell_modify_functions.len(), 1);
    assert_eq!(c.neuron.cell_modify_functions[0].0, "scale_apical_morph_86");
    assert!(c.neuron.discretization.is_none());
    assert!(c.mech_globals.is_empty());
    let s = &c.sim;
    assert_eq!(
        (
            s.vinit_mv,
            s.tstart_ms,
            s.tstop_ms,
            s.dt_ms,
            s.temperature_c
        ),
        (-75.0, 0.0, 250.0, 0.025, 34.0)
    );
    assert_eq!(
        s.recording_sites,
        vec![dir.join("apical_proximal_distal_rec_sites.landmarkAscii")]
    );
}

#[test]
fn example_network_and_activity_params() {
    let Some(p) = example("network.param") else {
        return;
    };
    let n = NetworkParams::read(&p).unwrap();
    let dir = p.parent().unwrap();
    // Hand-counted facts from ISF's example (docs/formats.md#network-parameter-file): 278
    // populations, 183 excitatory + 95 inhibitory.
    assert_eq!(n.populations.len(), 278);
    let gaba = n
        .populations
        .iter()
        .filter(|p| p.synapses.receptors[0].name == "gaba_syn")
        .count();
    assert_eq!(gaba, 95);
    let first = &n.populations[0];
    assert_eq!(first.name, "L45Peak_D1");
    assert_eq!(first.cell_nr, 7);
    assert_eq!(first.synapses.release_prob, ReleaseProb::Fixed(0.25));
    assert_eq!(
        first.synapses.distribution_file,
        dir.join("example_embedding_86_C2_center/example_embedding_86_C2_center.syn")
    );
    let r = &first.synapses.receptors[0];
    assert_eq!(
        (r.threshold, r.delay_ms, r.weight.as_slice()),
        (0.0, 0.0, &[1.0][..])
    );
    assert_eq!(r.parameters.get("e"), Some(&-80.0));
    let second = n.population("L34_D1").unwrap();
    assert_eq!(second.synapses.receptors[0].weight, vec![1.68, 1.68]);
    assert!(first
        .celltype
        .get("pointcell")
        .unwrap()
        .get("intervals")
        .is_some());
    assert!(n.network_modify_functions.is_empty());

    let mut count = 0;
    for sub in ["evoked_activity", "ongoing_activity"] {
        let Some(d) = example(sub) else { return };
        let mut entries: Vec<_> = std::fs::read_dir(d)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        entries.sort();
        for f in entries
            .into_iter()
            .filter(|f| f.extension().is_some_and(|e| e == "param"))
        {
            let pf = ParamFile::read(&f).unwrap_or_else(|e| panic!("{e}"));
            assert!(
                pf.root.as_dict().is_some_and(|d| !d.is_empty()),
                "{}",
                f.display()
            );
            // Ongoing-activity files are templates (no cellNr, no files): only parsed here.
            if sub == "ongoing_activity" {
                let net = pf.root.get("network").unwrap().as_dict().unwrap();
                assert!(net.values().all(|p| p.get("celltype").is_some()));
            }
            count += 1;
        }
    }
    assert!(count > 50, "{count}");
}

#[test]
fn save_matches_isf_copy_byte_for_byte() {
    let Some(p) = example("86_C2_center.param") else {
        return;
    };
    let Some(r) = shared_path("reference/neuron-9.0.2/network_trial_seed1234/isf_output/seed1234_pid30596_neuron_model.param")
    else {
        return;
    };
    let isf_text = std::fs::read_to_string(&r).unwrap();
    let isf = ParamFile::read(&r).unwrap();
    let mut ours = ParamFile::read(&p).unwrap();
    // The simrun call overrides tStop (a Python float); the oracle rewrote the recording-site path.
    ours.set_path("sim.tStop", Value::Float(300.0)).unwrap();
    let sites = isf.get_path("sim.recordingSites").unwrap().value.clone();
    ours.set_path("sim.recordingSites", sites).unwrap();
    assert_eq!(ours.to_json_pretty(), isf_text);

    let Some(np) = example("network.param") else {
        return;
    };
    let Some(nr) = shared_path("reference/neuron-9.0.2/network_trial_seed1234/isf_output/seed1234_pid30596_network_model.param")
    else {
        return;
    };
    let ours = ParamFile::read(&np).unwrap().to_json_pretty();
    assert_eq!(ours, std::fs::read_to_string(&nr).unwrap());
}

fn cell_text(sim: &str) -> String {
    format!(
        "{{\"neuron\": {{\"filename\": \"c.hoc\", \"Soma\": {{\"properties\": {{\"Ra\": 100.0}}}}}},\n \"sim\": {{{sim}}}}}"
    )
}

fn cell_err(sim: &str) -> ParamError {
    let f = ParamFile::parse(&cell_text(sim), Path::new("/m/c.param")).unwrap();
    match CellParams::from_file(f) {
        Ok(_) => panic!("expected an error for sim {sim}"),
        Err(e) => e,
    }
}

#[test]
fn cell_params_errors() {
    let good = "\"Vinit\": -75.0, \"tStop\": 10, \"dt\": 0.025, \"T\": 34";
    let f = ParamFile::parse(&cell_text(good), Path::new("/m/c.param")).unwrap();
    let c = CellParams::from_file(f).unwrap();
    assert_eq!(c.neuron.filename, PathBuf::from("/m/c.hoc"));
    assert_eq!(c.sim.tstop_ms, 10.0);

    let e = cell_err("\"Vinit\": -75.0, \"tStop\": 10, \"dt\": -0.025, \"T\": 34");
    assert_eq!(e.key.as_deref(), Some("sim.dt"));
    // ` "sim": {"Vinit": -75.0, "tStop": 10, "dt": ` is 44 characters.
    assert_eq!((e.line, e.col), (2, 45));
    assert!(
        e.to_string()
            .starts_with("/m/c.param:2:45: key `sim.dt`: must be > 0 ms"),
        "{e}"
    );
    let e = cell_err("\"Vinit\": -75.0, \"tStop\": 10, \"dt\": 0, \"T\": 34");
    assert_eq!(e.key.as_deref(), Some("sim.dt"));
    let e = cell_err("\"Vinit\": NaN, \"tStop\": 10, \"dt\": 0.025, \"T\": 34");
    assert_eq!(e.key.as_deref(), Some("sim.Vinit"));
    assert!(e.message.contains("finite"), "{e}");
    let e = cell_err("\"Vinit\": -75.0, \"tStop\": -1, \"dt\": 0.025, \"T\": 34");
    assert_eq!(e.key.as_deref(), Some("sim.tStop"));
    let e = cell_err("\"Vinit\": -75.0, \"tStop\": 10, \"T\": 34");
    assert_eq!(e.key.as_deref(), Some("sim"));
    assert!(e.message.contains("missing required key `dt`"), "{e}");
    let e = cell_err("\"Vinit\": \"x\", \"tStop\": 10, \"dt\": 0.025, \"T\": 34");
    assert_eq!(e.message, "expected a number, found a string");
    let e = cell_err(
        "\"Vinit\": -75, \"tStop\": 10, \"dt\": 0.025, \"T\": 34, \"recordingSites\": \"a\"",
    );
    assert_eq!(e.key.as_deref(), Some("sim.recordingSites"));

    let f = ParamFile::parse(
        "{\"neuron\": {\"filename\": \"c.hoc\", \"Soma\": {\"properties\": {\"Ra\": \"x\"}}}, \"sim\": {}}",
        Path::new("c.param"),
    )
    .unwrap();
    let e = CellParams::from_file(f).unwrap_err();
    assert_eq!(e.key.as_deref(), Some("neuron.Soma.properties.Ra"));
    assert!(e
        .to_string()
        .contains("key `neuron.Soma.properties.Ra`: expected a number, found a string"));

    let f = ParamFile::parse("{\"neuron\": {}, \"sim\": {}}", Path::new("c.param")).unwrap();
    let e = CellParams::from_file(f).unwrap_err();
    assert!(e.message.contains("`filename`"), "{e}");
    let f = ParamFile::parse("[1]", Path::new("c.param")).unwrap();
    assert!(CellParams::from_file(f)
        .unwrap_err()
        .message
        .contains("expected a dict"));
}

fn net_err(pop: &str) -> ParamError {
    let text = format!("{{\"network\": {{\"L5tt_C2\": {{{pop}}}}}}}");
    let f = ParamFile::parse(&text, Path::new("n.param")).unwrap();
    match NetworkParams::from_file(f) {
        Ok(_) => panic!("expected an error for {pop}"),
        Err(e) => e,
    }
}

#[test]
fn network_params_errors_and_forms() {
    let syn = "\"synapses\": {\"distributionFile\": \"a.syn\", \"connectionFile\": \"/abs/a.con\", \"receptors\": {\"glutamate_syn\": {\"threshold\": 0.0, \"delay\": 0.0, \"weight\": [1.5, 2], \"parameter\": {\"tau1\": 26}, \"weightDistribution\": \"lognormal\"}}}";
    let text = format!(
        "{{\"network\": {{\"A\": {{\"cellNr\": 3, \"celltype\": \"spiketrain\", \"interval\": 10.0, {syn}}}, \"network_modify_functions\": {{\"f\": {{\"x\": 1}}}}}}}}"
    );
    let n = NetworkParams::from_file(ParamFile::parse(&text, Path::new("/d/n.param")).unwrap())
        .unwrap();
    let a = &n.populations[0];
    assert_eq!(a.cell_nr, 3);
    assert_eq!(a.synapses.release_prob, ReleaseProb::Always);
    assert_eq!(a.synapses.distribution_file, PathBuf::from("/d/a.syn"));
    assert_eq!(a.synapses.connection_file, PathBuf::from("/abs/a.con"));
    let r = &a.synapses.receptors[0];
    assert_eq!(r.weight, vec![1.5, 2.0]);
    assert_eq!(r.weight_distribution.as_deref(), Some("lognormal"));
    assert_eq!(n.network_modify_functions[0].0, "f");
    assert_eq!(n.populations.len(), 1);

    let e = net_err(&format!("\"cellNr\": -1, \"celltype\": \"x\", {syn}"));
    assert_eq!(e.key.as_deref(), Some("network.L5tt_C2.cellNr"));
    let e = net_err(&format!("\"cellNr\": 2.0, \"celltype\": \"x\", {syn}"));
    assert!(e.message.contains("expected an integer"), "{e}");
    let e = net_err(&format!("\"celltype\": \"x\", {syn}"));
    assert!(e.message.contains("`cellNr`"), "{e}");
    let e = net_err(&format!(
        "\"cellNr\": 1, \"celltype\": \"x\", {}",
        syn.replace(
            "{\"distributionFile\"",
            "{\"releaseProb\": 1.5, \"distributionFile\""
        )
    ));
    assert_eq!(
        e.key.as_deref(),
        Some("network.L5tt_C2.synapses.releaseProb")
    );
    let dynamic = syn.replace(
        "{\"distributionFile\"",
        "{\"releaseProb\": \"dynamic\", \"distributionFile\"",
    );
    let text =
        format!("{{\"network\": {{\"A\": {{\"cellNr\": 0, \"celltype\": \"x\", {dynamic}}}}}}}");
    let n =
        NetworkParams::from_file(ParamFile::parse(&text, Path::new("n.param")).unwrap()).unwrap();
    assert_eq!(n.populations[0].synapses.release_prob, ReleaseProb::Dynamic);
    let e = net_err(&format!(
        "\"cellNr\": 1, \"celltype\": \"x\", {}",
        syn.replace("[1.5, 2]", "\"w\"")
    ));
    assert_eq!(
        e.key.as_deref(),
        Some("network.L5tt_C2.synapses.receptors.glutamate_syn.weight")
    );
    let e = net_err(&format!(
        "\"cellNr\": 1, \"celltype\": \"x\", {}",
        syn.replace("[1.5, 2]", "[1.5, NaN]")
    ));
    assert_eq!(
        e.key.as_deref(),
        Some("network.L5tt_C2.synapses.receptors.glutamate_syn.weight.1")
    );
}
