"""A notebook's session with isf, as a test: simulate the embedded example model from Python, read
the results file and its database into pandas, check them against the file itself (h5py) and
against ``isf db show``, replay a trial from Python and compare it with ``isf replay``, and run the
READMEs' Python snippets.

The example run is conftest.py's ``run``; the ``isf`` binary that of helpers.py.
"""

import re
import shutil

import h5py
import numpy as np
import pandas as pd
import pytest

import isf

from helpers import CELL, REPO, cli


def test_trials_table_counts_the_committed_trials(run):
    r = run["results"]
    trials = r.trials()
    assert r.complete and len(trials) == 8 == r.n_trials_total
    assert list(trials.index) == [f"{CELL}/{k:06d}" for k in range(8)]
    assert list(trials.columns) == ["trial_id", "cell_id", "seed", "sweep", "n_soma_spikes",
                                    "wall_time_s", "rank"]
    with h5py.File(r.path) as f:
        assert np.array_equal(trials["seed"].to_numpy(), f["trials/seed"][:8])
    spikes = r.spikes()
    assert list(spikes.index) == list(trials.index)
    assert np.array_equal(spikes.notna().sum(axis=1).to_numpy(),
                          trials["n_soma_spikes"].to_numpy())


def test_attributes_provenance_and_parameter_files(run):
    r = run["results"]
    with h5py.File(r.path) as f:
        a = r.attrs()
        assert a["format"] == "isf-results" and a["batch_size"] == 4
        assert a["commit_state"] == [int(x) for x in f.attrs["commit_state"]]
        p = r.provenance()
        assert p["n_threads"] == f["provenance"].attrs["n_threads"]
        assert p["config_text"] == f["provenance/config_text"][()].tobytes().decode()
        assert len(p["files"]) == len(f["provenance/files"]) > 0
        for name in ["neuron_model.param", "network_model.param"]:
            text = r.parameter_file(name)
            assert text == f[f"cells/{CELL}/parameterfiles/{name}"][()].tobytes().decode()
    assert '"network"' in r.parameter_file("network_model.param")


def test_traces_are_the_stored_rows(run):
    r = run["results"]
    soma = r.traces()
    with h5py.File(r.path) as f:
        assert np.array_equal(soma.vm_mV, f[f"cells/{CELL}/soma_vm"][:8])
        assert np.array_equal(soma.t_ms, f[f"cells/{CELL}/t_ms"][()])
        site = r.site_labels()[0]
        s = r.traces(site=site)
        assert np.array_equal(s.vm_mV, f[f"cells/{CELL}/sites/{site}"][:8])
    frame = soma.frame()
    assert frame.shape == soma.vm_mV.shape and frame.index.name == "sim_trial_index"


def test_database_matches_isf_db_show(run):
    db, d = run["db"], run["dir"]
    keys = db.keys()
    for k in ["spike_times", "synapse_activation", "cell_activation", "voltage_traces",
              "metadata", "sim_trial_index"]:
        assert k in keys and k in db
    assert db["sim_trial_index"] == [f"{CELL}/{k:06d}" for k in range(8)]
    spikes, syn, pre = db["spike_times"], db["synapse_activation"], db["cell_activation"]
    vt = db["voltage_traces"]
    for trial in [f"{CELL}/000000", f"{CELL}/000003", f"{CELL}/000007"]:
        out = cli("db", "show", d / "my.db", "spike_times", "--trial", trial)
        line = out.splitlines()[0].split("\t")[1].strip("[]")
        want = [float(x) for x in line.split(", ") if x]
        assert spikes.loc[trial].dropna().tolist() == want
        assert db.show("spike_times", trial) == out

        out = cli("db", "show", d / "my.db", "synapse_activation", "--trial", trial)
        rows = syn.loc[[trial]]
        lines = out.splitlines()
        assert len(lines) == len(rows) > 0
        for line, (_, row) in zip(lines, rows.iterrows()):
            f = line.split("\t")
            assert [row["synapse_type"], row["synapse_ID"], row["soma_distance"],
                    row["section_ID"], row["section_pt_ID"], row["dendrite_label"]] == \
                [f[0], int(f[1]), float(f[2]), int(f[3]), int(f[4]), f[5]]
            assert row.iloc[6:].dropna().tolist() == [float(x) for x in f[6].split(",")]

        out = cli("db", "show", d / "my.db", "cell_activation", "--trial", trial)
        rows = pre.loc[[trial]]
        lines = out.splitlines()
        assert len(lines) == len(rows) > 0
        for line, (_, row) in zip(lines, rows.iterrows()):
            f = line.split("\t")
            assert [row["presynaptic_cell_type"], row["cell_ID"]] == [f[0], int(f[1])]
            assert row.iloc[2:].dropna().tolist() == [float(x) for x in f[2].split(",")]

        out = cli("db", "show", d / "my.db", "voltage_traces", "--trial", trial)
        tv = np.array([[float(x) for x in l.split("\t")] for l in out.splitlines()[1:]])
        assert np.array_equal(vt.columns.to_numpy(), tv[:, 0])
        assert np.array_equal(vt.loc[trial].to_numpy(), tv[:, 1])
    binned = db["synapse_activation_binned", "t1", "EI"]
    assert isinstance(binned, isf.Database) and sorted(binned.keys()) == ["EXC", "INH"]
    exc = db["synapse_activation_binned/t1/EI/EXC"]
    assert exc.shape[0] == 8 and exc.to_numpy().sum() > 0
    out = cli("db", "show", d / "my.db", "synapse_activation_binned/t1/EI/EXC", "--trial",
              f"{CELL}/000005")
    assert exc.loc[f"{CELL}/000005"].tolist() == [float(x) for x in out.split()]
    meta = db["metadata"]
    assert len(meta) == 8
    out = cli("db", "show", d / "my.db", "metadata", "--trial", f"{CELL}/000003").splitlines()
    assert out[0].split("\t") == list(meta.columns)
    assert out[1].split("\t") == [str(v) for v in meta.iloc[3]]


def test_results_and_database_agree(run):
    r, db = run["results"], run["db"]
    pd.testing.assert_frame_equal(r.synapse_activations(), db["synapse_activation"],
                                  check_dtype=False)
    pd.testing.assert_frame_equal(r.presynaptic(), db["cell_activation"], check_dtype=False)
    vt = db["voltage_traces"]
    assert np.array_equal(r.traces().vm_mV.astype(np.float64), vt.to_numpy())
    assert list(vt.index) == r.traces().sim_trial_index


def test_uncommitted_trials_of_a_killed_run_are_not_shown(run, tmp_path):
    """A run killed during its second batch: commit_state counts the first batch only; rows beyond
    it (here: the whole second batch) must not appear."""
    full = run["results"]
    path = tmp_path / "killed.h5"
    shutil.copy(full.path, path)
    with h5py.File(path, "r+") as f:
        g = f[f"cells/{CELL}"]
        words = f.attrs["commit_state"].copy()
        syn, pre = g["synapse_activations"], g["presynaptic_spikes"]
        n_syn = int(syn["trial_count"][:4].sum())
        n_pre = int(pre["trial_count"][:4].sum())
        words[0:8] = [1, 4, 4, n_syn, int(syn["times_count"][:n_syn].sum()), n_pre,
                      int(pre["times_count"][:n_pre].sum()),
                      int((f[f"spikes/{CELL}/node_ids"][()] < 4).sum())]
        f.attrs["commit_state"] = words
    killed = isf.open_results(path)
    assert not killed.complete and killed.committed_trials == 4
    assert list(killed.trials().index) == [f"{CELL}/{k:06d}" for k in range(4)]
    assert killed.traces().vm_mV.shape[0] == 4
    first = [f"{CELL}/{k:06d}" for k in range(4)]
    pd.testing.assert_frame_equal(killed.synapse_activations(),
                                  full.synapse_activations().loc[first].dropna(axis=1, how="all"))
    pd.testing.assert_frame_equal(killed.presynaptic(),
                                  full.presynaptic().loc[first].dropna(axis=1, how="all"))
    pd.testing.assert_frame_equal(killed.spikes(),
                                  full.spikes().loc[first].dropna(axis=1, how="all"))
    killed.close()
    with pytest.raises(isf.IsfError, match="closed"):
        killed.trials()


def read_isf_traces(path):
    t = pd.read_csv(path, sep="\t")
    return t["t"].to_numpy(), t.iloc[:, 1].to_numpy()


def test_replay_from_python_matches_isf_replay(run, tmp_path):
    model = run["dir"] / "model"
    synapses = sorted(run["isf_folder"].glob(f"{CELL}/results/*/simulation_run0002_synapses.csv"))
    assert len(synapses) == 1
    args = [model / "cell.param", model / "network.param", synapses[0]]
    cli("replay", *args, "--out", tmp_path / "cli", "--prefix", "p")
    py = isf.replay(*args)
    t, soma = read_isf_traces(tmp_path / "cli" / "p_vm_all_traces.csv")
    # The CSV holds Python's shortest round-trip text: equal floats mean equal bits.
    assert np.array_equal(py.t_ms, t) and np.array_equal(py.soma_vm_mV, soma)
    assert py.site_vm_mV
    for label, v in py.site_vm_mV.items():
        _, vs = read_isf_traces(tmp_path / "cli" / f"p_{label}_vm_dend_traces.csv")
        assert np.array_equal(v, vs)
    # The replayed trial is the simulated trial 2, stored in f32.
    stored = run["results"].traces().vm_mV[2]
    assert np.allclose(py.soma_vm_mV.astype(np.float32)[:len(stored)], stored, atol=1e-3)
    assert py.frame().shape == (len(t), 1 + len(py.site_vm_mV))


def test_protocol_and_cell_match_the_command_line(run, tmp_path):
    model = run["dir"] / "model"
    proto = tmp_path / "step.toml"
    proto.write_text("tstop = 60.0\n[[iclamp]]\nsection = 0\nx = 0.5\ndelay = 10.0\n"
                     "dur = 40.0\namp = 0.8\n[[record]]\nsection = 0\nx = 0.5\n")
    cli("protocol", model / "cell.param", proto, "--out", tmp_path / "p")
    want = pd.read_csv(tmp_path / "p" / "vm.csv")
    got = isf.protocol(model / "cell.param", proto)
    assert list(got.columns) == list(want.columns[1:])
    assert np.array_equal(got.index.to_numpy(), want["t"].to_numpy())
    assert np.array_equal(got.to_numpy(), want.iloc[:, 1:].to_numpy())

    cell = isf.Cell.from_param(model / "cell.param")
    cli("cell-info", model / "cell.param", "--segments", tmp_path / "seg.csv")
    want = pd.read_csv(tmp_path / "seg.csv")
    seg = cell.segments()
    assert list(seg.columns) == list(want.columns)
    pd.testing.assert_frame_equal(seg, want, check_dtype=False)
    assert cell.summary() == cli("cell-info", model / "cell.param")
    assert cell.recording_sites() == run["results"].site_labels()


def test_sonata_report_reads_with_libsonata(run, tmp_path):
    libsonata = pytest.importorskip("libsonata")
    r = run["results"]
    out = r.to_sonata_report(tmp_path / "report.h5")
    reader = libsonata.ElementReportReader(out)
    assert reader.get_population_names() == [CELL]
    pop = reader[CELL]
    assert pop.get_node_ids() == list(range(8))
    data = pop.get()
    soma = r.traces()
    sites = [r.traces(site=s).vm_mV for s in r.site_labels()]
    assert len(data.times) == soma.vm_mV.shape[1]
    got = np.asarray(data.data)
    per_node = 1 + len(sites)
    for trial in range(8):
        assert np.array_equal(got[:, trial * per_node], soma.vm_mV[trial])
        for k, s in enumerate(sites):
            assert np.array_equal(got[:, trial * per_node + 1 + k], s[trial])
    with pytest.raises(isf.IsfError, match="already exists"):
        r.to_sonata_report(out)


def test_errors_name_the_file(tmp_path):
    bad = tmp_path / "not_results.h5"
    with h5py.File(bad, "w") as f:
        f["x"] = 1
    with pytest.raises(isf.IsfError, match="not_results.h5"):
        isf.open_results(bad)
    with pytest.raises(isf.IsfError, match="missing.param"):
        isf.Cell.from_param(tmp_path / "missing.param")


def python_blocks(readme):
    return re.findall(r"```python\n(.*?)```", (REPO / readme).read_text(), flags=re.S)


@pytest.mark.parametrize("readme", ["README.md", "isf-post/README.md"])
def test_readme_python_snippets_run(run, readme, capsys, monkeypatch):
    """Every Python snippet of the READMEs runs as written (under numpy 2), in a folder holding
    `results.h5` and `my.db` of the example run, so the READMEs cannot drift."""
    assert int(np.__version__.split(".")[0]) >= 2, "the snippets must be checked under numpy 2"
    blocks = python_blocks(readme)
    assert blocks, f"{readme} has no python snippet"
    monkeypatch.chdir(run["dir"])
    for code in blocks:
        exec(compile(code, f"{readme} snippet", "exec"), {})
    assert capsys.readouterr().out  # the snippets print what they read
