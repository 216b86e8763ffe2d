//! Models in the style of published ModelDB channels (written for this test): a tabulated delayed
//! rectifier with GLOBAL rates, a calcium pool integrated with euler, a three-state KINETIC sodium
//! channel with STEADYSTATE initialisation and a GHK function.

use isf_nmodl::model::{Method, SolveTarget, Visibility};

const KDR: &str = r#"TITLE delayed rectifier written for the isf test
UNITS {
	(mA) = (milliamp)
	(mV) = (millivolt)
	(pS) = (picosiemens)
	(um) = (micron)
}
NEURON {
	SUFFIX kdrt
	USEION k READ ek WRITE ik
	RANGE n, gk, gbar
	RANGE ninf, ntau
	GLOBAL Ra, Rb
	GLOBAL q10, temp, tadj, vmin, vmax
}
PARAMETER {
	gbar = 5   	(pS/um2)
	tha  = 25	(mV)
	qa   = 9	(mV)
	Ra   = 0.02	(/ms)
	Rb   = 0.002	(/ms)
	dt		(ms)
	v 		(mV)
	celsius		(degC)
	temp = 23	(degC)
	q10  = 2.3
	vmin = -120	(mV)
	vmax = 100	(mV)
}
UNITSOFF
ASSIGNED {
	a		(/ms)
	b		(/ms)
	ik 		(mA/cm2)
	gk		(pS/um2)
	ek		(mV)
	ninf
	ntau (ms)
	tadj
}
STATE { n }
INITIAL {
	trates(v)
	n = ninf
}
BREAKPOINT {
        SOLVE states METHOD cnexp
	gk = tadj*gbar*n
	ik = (1e-4) * gk * (v - ek)
}
LOCAL nexp
DERIVATIVE states {
        trates(v)
        n' =  (ninf-n)/ntau
}
PROCEDURE trates(v) {
        TABLE ninf, ntau
	DEPEND  celsius, temp, Ra, Rb, tha, qa
	FROM vmin TO vmax WITH 199
	rates(v)
}
PROCEDURE rates(v) {
        a = Ra * (v - tha) / (1 - exp(-(v - tha)/qa))
        b = -Rb * (v - tha) / (1 - exp((v - tha)/qa))
        tadj = q10^((celsius - temp)/10)
        ntau = 1/tadj/(a+b)
	ninf = a/(a+b)
}
UNITSON
"#;

const CAD: &str = r#"NEURON {
	SUFFIX cadt
	USEION ca READ ica, cai WRITE cai
	RANGE depth, cainf, taur
}
UNITS {
	(molar) = (1/liter)
	(mM)	= (millimolar)
	(um)	= (micron)
	(mA)	= (milliamp)
	(msM)	= (ms mM)
	FARADAY = (faraday) (coulomb)
}
PARAMETER {
	depth	= .1	(um)
	taur	= 200 (ms)
	cainf	= 100e-6(mM)
	cai		(mM)
}
STATE { ca (mM) <1e-5> }
INITIAL { ca = cainf  cai = ca }
ASSIGNED { ica (mA/cm2) drive_channel (mM/ms) }
BREAKPOINT { SOLVE state METHOD euler }
DERIVATIVE state {
	drive_channel =  - (10000) * ica / (2 * FARADAY * depth)
	if (drive_channel <= 0.) { drive_channel = 0.  }
	ca' = drive_channel + (cainf-ca)/taur
	cai = ca
}
"#;

const NA3: &str = r#"NEURON {
	SUFFIX nam
	USEION na READ ena WRITE ina
	RANGE gbar, g
	GLOBAL a1, b1
}
UNITS { (mA) = (milliamp) (mV) = (millivolt) (S) = (siemens) }
PARAMETER { gbar = 0.1 (S/cm2) a1 = 1 (/ms) b1 = 0.5 (/ms) }
ASSIGNED { v (mV) ena (mV) ina (mA/cm2) g (S/cm2) kf (/ms) kb (/ms) }
STATE { C O I }
BREAKPOINT {
	SOLVE kin METHOD sparse
	g = gbar*O
	ina = g*(v - ena)
}
INITIAL { SOLVE kin STEADYSTATE sparse }
KINETIC kin {
	rates(v)
	~ C <-> O (kf, kb)
	~ O <-> I (a1, b1)
	CONSERVE C + O + I = 1
}
PROCEDURE rates(v (mV)) {
	kf = a1*exp(v/20)
	kb = b1*exp(-v/20)
}
FUNCTION efun(z) {
	if (fabs(z) < 1e-4) {
		efun = 1 - z/2
	}else{
		efun = z/(exp(z) - 1)
	}
}
FUNCTION ghk(v(mV), ci(mM), co(mM)) (.001 coul/cm3) {
	LOCAL z, eci, eco
	z = (1e-3)*2*96485*v/(8.315*(celsius+273.15))
	eco = co*efun(z)
	eci = ci*efun(-z)
	ghk = (.001)*2*96485*(eci - eco)
}
"#;

#[test]
fn tabulated_delayed_rectifier() {
    let m = isf_nmodl::analyse_str("kdr.mod", KDR).unwrap_or_else(|e| panic!("{e}"));
    let t = m.callable("trates").unwrap().table.as_ref().unwrap();
    assert_eq!(t.names, ["ninf", "ntau"]);
    assert_eq!(t.depend.len(), 6);
    assert_eq!(t.with, 199);
    assert_eq!(m.var("tadj").unwrap().visibility, Visibility::Global);
    assert_eq!(m.globals_written, ["tadj"]);
    assert_eq!(m.var("ninf").unwrap().visibility, Visibility::Range);
}

#[test]
fn calcium_pool_with_euler() {
    let m = isf_nmodl::analyse_str("cad.mod", CAD).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(m.solves[0].method, Method::Euler);
    let cai = m.var("cai").unwrap();
    assert_eq!(
        cai.visibility,
        Visibility::Hidden,
        "ion variables are per instance"
    );
    assert!(m.globals_written.is_empty());
}

#[test]
fn kinetic_sodium_channel() {
    let m = isf_nmodl::analyse_str("na3.mod", NA3).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(m.solves.len(), 2);
    assert!(m
        .solves
        .iter()
        .all(|s| s.target == SolveTarget::Kinetic && s.method == Method::Sparse));
    assert_eq!(m.callable("ghk").unwrap().params, ["v", "ci", "co"]);
}
