TITLE Calcium pool integrated with forward Euler

COMMENT
A test model of isf (not a published model): a shell calcium pool with a first-order pump, in the
style of Destexhe et al. (1994) pools, whose SOLVE uses METHOD euler. A saturating (Michaelis)
extrusion term makes the equation non-linear in cai.
ENDCOMMENT

NEURON {
	SUFFIX capool
	USEION ca READ ica WRITE cai
	RANGE depth, taur, cainf, kt, kd, drive
}

UNITS {
	(mM) = (milli/liter)
	(um) = (micron)
	(mA) = (milliamp)
	FARADAY = (faraday) (coulombs)
}

PARAMETER {
	depth = 0.1 (um)
	taur = 20 (ms)
	cainf = 1e-4 (mM)
	kt = 1e-4 (mM/ms)
	kd = 1e-3 (mM)
}

STATE { cai (mM) }

ASSIGNED {
	ica (mA/cm2)
	drive (mM/ms)
}

BREAKPOINT {
	SOLVE pool METHOD euler
}

DERIVATIVE pool {
	drive = -(10000)*ica/(2*FARADAY*depth)
	if (drive <= 0) {
		drive = 0
	}
	cai' = drive - kt*cai/(cai + kd) + (cainf - cai)/taur
}
