TITLE Calcium with two buffers as a KINETIC scheme, sparse, with COMPARTMENT

COMMENT
A test model of isf (not a published model): calcium in a submembrane shell of depth `depth`
(um) with an influx from ica, a pump towards cainf, a buffer B (ca + B <-> CaB) and a
cooperative buffer S that binds two calcium ions (2 ca + S <-> CaS, a stoichiometric power).
The buffers live in a compartment `vbuf` times larger than calcium's, so COMPARTMENT scales
their equations differently; CONSERVE keeps each buffer's total (with the compartment volume,
as NEURON multiplies the conservation row by it). The products of states make the scheme
non-linear, so NEURON iterates its sparse solve.
ENDCOMMENT

NEURON {
	SUFFIX kincabuf
	USEION ca READ ica WRITE cai
	RANGE depth, vbuf, Btot, Stot, drive
}

UNITS {
	(mM) = (milli/liter)
	(um) = (micron)
	(mA) = (milliamp)
	FARADAY = (faraday) (coulombs)
}

PARAMETER {
	depth = 0.1 (um)
	vbuf = 3
	taur = 20 (ms)
	cainf = 5e-5 (mM)
	Btot = 0.05 (mM)
	kon = 100 (/mM-ms)
	koff = 0.1 (/ms)
	Stot = 0.002 (mM)
	kon2 = 1e4
	koff2 = 0.02 (/ms)
}

STATE { cai (mM) B (mM) CaB (mM) S (mM) CaS (mM) }

ASSIGNED {
	ica (mA/cm2)
	drive
}

BREAKPOINT {
	SOLVE kin METHOD sparse
}

INITIAL {
	cai = cainf
	B = Btot*koff/(koff + kon*cainf)
	CaB = Btot - B
	S = Stot
	CaS = 0
}

UNITSOFF
KINETIC kin {
	COMPARTMENT depth {cai}
	COMPARTMENT vbuf*depth {B CaB S CaS}
	drive = -(10000)*ica/(2*FARADAY)
	~ cai << (drive + (cainf - cai)*depth/taur)
	~ cai + B <-> CaB (kon*vbuf*depth, koff*vbuf*depth)
	~ 2 cai + S <-> CaS (kon2*vbuf*depth, koff2*vbuf*depth)
	CONSERVE B + CaB = Btot*vbuf*depth
	CONSERVE S + CaS = Stot*vbuf*depth
}
UNITSON
