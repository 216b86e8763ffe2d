"""The example run the tests read: simulated once per session."""

from pathlib import Path

import pytest

import isf
from helpers import CELL, ISF_BIN, cli


@pytest.fixture(scope="session")
def run(tmp_path_factory):
    """The example model simulated from Python (8 trials in 2 batches, with ISF export) and its
    database built by the command line."""
    if not Path(ISF_BIN).is_file():
        pytest.fail(f"no isf binary at {ISF_BIN} (build it, or set ISF_BIN)")
    d = tmp_path_factory.mktemp("notebook")
    cli("example", d / "model")
    config = (d / "model" / "run.toml").read_text()
    # The READMEs' snippets call the cell `example` and read `results.h5` and `my.db`.
    config = config.replace('name = "example_l5pt"', f'name = "{CELL}"')
    config = config.replace('output = "example_results.h5"',
                            'output = "../results.h5"\nisf_folder = "../isf"')
    (d / "model" / "run.toml").write_text(config)
    results, isf_folder = isf.simulate(d / "model" / "run.toml", threads=2)
    cli("db", "init", d / "results.h5", d / "my.db")
    cli("db", "bin", d / "my.db", "--groupby", "EI")
    return {"dir": d, "results": results, "isf_folder": Path(isf_folder),
            "db": isf.open_database(d / "my.db")}
