"""The notebooks under notebooks/: committed without outputs, and each runs top to bottom.

Running them needs the shipped model (models/stance-minilm); they use the shared data when
it is there and fall back to the example dumps when it is not. The environment variables
below keep them small enough for CI (about a minute each on a laptop CPU).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((REPO_ROOT / "notebooks").glob("*.ipynb"))
EXPECTED = {"quickstart.ipynb", "evaluate.ipynb", "retrain.ipynb"}
CI_ENVIRONMENT = {"STANCE_NOTEBOOK_ROWS": "200", "STANCE_NOTEBOOK_STEPS": "5"}
CELL_TIMEOUT_S = 600


def test_expected_notebooks_exist():
    assert EXPECTED <= {path.name for path in NOTEBOOKS}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.stem)
def test_committed_notebook_has_no_outputs(path: Path):
    import nbformat

    notebook = nbformat.read(str(path), as_version=4)
    nbformat.validate(notebook)
    assert notebook.metadata["kernelspec"]["name"] == "python3"
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type == "code":
            assert cell.outputs == [], f"{path.name}: cell {index} has outputs; clear them"
            assert cell.execution_count is None, f"{path.name}: cell {index} has an execution count"


@pytest.fixture
def venv_kernel(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A `python3` kernel spec running this interpreter (the one with stance installed),
    found first because JUPYTER_PATH is searched before any user or system kernel."""
    folder = tmp_path / "jupyter" / "kernels" / "python3"
    folder.mkdir(parents=True)
    spec = {"argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
            "display_name": "Python 3 (stance tests)", "language": "python"}
    (folder / "kernel.json").write_text(json.dumps(spec), encoding="utf-8")
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    for name, value in CI_ENVIRONMENT.items():  # the kernel inherits this environment
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    return "python3"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.stem)
def test_notebook_runs(path: Path, venv_kernel: str):
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    from stance.model import STANCE_CONFIG_FILE, default_model_path

    model = default_model_path()
    if not (model / STANCE_CONFIG_FILE).is_file():
        pytest.skip(f"the shipped model is not at {model} (train it, or copy it into models/)")
    notebook = nbformat.read(str(path), as_version=4)
    client = NotebookClient(notebook, timeout=CELL_TIMEOUT_S, kernel_name=venv_kernel,
                            resources={"metadata": {"path": str(path.parent)}})
    try:
        client.execute()
    except CellExecutionError as error:  # the message holds the cell and its traceback
        pytest.fail(f"{path.name} failed:\n{error}", pytrace=False)
    errors = [output for cell in notebook.cells if cell.cell_type == "code"
              for output in cell.outputs if output.get("output_type") == "error"]
    assert not errors, f"{path.name}: {errors[0].get('ename')}: {errors[0].get('evalue')}"
