TITLE High-voltage-activated calcium current, DERIVATIVE solved without METHOD

COMMENT
A test model of isf (not a published channel): an HVA-like calcium current with Hay-style rates.
Its SOLVE names no METHOD, which NEURON integrates with derivimplicit.
ENDCOMMENT

NEURON {
	SUFFIX cadi
	USEION ca READ eca WRITE ica
	RANGE gbar, g, ica
}

UNITS {
	(mA) = (milliamp)
	(mV) = (millivolt)
	(S) = (siemens)
}

PARAMETER {
	gbar = 0.001 (S/cm2)
}

STATE { m h }

ASSIGNED {
	v (mV)
	eca (mV)
	ica (mA/cm2)
	g (S/cm2)
	mInf mTau (ms) hInf hTau (ms)
	mAlpha mBeta hAlpha hBeta
}

BREAKPOINT {
	SOLVE states
	g = gbar*m*m*h
	ica = g*(v - eca)
}

INITIAL {
	rates()
	m = mInf
	h = hInf
}

DERIVATIVE states {
	rates()
	m' = (mInf - m)/mTau
	h' = (hInf - h)/hTau
}

PROCEDURE rates() {
	if ((v == -27)) {
		v = v + 0.0001
	}
	mAlpha = (0.055*(-27 - v))/(exp((-27 - v)/3.8) - 1)
	mBeta = (0.94*exp((-75 - v)/17))
	mInf = mAlpha/(mAlpha + mBeta)
	mTau = 1/(mAlpha + mBeta)
	hAlpha = (0.000457*exp((-13 - v)/50))
	hBeta = (0.0065/(exp((-v - 15)/28) + 1))
	hInf = hAlpha/(hAlpha + hBeta)
	hTau = 1/(hAlpha + hBeta)
}
