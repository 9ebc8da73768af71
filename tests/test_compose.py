"""Compose: the GZ2 tag picker rules and the page end to end in AppTest."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from galaxysd_core.diffusion import compose, read_png_settings

ROOT = Path(__file__).resolve().parent.parent


def test_picker_offers_only_valid_branches():
    assert compose.picker_tasks({}) == ["t01", "t08"]
    assert compose.picker_tasks({"t01": "smooth"}) == ["t01", "t07", "t08"]
    edge = compose.picker_tasks({"t01": "features_or_disk", "t02": "edge_on"})
    assert edge == ["t01", "t02", "t09", "t08"]  # bulge shape only under edge-on
    face = {"t01": "features_or_disk", "t02": "not_edge_on", "t04": "no_spiral"}
    assert "t10" not in compose.picker_tasks(face)  # arms only under spiral
    face["t04"] = "spiral"
    assert compose.picker_tasks(face) == ["t01", "t02", "t03", "t04", "t10", "t11", "t05", "t08"]
    # An answer left behind on a hidden branch is not part of the prompt.
    stale = {"t01": "smooth", "t09": "rounded_bulge", "t07": "cigar_shaped"}
    assert compose.chosen_tags(stale) == ["smooth", "cigar_shaped"]
    assert "odd" not in compose.task_options("t06") and "dust_lane" in compose.task_options("t08")


def test_prompt_for_choice_writes_weights():
    tags = ["smooth", "in_between", "dust_lane"]
    text = compose.prompt_for_choice(tags, {"dust_lane": 1.3, "smooth": 1.0, "ring": 2.0})
    assert text == "sdss, smooth, in-between round galaxy, {dust lane:1.3}"
    # The slider is named after the whole phrase, so it weights the whole phrase.
    spiral = compose.prompt_for_choice(["features_or_disk", "spiral"], {"spiral": 1.2})
    assert spiral == "sdss, features or disk-shaped, {spiral galaxy:1.2}"


def test_check_prompt_counts_tokens_and_refuses_empty_and_long():
    from transformers import CLIPTokenizer

    from galaxysd_core.errors import ConfigError
    from galaxysd_core.paths import DEMO_MODEL

    tokenizer = CLIPTokenizer.from_pretrained(DEMO_MODEL / "tokenizer")
    used = compose.check_prompt(tokenizer, "sdss, {dust lane:1.3}")
    assert 2 <= used <= compose.MAX_TOKENS
    for empty in ("", "  ", "{ :1.2}, "):
        with pytest.raises(ConfigError, match=r"empty|nothing to weight"):
            compose.check_prompt(tokenizer, empty)
    with pytest.raises(ConfigError, match="position 6"):
        compose.check_prompt(tokenizer, "sdss, {dust lane")
    with pytest.raises(ConfigError, match=r"prompt has \d+ tokens; at most 75"):
        compose.check_prompt(tokenizer, ", ".join(["spiral galaxy"] * 40))
    assert compose.slug("sdss, {spiral galaxy:1.2}, dust lane") == "sdss-spiral-galaxy-dust-lane"
    assert compose.slug("{(") == "galaxy"
    assert compose.slug("sdss, " + "spiral galaxy, " * 9) == "sdss" + "-spiral-galaxy" * 4


def test_choose_reference_follows_the_mode():
    matches = [Path(f"{i}.png") for i in range(5)]
    assert compose.choose_reference("none", matches, seed=3) is None
    assert compose.choose_reference("pick one", matches, picked=matches[2]) == matches[2]
    drawn = compose.choose_reference("random with the same tags", matches, seed=3)
    assert drawn in matches
    # The seed decides the draw, so the same settings start from the same image.
    assert compose.choose_reference("random with the same tags", matches, seed=3) == drawn
    assert (
        len(
            {
                compose.choose_reference("random with the same tags", matches, seed=s)
                for s in range(20)
            }
        )
        > 1
    )
    sent = Path("sent.png")  # "use as reference" from History
    assert compose.choose_reference("sent image", [], picked=sent) == sent
    assert compose.REFERENCE_MODES[0] == "none"  # text only unless asked
    # No image carries the tags: start from noise.
    assert compose.choose_reference("random with the same tags", [], seed=3) is None
    with pytest.raises(ValueError, match="unknown reference mode 'latest'"):
        compose.choose_reference("latest", matches)


def test_describe_spans_bolds_weighted_spans():
    spans = [("sdss, ", 1.0), ("dust lane", 1.3), (", ", 1.0), ("bar", 0.5)]
    assert compose.describe_spans(spans) == "sdss, · **dust lane** x1.3 · , · **bar** x0.5"
    assert compose.describe_spans([(" ", 1.0)]) == ""


@pytest.fixture
def app_env(ws, monkeypatch):
    """A tiny model and a 4-image prepared dataset inside a fresh workspace."""
    from galaxysd_core.diffusion import build_pipeline, save_pipeline, tiny_components

    monkeypatch.syspath_prepend(str(ROOT))
    save_pipeline(build_pipeline(tiny_components(0)), ws.models / "tiny")
    # Its autoguidance partner beside it: the same shapes and schedule, other weights.
    save_pipeline(build_pipeline(tiny_components(1)), ws.models / "tiny-guide")
    data = ws.datasets / "mini"
    data.mkdir(parents=True)
    rows = []
    for i, tags in enumerate([["features_or_disk", "edge_on", "dust_lane"], ["smooth"]] * 2):
        Image.fromarray(np.full((32, 32, 3), 40 * (i + 1), np.uint8)).save(data / f"{i}.png")
        rows.append(json.dumps({"file_name": f"{i}.png", "text": "sdss", "tags": tags}))
    (data / "metadata.jsonl").write_text("\n".join(rows) + "\n")
    return ws


def test_compose_page_builds_prompt_and_generates(app_env):
    from streamlit.testing.v1 import AppTest

    from pages._common import Keys

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=180)
    at.session_state[Keys.ACTIVE_MODEL] = str(app_env.models / "tiny")
    at.session_state[Keys.ACTIVE_DATASET] = str(app_env.datasets / "mini")
    at.run()
    at.switch_page("pages/compose.py").run()
    assert not at.exception, [e.value for e in at.exception]
    at.selectbox(key="compose_t01").select("features_or_disk").run()
    at.selectbox(key="compose_t02").select("edge_on").run()
    keys = {s.key for s in at.selectbox}
    assert "compose_t09" in keys and "compose_t03" not in keys
    at.selectbox(key="compose_t08").select("dust_lane").run()
    at.slider(key="compose_w_dust_lane").set_value(1.3).run()
    prompt = at.text_area(key="compose_prompt").value
    assert prompt == "sdss, features or disk-shaped, edge-on galaxy, {dust lane:1.3}"

    at.text_area(key="compose_prompt").input("sdss, {dust lane").run()
    assert any("position 6" in e.value for e in at.error)
    at.text_area(key="compose_prompt").input(prompt).run()
    assert not at.error

    at.text_area(key="compose_prompt").input("  ").run()  # an empty prompt is refused
    assert any("prompt is empty" in e.value for e in at.error)
    assert next(b for b in at.button if b.label == "Generate").disabled
    at.text_area(key="compose_prompt").input(prompt).run()
    assert any("tokens" in c.value for c in at.caption)  # the count is shown as one types

    at.slider(key="compose_steps").set_value(5).run()
    at.slider(key="compose_batch").set_value(2).run()
    at.text_input(key="compose_negative_prompt").input("merger").run()
    at.radio(key="compose_ref").set_value("random with the same tags").run()
    at.slider(key="compose_guide_below").set_value(400).run()  # also from a reference
    next(b for b in at.button if b.label == "Generate").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    last = at.session_state[Keys.COMPOSE_LAST]
    made = [Path(p) for p in last["paths"]]
    assert len(made) == 2 and all(app_env.contains(p) for p in made)
    seed = at.number_input(key="compose_seed").value
    assert made[0].name == f"sdss-features-or-disk-shaped-edge-on-galaxy-dust-lane-{seed}.png"
    recipe = read_png_settings(made[0])
    assert recipe["prompt"] == prompt and recipe["steps"] == 5
    assert recipe["negative_prompt"] == "merger"
    assert Path(recipe["reference"]).name in {"0.png", "2.png"}  # same tags as the prompt
    assert recipe["guidance_interval"] == [0.0, 400.0]
    assert {Path(p).name for p in last["real"]} <= {"0.png", "2.png"}
    assert f"seed {seed}: {prompt}" in [c for i in at.main.image for c in i.captions]

    # An error clears the last batch instead of leaving it under "Generated".
    broken = app_env.cache / "broken.png"
    broken.write_text("not a png")
    at.session_state[Keys.COMPOSE_REFERENCE] = str(broken)
    at.run()
    at.radio(key="compose_ref").set_value("sent image").run()
    next(b for b in at.button if b.label == "Generate").click().run()
    assert any("broken.png" in e.value for e in at.error)
    assert at.session_state[Keys.COMPOSE_LAST] is None
    assert not any(h.value == "Generated" for h in at.subheader)
    at.radio(key="compose_ref").set_value("none").run()

    # Two prompts joined by AND guide each image together (composable guidance).
    at.text_area(key="compose_prompt").input("sdss, edge-on galaxy AND sdss, dust lane :0.6").run()
    assert not at.error, [e.value for e in at.error]
    next(b for b in at.button if b.label == "Generate").click().run()
    assert not at.error, [e.value for e in at.error]
    made = [Path(p) for p in at.session_state[Keys.COMPOSE_LAST]["paths"]]
    terms = read_png_settings(made[0])["terms"]
    assert terms == [["sdss, edge-on galaxy", 1.0], ["sdss, dust lane", 0.6]]
    at.text_area(key="compose_prompt").input(prompt).run()

    # Live: every change draws one quick image, in place, at the same seed.
    at.toggle(key="compose_live").set_value(True).run()
    assert not at.exception, [e.value for e in at.exception]
    first = at.session_state[Keys.COMPOSE_LIVE]
    assert first["error"] is None and first["settings"]["seed"] == seed
    assert any(c.startswith("Live: seed") for i in at.main.image for c in i.captions)
    at.slider(key="compose_guidance").set_value(3.0).run()
    second = at.session_state[Keys.COMPOSE_LIVE]
    assert second["settings"]["guidance"] == 3.0 and second["settings"]["seed"] == seed
    assert np.asarray(second["image"]).shape == np.asarray(first["image"]).shape
    assert not np.array_equal(np.asarray(second["image"]), np.asarray(first["image"]))
    at.run()  # nothing changed: the preview is not drawn again
    assert at.session_state[Keys.COMPOSE_LIVE] is second

    # Guidance on the late steps only: the preview and the batch follow the slider.
    at.slider(key="compose_guide_below").set_value(300).run()
    assert not at.error, [e.value for e in at.error]
    assert at.session_state[Keys.COMPOSE_LIVE]["settings"]["guidance_interval"] == (0, 300)
    next(b for b in at.button if b.label == "Generate").click().run()
    assert not at.error, [e.value for e in at.error]
    made = [Path(p) for p in at.session_state[Keys.COMPOSE_LAST]["paths"]]
    assert read_png_settings(made[0])["guidance_interval"] == [0.0, 300.0]
    assert read_png_settings(made[0])["eps_scale"] == 1.0

    # Epsilon scaling: the preview and the batch follow the box.
    at.number_input(key="compose_eps_scale").set_value(1.005).run()
    assert not at.error, [e.value for e in at.error]
    assert at.session_state[Keys.COMPOSE_LIVE]["settings"]["eps_scale"] == 1.005
    next(b for b in at.button if b.label == "Generate").click().run()
    assert not at.error, [e.value for e in at.error]
    made = [Path(p) for p in at.session_state[Keys.COMPOSE_LAST]["paths"]]
    assert read_png_settings(made[0])["eps_scale"] == 1.005

    # Autoguidance by the partner beside the model: the preview and the batch follow the slider.
    assert read_png_settings(made[0])["guide"] is None
    at.slider(key="compose_guide_weight").set_value(2.0).run()
    assert not at.error, [e.value for e in at.error]
    assert at.session_state[Keys.COMPOSE_LIVE]["settings"]["guide_weight"] == 2.0
    next(b for b in at.button if b.label == "Generate").click().run()
    assert not at.error, [e.value for e in at.error]
    made = [Path(p) for p in at.session_state[Keys.COMPOSE_LAST]["paths"]]
    recipe = read_png_settings(made[0])
    assert recipe["guide_weight"] == 2.0 and recipe["guide"] == str(app_env.models / "tiny-guide")

    # Perturbed-attention guidance on the early steps: the preview and the batch follow.
    assert recipe["pag_scale"] == 0.0
    at.slider(key="compose_pag_scale").set_value(1.0).run()
    at.slider(key="compose_pag_above").set_value(400).run()
    assert not at.error, [e.value for e in at.error]
    live = at.session_state[Keys.COMPOSE_LIVE]["settings"]
    assert live["pag_scale"] == 1.0 and live["pag_interval"] == (400, 1000)
    next(b for b in at.button if b.label == "Generate").click().run()
    assert not at.error, [e.value for e in at.error]
    made = [Path(p) for p in at.session_state[Keys.COMPOSE_LAST]["paths"]]
    recipe = read_png_settings(made[0])
    assert recipe["pag_scale"] == 1.0 and recipe["pag_interval"] == [400.0, 1000.0]


@pytest.mark.parametrize(("interval", "expected"), [([0, 399], 400), ([0, 30], 100), (None, 1000)])
def test_a_preset_sets_the_guidance_interval_slider_within_its_range(app_env, interval, expected):
    from streamlit.testing.v1 import AppTest

    from pages._common import Keys

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=180)
    at.session_state[Keys.ACTIVE_MODEL] = str(app_env.models / "tiny")
    at.session_state[Keys.ACTIVE_DATASET] = str(app_env.datasets / "mini")
    at.run()
    at.session_state[Keys.COMPOSE_PRESET] = {
        "prompt": "sdss, spiral galaxy",
        "guidance_interval": interval,
        "source": "History",
    }
    at.switch_page("pages/compose.py").run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.slider(key="compose_guide_below").value == expected


def test_a_model_card_recommends_sampler_settings(tmp_path):
    from galaxysd_core.diffusion.checks import MODEL_CARD, recommended_settings
    from galaxysd_core.errors import ConfigError

    assert recommended_settings(tmp_path) is None  # no card: real SD-1.5 weights
    card = tmp_path / MODEL_CARD
    card.write_text(json.dumps({"final_step": 3}))
    assert recommended_settings(tmp_path) is None
    good = {"steps": 40, "guidance": 7, "scheduler": "euler_a", "guidance_interval": [0, 400]}
    card.write_text(json.dumps({"recommended_sampling": good}))
    assert recommended_settings(tmp_path) == {
        **good,
        "guidance": 7.0,
        "guidance_interval": [0.0, 400.0],
    }
    for bad, named in [
        ({"steps": 0}, "steps must be a whole number in [1, 1000], got 0"),
        ({"steps": 40.5}, "got 40.5"),
        ({"guidance": 99}, "guidance must be a number in [1, 30], got 99"),
        ({"scheduler": "lms"}, "got 'lms'"),
        ({"guidance_interval": [400, 0]}, "guidance_interval must have 0 <= LOW < HIGH"),
        ({"pag_interval": [400]}, "pag_interval must be two timesteps LOW HIGH"),
        ({"pag_scale": 11}, "pag_scale must be a number in [0, 10], got 11"),
        ({"stepz": 40}, "unknown key 'stepz'"),
    ]:
        card.write_text(json.dumps({"recommended_sampling": bad}))
        with pytest.raises(ConfigError, match=re.escape(named)):
            recommended_settings(tmp_path)
    card.write_text("{not json")
    with pytest.raises(ConfigError, match="cannot read the model card"):
        recommended_settings(tmp_path)
    # The shipped demo model carries its measured operating point.
    shipped = recommended_settings(ROOT / "assets" / "demo-model")
    assert shipped["steps"] == 40 and shipped["guidance_interval"] == [0.0, 400.0]
    assert shipped["pag_scale"] == 1.0 and shipped["pag_interval"] == [400.0, 1000.0]


def test_compose_applies_the_model_cards_recommended_settings(app_env):
    import shutil

    from streamlit.testing.v1 import AppTest

    from galaxysd_core.diffusion.checks import MODEL_CARD
    from pages._common import Keys

    model = app_env.models / "tiny-card"
    shutil.copytree(app_env.models / "tiny", model)
    recommended = {
        "steps": 40,
        "guidance": 5.5,
        "scheduler": "ddim",
        "guidance_interval": [0, 400],
        "pag_scale": 1.0,
        "pag_interval": [400, 1000],
    }
    (model / MODEL_CARD).write_text(json.dumps({"recommended_sampling": recommended}))
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=180)
    at.session_state[Keys.ACTIVE_MODEL] = str(app_env.models / "tiny")
    at.session_state[Keys.ACTIVE_DATASET] = str(app_env.datasets / "mini")
    at.run()
    at.switch_page("pages/compose.py").run()
    labels = [b.label for b in at.button]
    assert "Use this model's recommended settings" not in labels  # no card, no button

    at.session_state[Keys.ACTIVE_MODEL] = str(model)
    at.run()
    assert at.slider(key="compose_steps").value != 40
    at.button(key="compose_recommended").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.slider(key="compose_steps").value == 40
    assert at.slider(key="compose_guidance").value == 5.5
    assert at.selectbox(key="compose_scheduler").value == "ddim"
    assert at.slider(key="compose_guide_below").value == 400
    assert at.slider(key="compose_pag_scale").value == 1.0
    assert at.slider(key="compose_pag_above").value == 400
    assert any("the model card" in i.value for i in at.info)

    (model / MODEL_CARD).write_text(json.dumps({"recommended_sampling": {"steps": -1}}))
    at.run()
    assert not at.exception and any("steps must be" in w.value for w in at.warning)
