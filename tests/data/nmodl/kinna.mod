TITLE Five-state sodium channel as a KINETIC scheme, sparse, with CONSERVE

COMMENT
A test model of isf (not a published channel): a Markov sodium channel with three closed
states, an open and an inactivated state (C1 <-> C2 <-> C3 <-> O <-> I1, and C3 <-> I1),
first-order reactions only, so NEURON solves each step with one sparse linear solve. The
occupancies sum to 1 by CONSERVE (NEURON replaces one state's equation by the conservation
law). INITIAL asks for the steady state with SOLVE ... STEADYSTATE sparse (dt = 1e9).
ENDCOMMENT

NEURON {
	SUFFIX kinna
	USEION na READ ena WRITE ina
	RANGE gbar, g, ina
}

UNITS {
	(mA) = (milliamp)
	(mV) = (millivolt)
	(S) = (siemens)
}

PARAMETER {
	gbar = 0.05 (S/cm2)
	kci = 0.01 (/ms)
}

STATE { C1 C2 C3 O I1 }

ASSIGNED {
	v (mV)
	ena (mV)
	ina (mA/cm2)
	g (S/cm2)
	am (/ms) bm (/ms) koi (/ms) kio (/ms)
}

BREAKPOINT {
	SOLVE kin METHOD sparse
	g = gbar*O
	ina = g*(v - ena)
}

INITIAL {
	SOLVE kin STEADYSTATE sparse
}

KINETIC kin {
	rates(v)
	~ C1 <-> C2 (3*am, bm)
	~ C2 <-> C3 (2*am, 2*bm)
	~ C3 <-> O (am, 3*bm)
	~ O <-> I1 (koi, kio)
	~ C3 <-> I1 (kci, kio)
	CONSERVE C1 + C2 + C3 + O + I1 = 1
}

PROCEDURE rates(v (mV)) {
	am = 0.8*exp((v + 40)/12)
	bm = 0.3*exp(-(v + 40)/18)
	koi = 0.6*exp((v + 50)/30)
	kio = 0.004*exp(-(v + 80)/12)
}
