#!/usr/bin/env python3
"""NEURON 9.0.2 references for isf's own NMODL test models (tests/data/nmodl/*.mod).

Usage:  python scripts/nmodl_oracle.py [OUT_DIR]      (default tests/data/nmodl/reference)

Needs the `neuron==9.0.2` wheel (pip install neuron==9.0.2) with its `nrnivmodl`, gcc and make.
The script compiles every .mod file of tests/data/nmodl/ with nrnivmodl in a temporary folder,
then runs each case below in a fresh Python process (one NEURON instance per file) and writes
OUT_DIR/<case>/<protocol>.csv (every value printed with %.17g) and
OUT_DIR/<case>/_meta/<protocol>.json (the configuration isf's tests replay). Running it again
rewrites the same bytes.

Model and run (the conventions of isf's single-compartment NEURON references): one Section,
nseg 1, L = diam = 20 um, cm 1 uF/cm2, Ra 100 ohm cm, pas g 3e-5 S/cm2 e -90 mV, celsius 34,
dt 0.025 ms, fixed step, secondorder 0, v_init -75 mV; h.finitialize(-75) and then exactly
round(tstop/dt) h.fadvance() calls, every column recorded with Vector.record (row 0 after
finitialize). Protocols: `iclamp` (IClamp at 0.5, delay 10 ms, dur 50 ms, amp 0.3 nA,
tstop 80 ms) and `vclamp` (SEClamp at 0.5, rs 0.001 MOhm, dur1 1e9 ms, amp1 played from a
Vector at the switch times below as discrete events, tstop 80 ms).
"""

import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
MODS = os.path.join(REPO, "tests", "data", "nmodl")

T_SWITCH = [0.0, 10.0, 25.0, 35.0, 50.0, 60.0, 70.0]
V_LEVELS = [-80.0, -40.0, -80.0, -10.0, -80.0, 20.0, -80.0]

# case: (mechanisms with parameters, ions set on the section, recorded mechanism columns,
#        recorded ion columns)
CASES = {
    "hhdi": (
        [["hhdi", {}]],
        {"ena": 50.0, "ek": -77.0},
        ["m_hhdi", "h_hhdi", "n_hhdi", "ina_hhdi", "ik_hhdi", "gna_hhdi", "gk_hhdi"],
        ["ina", "ik"],
    ),
    "markovdi": (
        [["markovdi", {}]],
        {"ek": -85.0},
        ["C1_markovdi", "C2_markovdi", "O_markovdi", "I1_markovdi", "ik_markovdi", "g_markovdi"],
        ["ik"],
    ),
    "cabufss": (
        [["cabufss", {}]],
        {},
        ["ca_cabufss", "cab_cabufss", "influx_cabufss"],
        [],
    ),
    "nlgate": (
        [["nlgate", {}]],
        {"ek": -85.0},
        ["n_nlgate", "ik_nlgate", "g_nlgate", "ninf_nlgate", "ntau_nlgate"],
        ["ik"],
    ),
    "cnprod": (
        [["cnprod", {}]],
        {"ek": -85.0},
        ["n_cnprod", "ik_cnprod", "g_cnprod"],
        ["ik"],
    ),
    "capool": (
        [["cadi", {}], ["capool", {}]],
        {},
        ["m_cadi", "h_cadi", "ica_cadi", "g_cadi", "drive_capool"],
        ["ica", "cai", "eca"],
    ),
    "kinna": (
        [["kinna", {}]],
        {"ena": 50.0},
        ["C1_kinna", "C2_kinna", "C3_kinna", "O_kinna", "I1_kinna", "ina_kinna", "g_kinna"],
        ["ina"],
    ),
    "kincabuf": (
        [["cadi", {"gbar": 0.002}], ["kincabuf", {}]],
        {},
        ["B_kincabuf", "CaB_kincabuf", "S_kincabuf", "CaS_kincabuf", "drive_kincabuf", "ica_cadi"],
        ["ica", "cai", "eca"],
    ),
}


def run_case(libdir, case, protocol, out_dir):
    from neuron import h

    assert h.nrn_load_dll(os.path.join(libdir, "x86_64", "libnrnmech.so"))
    mechs, ions_set, mech_cols, ion_cols = CASES[case]
    sec = h.Section(name="soma")
    sec.nseg = 1
    sec.L = 20.0
    sec.diam = 20.0
    sec.cm = 1.0
    sec.Ra = 100.0
    sec.insert("pas")
    sec.g_pas = 3e-5
    sec.e_pas = -90.0
    for name, params in mechs:
        sec.insert(name)
        for k, x in params.items():
            setattr(sec(0.5), f"{k}_{name}", x)
    for k, x in ions_set.items():
        setattr(sec, k, x)
    h.celsius = 34.0
    h.dt = 0.025
    h.secondorder = 0
    tstop = 80.0
    nsteps = int(round(tstop / h.dt))
    seg = sec(0.5)
    meta = {
        "file": f"{protocol}.csv",
        "folder": case,
        "stim": None,
    }
    if protocol == "iclamp":
        stim = h.IClamp(seg)
        stim.delay, stim.dur, stim.amp = 10.0, 50.0, 0.3
        meta["stim"] = "IClamp"
        meta["iclamp"] = {"delay": 10.0, "dur": 50.0, "amp": 0.3}
        stim_cols = [("iclamp_i", stim._ref_i)]
    else:
        stim = h.SEClamp(seg)
        stim.rs, stim.dur1, stim.amp1 = 0.001, 1e9, V_LEVELS[0]
        levels, times = h.Vector(V_LEVELS), h.Vector(T_SWITCH)
        levels.play(stim._ref_amp1, times)
        meta["stim"] = "SEClamp"
        meta["rs_MOhm"] = 0.001
        meta["dur1"] = 1e9
        meta["t_switch_ms"] = T_SWITCH
        meta["v_levels_mV"] = V_LEVELS
        meta["play"] = "Vector(levels).play(SEClamp._ref_amp1, Vector(t_switch)) (discrete events)"
        stim_cols = [("seclamp_i", stim._ref_i), ("seclamp_vc", stim._ref_vc)]
    cols = [("t", h._ref_t), ("v", seg._ref_v)]
    for c in mech_cols:
        cols.append((c, getattr(seg, f"_ref_{c}")))
    for c in ion_cols:
        cols.append((c, getattr(seg, f"_ref_{c}")))
    cols.append(("i_pas", seg._ref_i_pas))
    cols += stim_cols
    vecs = []
    for _, ref in cols:
        vec = h.Vector()
        vec.record(ref)
        vecs.append(vec)
    h.finitialize(-75.0)
    for _ in range(nsteps):
        h.fadvance()
    data = [list(vec) for vec in vecs]
    rows = len(data[0])
    assert all(len(d) == rows for d in data) and rows == nsteps + 1
    os.makedirs(os.path.join(out_dir, "_meta"), exist_ok=True)
    with open(os.path.join(out_dir, f"{protocol}.csv"), "w") as f:
        f.write(",".join(n for n, _ in cols) + "\n")
        for r in range(rows):
            f.write(",".join("%.17g" % d[r] for d in data) + "\n")
    v = data[1]
    meta.update(
        {
            "columns": [n for n, _ in cols],
            "rows": rows,
            "dt": 0.025,
            "tstop": tstop,
            "nsteps": nsteps,
            "v_init": -75.0,
            "celsius": 34.0,
            "secondorder": 0,
            "cvode": 0,
            "geometry": {
                "nseg": 1,
                "L": 20.0,
                "diam": 20.0,
                "cm": 1.0,
                "Ra": 100.0,
                "area_um2": seg.area(),
            },
            "pas": {"g_pas": 3e-05, "e_pas": -90.0},
            "mechanisms": mechs,
            "ions_set": ions_set,
            "summary": {
                "vmin": min(v),
                "vmax": max(v),
                "any_nan": any(x != x for d in data for x in d),
            },
            "env": {
                "neuron_version": h.nrnversion(),
                "python": platform.python_version(),
            },
        }
    )
    with open(os.path.join(out_dir, "_meta", f"{protocol}.json"), "w") as f:
        json.dump(meta, f, indent=1, sort_keys=False)
        f.write("\n")


def main():
    if len(sys.argv) >= 2 and sys.argv[1] == "--run":
        _, _, libdir, case, protocol, out_dir = sys.argv
        run_case(libdir, case, protocol, out_dir)
        return
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(MODS, "reference")
    from neuron import __version__

    assert __version__.startswith("9.0.2"), f"NEURON 9.0.2 needed, found {__version__}"
    nrnivmodl = shutil.which("nrnivmodl") or os.path.join(os.path.dirname(sys.executable), "nrnivmodl")
    with tempfile.TemporaryDirectory(prefix="isf-nmodl-oracle-") as tmp:
        for f in sorted(os.listdir(MODS)):
            if f.endswith(".mod"):
                shutil.copy(os.path.join(MODS, f), tmp)
        log = subprocess.run([nrnivmodl, "."], cwd=tmp, capture_output=True, text=True)
        if log.returncode != 0:
            sys.exit(log.stdout + log.stderr)
        for case in CASES:
            for protocol in ("iclamp", "vclamp"):
                subprocess.run(
                    [sys.executable, __file__, "--run", tmp, case, protocol, os.path.join(out, case)],
                    check=True,
                )
                print(f"{case}/{protocol}.csv")


if __name__ == "__main__":
    main()
