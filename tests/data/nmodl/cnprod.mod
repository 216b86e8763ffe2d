TITLE Potassium channel with a cooperative gate: cnexp on an equation with a product of state terms

COMMENT
A test model of isf (not a published channel): a delayed-rectifier-like potassium current whose
activation has a cooperative term, n' = (ninf - n)/ntau + kc*n*(1 - n)*(ninf - n), a product of
terms in n. NEURON 9.0.2's translator still uses cnexp here: it differentiates the right-hand
side in full but drops its state-free part, writing n = n + (1. - exp(dt*(df/dn)))*( - n).
isf reproduces that update.
ENDCOMMENT

NEURON {
	SUFFIX cnprod
	USEION k READ ek WRITE ik
	RANGE gbar, g, kc, ik
}

UNITS {
	(mA) = (milliamp)
	(mV) = (millivolt)
	(S) = (siemens)
}

PARAMETER {
	gbar = 0.01 (S/cm2)
	kc = 0.5 (/ms)
	vhalf = -40 (mV)
	slope = 9 (mV)
	tau0 = 4 (ms)
}

STATE { n }

ASSIGNED {
	v (mV)
	ek (mV)
	ik (mA/cm2)
	g (S/cm2)
	ninf
	ntau (ms)
}

BREAKPOINT {
	SOLVE states METHOD cnexp
	g = gbar*n^2
	ik = g*(v - ek)
}

INITIAL {
	settables(v)
	n = ninf
}

DERIVATIVE states {
	settables(v)
	n' = (ninf - n)/ntau + kc*n*(1 - n)*(ninf - n)
}

PROCEDURE settables(v (mV)) {
	ninf = 1/(1 + exp(-(v - vhalf)/slope))
	ntau = tau0/(exp((v - vhalf)/40) + exp(-(v - vhalf)/50)) + 0.5
}
