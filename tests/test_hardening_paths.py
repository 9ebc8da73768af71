"""Confinement: every path of a job config stays in the workspace; names are names."""

from __future__ import annotations

import json
import os
from dataclasses import MISSING

import pytest

from galaxysd_core import jobs
from galaxysd_core.errors import BadNameError, GalaxySDError, OutsideWorkspaceError
from galaxysd_core.jobs import store
from galaxysd_core.jobs.registry import KINDS, KindUnavailableError
from galaxysd_core.paths import check_name, resolve_in_workspace, workspace

#: Fields a kind's validate() asks for (or whose default lies outside the workspace).
NEEDED = {
    "evaluate": {"run": "runs/x"},
    "simclr": {"data": "sky/x"},
    "demo-build": {"out": "m"},
    "demo-guide": {"out": "m"},
    "grid": {"prompt": "sdss, spiral galaxy", "x": "seed=0,1"},
    "quiz-pool": {"model": "m", "dataset": "d"},
}


def _path_cases():
    for kind, row in KINDS.items():
        try:
            cls = row.load_config_class()
        except KindUnavailableError:
            continue
        for name in cls.path_fields():
            yield pytest.param(kind, name, id=f"{kind}.{name}")


def _assert_nothing_written(ws, outside):
    assert list(ws.runs.iterdir()) == []
    assert not outside.exists()
    assert store.rows(store.engine_for(ws)) == []


@pytest.mark.parametrize(("kind", "field"), list(_path_cases()))
def test_every_path_field_of_every_job_kind_is_confined(ws, tmp_path, kind, field):
    """What the Training page sends (a dict through jobs.launch): outside paths write nothing."""
    outside = tmp_path / "outside" / "x"
    link = ws.root / "escape"
    link.symlink_to(tmp_path / "outside", target_is_directory=True)
    fields = KINDS[kind].load_config_class().__dataclass_fields__
    # Required fields get a path inside the workspace, so only ``field`` is outside.
    base = {
        name: "inside"
        for name, f in fields.items()
        if f.init and f.default is MISSING and f.default_factory is MISSING
    } | NEEDED.get(kind, {})
    for value in ("../outside/x", str(outside), "~/../../outside-x", "escape/x"):
        given = [value] if "tuple" in str(fields[field].type) else value
        with pytest.raises(OutsideWorkspaceError, match=rf"\.{field}: .* is outside the workspace"):
            jobs.launch(kind, {**base, field: given}, workspace=ws)
    link.unlink()
    _assert_nothing_written(ws, outside)


def test_sqlite_db_url_outside_the_workspace_is_refused(ws, tmp_path):
    url = f"sqlite:///{tmp_path / 'elsewhere.db'}"
    with pytest.raises(OutsideWorkspaceError, match=r"RoundConfig\.db_url"):
        jobs.launch("discover-round", {"db_url": url}, workspace=ws)
    assert not (tmp_path / "elsewhere.db").exists()


def test_relative_paths_are_workspace_relative(ws):
    """The README's layout: ``"out": "sky/small"`` builds ``WS/sky/small``."""
    from tests.test_jobs import ended, wait_for

    job = jobs.launch("sky", {"n": 6, "size": 16, "out": "sky/small", "workers": 1}, workspace=ws)
    saved = json.loads((ws.run_dir(job) / "config.json").read_text())
    assert saved["out"] == str(ws.root / "sky" / "small")
    state = wait_for(job, ws, ended, timeout=120)
    assert state["status"] == "succeeded", jobs.tail_log(job, 20, workspace=ws)
    assert (ws.root / "sky" / "small" / "catalog.csv").is_file()


def test_read_only_inputs_may_name_the_bundled_assets(ws):
    from galaxysd_core.paths import DEMO_MODEL

    cfg = jobs.validate_config("finetune", {"model": str(DEMO_MODEL)}).confined(ws.root)
    assert cfg.model == DEMO_MODEL.resolve()
    with pytest.raises(OutsideWorkspaceError, match="output_dir"):
        jobs.validate_config("finetune", {"output_dir": str(DEMO_MODEL)}).confined(ws.root)
    with pytest.raises(OutsideWorkspaceError, match=r"DemoBuildConfig\.out"):
        jobs.validate_config("demo-build", {}).confined(ws.root)  # default: assets/demo-model


def test_resume_words_stay_and_resume_paths_are_confined(ws, tmp_path):
    for word in ("latest", "checkpoint-500"):
        assert jobs.validate_config("finetune", {"resume": word}).confined(ws.root).resume == word
    with pytest.raises(OutsideWorkspaceError, match=r"FinetuneConfig\.resume"):
        jobs.validate_config("finetune", {"resume": str(tmp_path)}).confined(ws.root)


def test_resolve_in_workspace(tmp_path):
    ws = workspace(tmp_path / "ws").ensure()
    assert resolve_in_workspace("sky/a", ws) == ws.root / "sky" / "a"
    assert resolve_in_workspace(ws.root / "sky/../x", ws) == ws.root / "x"
    for bad in ("..", "sky/../../x", "/etc", str(tmp_path)):
        with pytest.raises(OutsideWorkspaceError, match=r"out: .* is outside"):
            resolve_in_workspace(bad, ws, field="out")
    # A sibling whose name starts like the workspace is still outside.
    with pytest.raises(OutsideWorkspaceError):
        resolve_in_workspace(tmp_path / "ws2" / "x", ws)


@pytest.mark.parametrize("bad", ["..", ".", "../../../x", "a/b", ".hidden", "", "x" * 65, 3])
def test_folder_names_are_validated(bad):
    with pytest.raises(BadNameError, match="campaign"):
        check_name(bad, field="campaign")


def test_campaign_names_are_names_in_jobs_the_store_and_exports(ws, tmp_path):
    from galaxysd_core.review import ReviewStore, round_export_path

    with pytest.raises(GalaxySDError, match=r"RoundConfig\.campaign"):
        jobs.launch("discover-round", {"campaign": "../../../x"}, workspace=ws)
    review = ReviewStore(f"sqlite:///{ws.root / 'r.db'}")
    with pytest.raises(BadNameError, match="campaign"):
        review.open_round("../../../x", [{"object_id": "1", "image": "a.png"}])
    with pytest.raises(BadNameError):
        round_export_path(ws, "../../../x", 1, "csv")
    assert round_export_path(ws, "detg", 2, "csv") == ws.campaigns / "detg" / "round-2.csv"
    (ws.campaigns / "linked").symlink_to(tmp_path, target_is_directory=True)
    with pytest.raises(OutsideWorkspaceError):
        round_export_path(ws, "linked", 1, "csv")
    assert not os.listdir(tmp_path / "ws" / "runs")


def test_data_dirs_may_be_read_by_jobs_but_never_written(ws, tmp_path, monkeypatch):
    data = tmp_path / "data" / "sd15"
    data.mkdir(parents=True)
    with pytest.raises(OutsideWorkspaceError, match=r"FinetuneConfig\.model"):
        jobs.validate_config("finetune", {"model": str(data)}).confined(ws.root)
    monkeypatch.setenv("GALAXYSD_DATA_DIRS", str(tmp_path / "data"))
    cfg = jobs.validate_config("finetune", {"model": str(data)}).confined(ws.root)
    assert cfg.model == data
    with pytest.raises(OutsideWorkspaceError, match=r"FinetuneConfig\.output_dir"):
        jobs.validate_config("finetune", {"output_dir": str(data)}).confined(ws.root)


def test_training_state_is_loaded_as_plain_tensors_only(tmp_path):
    """A checkpoint from elsewhere cannot run code: weights_only=True refuses any object."""
    import pickle

    import torch

    from galaxysd_core.diffusion.checkpoints import load_training_state
    from galaxysd_core.errors import ConfigError

    good = tmp_path / "good"
    good.mkdir()
    torch.save({"optimizer": {"state": {}}, "emas": [{"decay": 0.99}]}, good / "training_state.pt")
    assert load_training_state(good)["emas"] == [{"decay": 0.99}]
    evil = tmp_path / "evil"
    evil.mkdir()
    torch.save({"emas": [_Payload(str(tmp_path / "pwned"))]}, evil / "training_state.pt")
    with pytest.raises(ConfigError, match=r"cannot load the training state .* as plain tensors"):
        load_training_state(evil)
    assert not (tmp_path / "pwned").exists()
    pickle.loads(pickle.dumps(_Payload(str(tmp_path / "pwned"))))  # a live payload, unpickled
    assert (tmp_path / "pwned").is_dir()


class _Payload:
    """Unpickling this creates a folder: the safe loader must never run it."""

    def __init__(self, target: str) -> None:
        self.target = target

    def __reduce__(self):
        return (os.mkdir, (self.target,))
