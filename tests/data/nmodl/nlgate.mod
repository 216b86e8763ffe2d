TITLE Potassium channel whose gate equation is not linear in its state

COMMENT
A test model of isf (not a published channel): a delayed-rectifier-like potassium current whose
time constant grows with its own activation, n' = (ninf - n)/(ntau*(1 + kc*n)): the state in a
denominator. NEURON's translator cannot use cnexp for it and integrates the block with
derivimplicit ("Could not translate using cnexp method; using derivimplicit").
ENDCOMMENT

NEURON {
	SUFFIX nlgate
	USEION k READ ek WRITE ik
	RANGE gbar, g, kc, ik
	RANGE ninf, ntau
}

UNITS {
	(mA) = (milliamp)
	(mV) = (millivolt)
	(S) = (siemens)
}

PARAMETER {
	gbar = 0.01 (S/cm2)
	kc = 2
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
	n' = (ninf - n)/(ntau*(1 + kc*n))
}

PROCEDURE settables(v (mV)) {
	ninf = 1/(1 + exp(-(v - vhalf)/slope))
	ntau = tau0/(exp((v - vhalf)/40) + exp(-(v - vhalf)/50)) + 0.5
}
