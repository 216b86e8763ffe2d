TITLE Four-state potassium channel scheme written as derivatives, derivimplicit

COMMENT
A test model of isf (not a published channel): a Markov-type potassium channel, two closed
states, an open and an inactivated state, written as a DERIVATIVE block (as many older ModelDB
models do instead of KINETIC), with a cooperative open-to-inactivated term kc*O*C1 that makes
the equations non-linear. Integrated with METHOD derivimplicit, the equations are coupled, so
the order of NEURON's Newton unknowns (C2, C1, I1, O here) sets the round-off.
ENDCOMMENT

NEURON {
	SUFFIX markovdi
	USEION k READ ek WRITE ik
	RANGE gbar, g, ik
}

UNITS {
	(mA) = (milliamp)
	(mV) = (millivolt)
	(S) = (siemens)
}

PARAMETER {
	gbar = 0.02 (S/cm2)
	kc = 0.5 (/ms)
	ki = 0.02 (/ms)
}

STATE { C1 C2 O I1 }

ASSIGNED {
	v (mV)
	ek (mV)
	ik (mA/cm2)
	g (S/cm2)
	a1 (/ms) b1 (/ms) a2 (/ms) b2 (/ms) kr (/ms)
}

BREAKPOINT {
	SOLVE states METHOD derivimplicit
	g = gbar*O
	ik = g*(v - ek)
}

INITIAL {
	C1 = 1
	C2 = 0
	O = 0
	I1 = 0
}

DERIVATIVE states {
	rates(v)
	C1' = -a1*C1 + b1*C2
	C2' = a1*C1 - b1*C2 - a2*C2 + b2*O
	O' = a2*C2 - b2*O - ki*O + kr*I1 - kc*O*C1
	I1' = ki*O - kr*I1 + kc*O*C1
}

PROCEDURE rates(v (mV)) {
	a1 = 0.1*exp((v + 40)/20)
	b1 = 0.05*exp(-(v + 40)/20)
	a2 = 0.2*exp((v + 30)/15)
	b2 = 0.05*exp(-(v + 30)/30)
	kr = 0.002*exp(-(v + 70)/20)
}
