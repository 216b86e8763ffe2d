"""``isf.plot``: every kind of ``isf plot`` from Python. A picture's bytes equal the file the
command line writes for the same arguments (both call isf's plotting library), PNGs decode to
the asked size, SVGs carry their axis labels, and the pictures show in Jupyter and save."""

import base64
import shutil
import struct
import zlib

import pytest

import isf
from helpers import CELL, cli

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def png_size(data: bytes):
    """(width, height) of a PNG, read without an imaging library: the signature, then the IHDR
    chunk (length 13, type, width, height) with its CRC checked."""
    assert data[:8] == PNG_MAGIC, "not a PNG"
    length, kind = struct.unpack(">I4s", data[8:16])
    assert (length, kind) == (13, b"IHDR")
    body = data[16:16 + length]
    (crc,) = struct.unpack(">I", data[16 + length:20 + length])
    assert zlib.crc32(kind + body) == crc, "IHDR CRC"
    assert data[-12:] == b"\x00\x00\x00\x00IEND\xaeB`\x82", "no IEND chunk at the end"
    return struct.unpack(">II", body[:8])


def decoded_size(data: bytes):
    """The PNG decoded by Pillow when it is installed (else the header's size)."""
    try:
        from PIL import Image
    except ImportError:
        return png_size(data)
    import io
    with Image.open(io.BytesIO(data)) as im:
        im.load()  # decodes every pixel
        return im.size


@pytest.fixture(scope="module")
def pictures(run, tmp_path_factory):
    """The run's files, a copy of its database with a reduced model (for the kernels), and an
    ISF output folder of one run."""
    d = run["dir"]
    work = tmp_path_factory.mktemp("plot")
    db = work / "db"
    shutil.copytree(d / "my.db", db)
    cli("reduce", "fit", db, "--out", "lda", "--output-min", "280", "--output-max", "300")
    folder = sorted(run["isf_folder"].glob(f"{CELL}/results/*/simulation_run0000_synapses.csv"))
    assert folder, "the example run exported no ISF output folder"
    return {"results": d / "results.h5", "db": db, "model": d / "model",
            "isf_run": folder[0].parent, "work": work}


# (name, Python call, the same picture's `isf plot` arguments); `p` is the `pictures` fixture.
CASES = [
    ("traces", lambda p, f: isf.plot.traces(isf.open_results(p["results"]), trials=[0, 1, 2],
                                            sites=True, width=640, height=400, format=f),
     lambda p: ["traces", "--results", p["results"], "--trials", "0,1,2", "--sites",
                "--width", "640", "--height", "400"]),
    ("traces_window", lambda p, f: isf.plot.traces(p["results"], trials=range(1, 3),
                                                   t_start=200, t_stop=300, format=f),
     lambda p: ["traces", "--results", p["results"], "--trials", "1,2", "--t-start", "200",
                "--t-stop", "300"]),
    ("raster", lambda p, f: isf.plot.raster(p["results"], format=f),
     lambda p: ["raster", "--results", p["results"]]),
    ("raster_presynaptic",
     lambda p, f: isf.plot.raster(p["results"], of="presynaptic", trials=1, t_start=200,
                                  t_stop=300, width=640, height=400, format=f),
     lambda p: ["raster", "--results", p["results"], "--of", "presynaptic", "--trials", "1",
                "--t-start", "200", "--t-stop", "300", "--width", "640", "--height", "400"]),
    ("raster_isf_folder", lambda p, f: isf.plot.raster(p["isf_run"], of="synapses", format=f),
     lambda p: ["raster", "--isf-folder", p["isf_run"], "--of", "synapses"]),
    ("psth", lambda p, f: isf.plot.psth(p["results"], bin=10, format=f),
     lambda p: ["psth", "--results", p["results"], "--bin", "10"]),
    ("psth_synapses",
     lambda p, f: isf.plot.psth(isf.open_results(p["results"]), of="synapses", bin=5,
                                group="ei", trials="0-3", format=f),
     lambda p: ["psth", "--results", p["results"], "--of", "synapses", "--bin", "5", "--group",
                "ei", "--trials", "0-3"]),
    ("binning", lambda p, f: isf.plot.binning(isf.open_database(p["db"]), t_start=200,
                                              t_stop=300, width=640, height=400, format=f),
     lambda p: ["binning", "--db", p["db"], "--t-start", "200", "--t-stop", "300", "--width",
                "640", "--height", "400"]),
    ("kernels", lambda p, f: isf.plot.kernels(p["db"], "lda", format=f),
     lambda p: ["kernels", "--db", p["db"], "--model", "lda"]),
]

# The axis labels each kind draws, which an SVG carries as text.
LABELS = {
    "traces": ["time (ms)", "membrane potential (mV)"],
    "raster": ["time (ms)", "trial"],
    "psth": ["time (ms)", "firing rate (Hz)"],
    "psth_synapses": ["time (ms)", "activations per bin (per trial)"],
    "binning": ["time (ms)", "activations per trial and bin"],
    "kernels": ["time (ms)", "weight per bin"],
}


@pytest.mark.parametrize("fmt", ["png", "svg"])
@pytest.mark.parametrize("name,call,args", CASES, ids=[c[0] for c in CASES])
def test_picture_equals_isf_plot_output(pictures, name, call, args, fmt):
    pic = call(pictures, fmt)
    out = pictures["work"] / f"{name}.{fmt}"
    printed = cli("plot", *args(pictures), "--out", out, "--overwrite")
    assert pic.format == fmt
    assert pic.data == out.read_bytes(), f"isf.plot.{name} differs from isf plot's {out.name}"
    assert f"{pic.width}×{pic.height} px" in printed
    if fmt == "png":
        assert png_size(pic.data) == decoded_size(pic.data) == (pic.width, pic.height)
        assert pic._repr_png_() == pic.data and pic._repr_svg_() is None
    else:
        text = pic._repr_svg_()
        assert pic._repr_png_() is None and text.lstrip().startswith("<svg")
        assert f'width="{pic.width}"' in text and f'height="{pic.height}"' in text
        for label in LABELS.get(name, ["time (ms)"]):
            assert f">{label}<" in text.replace("\n", ""), f"{name}: no axis label {label!r}"


def test_default_sizes_are_the_command_line_defaults(pictures):
    r = pictures["results"]
    assert (isf.plot.raster(r).width, isf.plot.raster(r).height) == (800, 500)
    assert png_size(isf.plot.psth(r, width=300).data) == (300, 500)
    k = isf.plot.kernels(pictures["db"], "lda")
    assert png_size(k.data) == (k.width, k.height) == (800, 500)  # EI kernels: no spatial panel


def test_save_writes_the_bytes_and_keeps_existing_files(pictures, tmp_path):
    pic = isf.plot.psth(pictures["results"], format="svg")
    path = pic.save(tmp_path / "sub.svg")
    assert path.read_bytes() == pic.data
    with pytest.raises(FileExistsError, match="overwrite=True"):
        pic.save(path)
    isf.plot.psth(pictures["results"], bin=20, format="svg").save(path, overwrite=True)
    assert path.read_bytes() != pic.data
    with pytest.raises(ValueError, match=r"\.svg"):
        pic.save(tmp_path / "wrong.png")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sub.svg"]  # no partial file left
    assert repr(pic).startswith("<isf.plot.Picture svg 800×500 px")


def test_morphology_still_and_gif_equal_isf_plot(pictures, tmp_path):
    m, run = pictures["model"], pictures["isf_run"]
    syn = run / "simulation_run0000_synapses.csv"
    trial = dict(synapses=syn, cell_param=m / "cell.param", network_param=m / "network.param")
    cli_trial = ["--synapses", syn, "--cell-param", m / "cell.param", "--network-param",
                 m / "network.param"]
    still = isf.plot.morphology(**trial, at=205, synapse_window=2, width=320, height=300)
    cli("plot", "morphology", *cli_trial, "--at", "205", "--synapse-window", "2", "--width",
        "320", "--height", "300", "--out", tmp_path / "still.png")
    assert still.format == "png" and still.data == (tmp_path / "still.png").read_bytes()
    assert png_size(still.data) == decoded_size(still.data) == (320, 300)

    gif = isf.plot.morphology(**trial, t_start=200, t_stop=201, t_step=0.5, color="label",
                              fps=10, width=300, height=300)
    cli("plot", "morphology", *cli_trial, "--t-start", "200", "--t-stop", "201", "--t-step",
        "0.5", "--color", "label", "--fps", "10", "--width", "300", "--height", "300", "--out",
        tmp_path / "anim.gif")
    assert gif.format == "gif" and gif.data == (tmp_path / "anim.gif").read_bytes()
    assert gif.data[:6] == b"GIF89a"
    assert struct.unpack("<HH", gif.data[6:10]) == (300, 300)
    assert gif.data.count(b"\x21\xf9\x04") == 2  # one graphic control block per frame
    html = gif._repr_html_()
    assert gif._repr_png_() is None and base64.b64encode(gif.data).decode() in html
    assert html.startswith('<img src="data:image/gif;base64,')

    scalar = isf.plot.morphology(**trial, at=205, color="scalar", scalar="soma_dist",
                                 show_synapses=False, width=320, height=300)
    cli("plot", "morphology", *cli_trial, "--at", "205", "--color", "scalar", "--scalar",
        "soma_dist", "--no-synapses", "--width", "320", "--height", "300", "--out",
        tmp_path / "scalar.png")
    assert scalar.data == (tmp_path / "scalar.png").read_bytes() != still.data


def test_morphology_of_a_results_file_and_a_database_trial(pictures, tmp_path):
    """A trial of the run's results file and of its database re-simulates to the stored soma
    trace (f32 round-off) and draws what `isf plot morphology --results/--db --trial` draws."""
    pic = isf.plot.morphology(results=pictures["results"], trial=1, at=205, width=300,
                              height=300)
    printed = cli("plot", "morphology", "--results", pictures["results"], "--trial", "1",
                  "--at", "205", "--width", "300", "--height", "300", "--out",
                  tmp_path / "r.png")
    assert pic.data == (tmp_path / "r.png").read_bytes()
    assert "reproduces the stored one" in pic.soma_check
    assert pic.soma_check in printed
    from_db = isf.plot.morphology(db=pictures["db"], trial=f"{CELL}/000001", at=205,
                                  width=300, height=300)
    cli("plot", "morphology", "--db", pictures["db"], "--trial", f"{CELL}/000001", "--at",
        "205", "--width", "300", "--height", "300", "--out", tmp_path / "d.png")
    assert from_db.data == (tmp_path / "d.png").read_bytes()
    assert "reproduces the stored one" in from_db.soma_check
    with pytest.raises(ValueError, match="results= needs trial="):
        isf.plot.morphology(results=pictures["results"], at=205)


def test_morphology_of_an_isf_folder_checks_the_soma_trace(pictures, tmp_path):
    """An ISF output folder's run is re-simulated and its soma trace compared with the stored
    one, as `isf plot morphology --isf-folder` does (the parameter files given: the export's
    copies name the morphology relative to the model folder)."""
    run, m = pictures["isf_run"], pictures["model"]
    assert list(run.glob("*_vm_all_traces.csv")), f"{run} has no stored soma traces"
    params = dict(cell_param=m / "cell.param", network_param=m / "network.param")
    pic = isf.plot.morphology(run, 0, **params, at=205, width=300, height=300)
    printed = cli("plot", "morphology", "--isf-folder", run, "--run", "0", "--cell-param",
                  params["cell_param"], "--network-param", params["network_param"], "--at",
                  "205", "--width", "300", "--height", "300", "--out", tmp_path / "m.png")
    assert "reproduces the stored one" in pic.soma_check
    assert pic.soma_check in printed
    assert pic.data == (tmp_path / "m.png").read_bytes()


def test_bad_arguments_are_named(pictures, tmp_path):
    r = pictures["results"]
    with pytest.raises(ValueError, match="png or svg"):
        isf.plot.raster(r, format="jpg")
    with pytest.raises(ValueError, match="soma, presynaptic or synapses"):
        isf.plot.raster(r, of="dendrites")
    with pytest.raises(ValueError, match="cell-type or ei"):
        isf.plot.psth(r, of="synapses", group="layer")
    with pytest.raises(ValueError, match="not a trial index"):
        isf.plot.traces(r, trials=[-1])
    with pytest.raises(isf.IsfError, match="outside the cell's 8 trials"):
        isf.plot.traces(r, trials=[8])
    with pytest.raises(isf.IsfError, match="need --t-start < --t-stop"):
        isf.plot.psth(r, t_start=300, t_stop=200)
    with pytest.raises(isf.IsfError, match="missing.h5"):
        isf.plot.raster(tmp_path / "missing.h5")
    with pytest.raises(isf.IsfError, match="key `nope` not found"):
        isf.plot.kernels(pictures["db"], "nope")
    with pytest.raises(ValueError, match="cell_param= and network_param="):
        isf.plot.morphology(synapses=tmp_path / "s.csv", at=1)
    with pytest.raises(isf.IsfError, match="no_such_column"):
        m = pictures["model"]
        isf.plot.morphology(synapses=pictures["isf_run"] / "simulation_run0000_synapses.csv",
                            cell_param=m / "cell.param", network_param=m / "network.param",
                            at=1, color="scalar", scalar="no_such_column")


def test_jupyter_shows_pictures_inline(pictures, tmp_path):
    """IPython's display formatter (what Jupyter runs on a cell's value) finds each picture's
    rich representation: a PNG, an SVG, and a GIF as an inline <img>."""
    from IPython.core.formatters import DisplayFormatter

    fmt = DisplayFormatter()
    png = isf.plot.raster(pictures["results"])
    svg = isf.plot.raster(pictures["results"], format="svg")
    m = pictures["model"]
    gif = isf.plot.morphology(synapses=pictures["isf_run"] / "simulation_run0000_synapses.csv",
                              cell_param=m / "cell.param", network_param=m / "network.param",
                              t_start=200, t_stop=200.4, width=260, height=200)
    data, _ = fmt.format(png)
    shown = data["image/png"]  # bytes; the kernel base64-encodes them on the wire
    assert (shown if isinstance(shown, bytes) else base64.b64decode(shown)) == png.data
    data, _ = fmt.format(svg)
    assert "time (ms)" in data["image/svg+xml"] and "image/png" not in data
    data, _ = fmt.format(gif)
    assert data["text/html"] == gif._repr_html_() and "image/png" not in data
    assert "text/plain" in data and "gif 260×200 px" in data["text/plain"]
