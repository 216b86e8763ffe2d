//! Random numbers in compiled programs: the lowered draws evaluated by the executor, against
//! the generators of `mechanisms::random` drawn in NEURON's order.

use super::*;
use crate::mechanisms::ions::Ions;
use crate::mechanisms::random::{Random123, ScopLcg};

/// A block of `n` instances of `program` (parameters at their defaults, then `set`).
fn block(program: Program, n: usize, set: &[(&str, Vec<f64>)]) -> CompiledMechanism {
    let mut params: Vec<Vec<f64>> = program.params.iter().map(|(_, d)| vec![*d; n]).collect();
    for (name, values) in set {
        let k = program
            .params
            .iter()
            .position(|(p, _)| p == name)
            .unwrap_or_else(|| panic!("no parameter {name}: {:?}", program.params));
        params[k] = values.clone();
    }
    let vars: Vec<&'static str> = program.vars.iter().map(|s| leak(s)).collect();
    let name = leak(&program.name);
    let loaded = Loaded::new(program, name, Box::leak(vars.into_boxed_slice()), 1.0);
    CompiledMechanism::new(
        Arc::new(loaded),
        (0..n).collect(),
        params,
        Vec::new(),
        Vec::new(),
    )
}

fn ions(n: usize) -> IonState {
    let ions = Ions {
        ena_mv: vec![50.0; n],
        ek_mv: vec![-85.0; n],
    };
    IonState::initial(&ions, &[], 34.0)
}

fn var(m: &CompiledMechanism, vars: &[f64], name: &str, j: usize) -> f64 {
    let n = m.nodes.len();
    let k = m
        .loaded
        .program
        .vars
        .iter()
        .position(|v| v == name)
        .unwrap();
    vars[k * n + j]
}

const ENV: Env = Env {
    dt: 0.025,
    t: 0.0,
    celsius: 34.0,
    outputs: true,
};

/// The legacy generator is shared by the instances and drawn instance by instance (NEURON's
/// order), also across phases; `set_seed` reseeds it.
#[test]
fn legacy_generator_draws_in_instance_order() {
    let src = "NEURON { SUFFIX lcg RANGE a, b, c }
        PARAMETER { seed = 0 }
        ASSIGNED { a b c }
        INITIAL { if (seed > 0) { set_seed(seed) } a = exprand(2)  b = scop_random() }
        BREAKPOINT { c = normrand(1, 0.5) }";
    let p = compile_str("lcg.mod", src).unwrap();
    assert!(p.uses_scop());
    let n = 70; // more than one block of lanes
    let m = block(p, n, &[("seed", [vec![0.0; 69], vec![99.0]].concat())]);
    let mut ions = ions(n);
    let mut vars = vec![0.0; m.loaded.vars.len() * n];
    let v = vec![-65.0; n];
    m.initialize(&ENV, &v, &mut ions, &mut vars);
    m.advance(&ENV, &v, &mut ions, &mut vars);
    let mut g = ScopLcg::new();
    for j in 0..n {
        if j == 69 {
            g.set_seed(99.0);
        }
        assert_eq!(var(&m, &vars, "a", j), g.exprand(2.0), "instance {j}");
        assert_eq!(var(&m, &vars, "b", j), g.uniform(), "instance {j}");
    }
    for j in 0..n {
        assert_eq!(var(&m, &vars, "c", j), g.normrand(1.0, 0.5), "instance {j}");
    }
    assert_eq!(ions.scop, g);
}

/// A `RANDOM` variable: per-instance ids and position from the parameters, `random_setseq`,
/// the transforms, `random_setids`; the live stream is kept between phases.
#[test]
fn random_variables_are_per_instance_random123_streams() {
    let src = "NEURON { SUFFIX r123 RANGE a, b, c, d, e  RANDOM r }
        ASSIGNED { a b c d e }
        INITIAL { a = random_negexp(r)  random_setseq(r, 9)  b = random_uniform(r, 2, 3)
                  c = random_normal(r, 1, 2)  d = random_uniform(r) }
        BREAKPOINT { random_setids(r, 4, 5, 6)  e = random_ipick(r) }";
    let p = compile_str("r123.mod", src).unwrap();
    assert!(!p.uses_scop());
    assert_eq!(p.streams.len(), 1);
    let n = 3;
    let m = block(
        p,
        n,
        &[
            ("r_id1", vec![11.0, 12.0, 13.0]),
            ("r_id2", vec![22.0; 3]),
            ("r_id3", vec![33.0; 3]),
            ("r_seq", vec![0.0, 1.0, 2.0]),
        ],
    );
    let mut ions = ions(n);
    let mut vars = vec![0.0; m.loaded.vars.len() * n];
    let v = vec![-65.0; n];
    m.initialize(&ENV, &v, &mut ions, &mut vars);
    m.advance(&ENV, &v, &mut ions, &mut vars);
    for j in 0..n {
        let mut s = Random123::new(11 + j as u32, 22, 33);
        s.set_position(j as f64);
        assert_eq!(var(&m, &vars, "a", j), s.negexp());
        s.set_position(9.0);
        assert_eq!(var(&m, &vars, "b", j), s.uniform_in(2.0, 3.0));
        assert_eq!(var(&m, &vars, "c", j), s.normal_with(1.0, 2.0));
        assert_eq!(var(&m, &vars, "d", j), s.uniform());
        s.set_ids(4.0, 5.0, 6.0);
        assert_eq!(var(&m, &vars, "e", j), f64::from(s.next_word()));
        assert_eq!(var(&m, &vars, "r_stream_pos", j), s.position as f64);
        assert_eq!(var(&m, &vars, "r_stream_id1", j), 4.0);
    }
    assert_eq!(ions.scop, ScopLcg::new(), "no legacy draw");
}

/// The Random pointer idiom: with a stream attached, its `negexp(1)` variates; without, one
/// legacy `exprand(1)` drawn and discarded, and 0 (NEURON 9.0.2's uninitialised result).
#[test]
fn random_pointer_idiom_draws_from_the_attached_stream_or_discards() {
    let src = "NEURON { SUFFIX rp  POINTER rng  RANGE x, y }
        ASSIGNED { x y rng }
        VERBATIM
        double nrn_random_pick(void* r);
        void* nrn_random_arg(int argpos);
        ENDVERBATIM
        INITIAL { x = erand()  y = erand() }
        PROCEDURE setRNG() {
        VERBATIM
        { void** pv = (void**)(&_p_rng); if (ifarg(1)) { *pv = nrn_random_arg(1); } else { *pv = (void*)0; } }
        ENDVERBATIM
        }
        FUNCTION erand() {
        VERBATIM
        double value;
        if (_p_rng) { value = nrn_random_pick(_p_rng); return value; } else {
        ENDVERBATIM
        erand = exprand(1)
        VERBATIM
        }
        ENDVERBATIM
        erand = value
        }";
    let p = compile_str("rp.mod", src).unwrap();
    assert!(p.uses_scop());
    let n = 2;
    // Instance 0: hoc's Random(424371) after `.negexp(1)` consumed the first variate; instance
    // 1: no stream.
    let m = block(
        p,
        n,
        &[
            ("rng_attached", vec![1.0, 0.0]),
            ("rng_id1", vec![424_371.0, 0.0]),
            ("rng_id2", vec![55.0, 0.0]),
            ("rng_seq", vec![1.0, 0.0]),
        ],
    );
    let mut ions = ions(n);
    ions.scop.set_seed(12345.0);
    let mut vars = vec![0.0; m.loaded.vars.len() * n];
    let v = vec![-65.0; n];
    m.initialize(&ENV, &v, &mut ions, &mut vars);
    let mut s = Random123::hoc_random(424_371);
    s.negexp();
    assert_eq!(var(&m, &vars, "x", 0), s.negexp());
    assert_eq!(var(&m, &vars, "y", 0), s.negexp());
    assert_eq!(var(&m, &vars, "x", 0), 0.4032154685824776);
    assert_eq!(var(&m, &vars, "x", 1), 0.0);
    assert_eq!(var(&m, &vars, "y", 1), 0.0);
    let mut g = ScopLcg::new();
    g.set_seed(12345.0);
    g.exprand(1.0);
    g.exprand(1.0);
    assert_eq!(ions.scop, g, "two legacy draws, by instance 1 only");
}

/// What cannot be executed is refused with its position.
#[test]
fn refusals_name_the_construct() {
    let e = compile_str(
        "t.mod",
        "NEURON { SUFFIX t RANGE a }\nASSIGNED { a }\nINITIAL { a = f(1) }\n\
         FUNCTION f(x) {\nTABLE FROM 0 TO 1 WITH 10\nf = x*scop_random() }",
    )
    .unwrap_err();
    assert!(e.to_string().contains("TABLE"), "{e}");
    let e = compile_str(
        "p.mod",
        "NEURON { SUFFIX p RANGE a }\nASSIGNED { a }\nINITIAL {\n a = poisrand(2) }",
    )
    .unwrap_err();
    assert!(e.to_string().starts_with("p.mod:4:"), "{e}");
}
