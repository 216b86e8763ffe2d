TITLE Hodgkin-Huxley sodium and potassium channels integrated with derivimplicit

COMMENT
A test model of isf (not a published channel): the classic squid-axon rates of Hodgkin and
Huxley (1952), with a Q10 temperature factor, in the style of many ModelDB channels, solved with
METHOD derivimplicit so that NEURON's Newton iteration is exercised.
ENDCOMMENT

NEURON {
	SUFFIX hhdi
	USEION na READ ena WRITE ina
	USEION k READ ek WRITE ik
	RANGE gnabar, gkbar, gna, gk, ina, ik
	GLOBAL minf, hinf, ninf, mtau, htau, ntau
	THREADSAFE
}

UNITS {
	(mA) = (milliamp)
	(mV) = (millivolt)
	(S) = (siemens)
}

PARAMETER {
	gnabar = 0.12 (S/cm2) <0,1e9>
	gkbar = 0.036 (S/cm2) <0,1e9>
}

STATE {
	m h n
}

ASSIGNED {
	v (mV)
	celsius (degC)
	ena (mV)
	ek (mV)
	gna (S/cm2)
	gk (S/cm2)
	ina (mA/cm2)
	ik (mA/cm2)
	minf hinf ninf
	mtau (ms) htau (ms) ntau (ms)
}

BREAKPOINT {
	SOLVE states METHOD derivimplicit
	gna = gnabar*m*m*m*h
	ina = gna*(v - ena)
	gk = gkbar*n*n*n*n
	ik = gk*(v - ek)
}

INITIAL {
	rates(v)
	m = minf
	h = hinf
	n = ninf
}

DERIVATIVE states {
	rates(v)
	m' = (minf - m)/mtau
	h' = (hinf - h)/htau
	n' = (ninf - n)/ntau
}

PROCEDURE rates(v (mV)) {
	LOCAL alpha, beta, sum, q10
	q10 = 3^((celsius - 6.3)/10)
	alpha = 0.1*vtrap(-(v + 40), 10)
	beta = 4*exp(-(v + 65)/18)
	sum = alpha + beta
	mtau = 1/(q10*sum)
	minf = alpha/sum
	alpha = 0.07*exp(-(v + 65)/20)
	beta = 1/(exp(-(v + 35)/10) + 1)
	sum = alpha + beta
	htau = 1/(q10*sum)
	hinf = alpha/sum
	alpha = 0.01*vtrap(-(v + 55), 10)
	beta = 0.125*exp(-(v + 65)/80)
	sum = alpha + beta
	ntau = 1/(q10*sum)
	ninf = alpha/sum
}

FUNCTION vtrap(x, y) {
	if (fabs(x/y) < 1e-6) {
		vtrap = y*(1 - x/y/2)
	} else {
		vtrap = x/(exp(x/y) - 1)
	}
}
