TITLE Calcium buffer initialised with STEADYSTATE derivimplicit

COMMENT
A test model of isf (not a published model): a private calcium concentration ca with a
voltage-dependent influx, a pump and a buffer, ca + B <-> CaB (kon, koff) with total buffer
Btot, written as derivatives and integrated with METHOD derivimplicit. INITIAL asks for the
steady state with SOLVE ... STEADYSTATE derivimplicit, which NEURON 9.0.2 runs as one implicit
Euler step with dt = 1e-9 ms (its Newton iteration must converge with residuals scaled by 1e9:
it does for concentrations this small).
ENDCOMMENT

NEURON {
	SUFFIX cabufss
	RANGE ca, cab, influx, Btot
}

UNITS {
	(mM) = (milli/liter)
	(mV) = (millivolt)
}

PARAMETER {
	Btot = 0.01 (mM)
	kon = 100 (/mM-ms)
	koff = 0.1 (/ms)
	ca0 = 5e-5 (mM)
	taup = 50 (ms)
}

STATE { ca (mM) cab (mM) }

ASSIGNED {
	v (mV)
	influx (mM/ms)
}

BREAKPOINT {
	SOLVE states METHOD derivimplicit
}

INITIAL {
	ca = ca0
	cab = Btot*kon*ca0/(kon*ca0 + koff)
	SOLVE states STEADYSTATE derivimplicit
}

DERIVATIVE states {
	influx = 2e-5/(1 + exp(-(v + 20)/10))
	ca' = influx - (ca - ca0)/taup - kon*ca*(Btot - cab) + koff*cab
	cab' = kon*ca*(Btot - cab) - koff*cab
}
