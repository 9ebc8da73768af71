"""Dataset: the GZ2 funnel, tag counts, tag co-occurrence and a tag-filtered image grid."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from galaxysd_core.gz2.flags import RULES
from galaxysd_core.gz2.overview import Overview, overview
from galaxysd_core.gz2.plots import funnel_figure, tag_count_figure, upset_figure
from galaxysd_core.paths import list_datasets
from pages._common import active_dataset, get_workspace, label_for, user_errors

GRID = 24  # images shown at once
# Labels of the flag rules, in the order of galaxysd_core.gz2.flags.RULES.
FLAG_RULES = dict(
    zip(
        RULES,
        (
            "the GalaxySD paper's rule (debiased >= 0.8)",
            "Willett et al. 2013's rule (the published GZ2 flags)",
        ),
        strict=True,
    )
)


@st.cache_data(max_entries=8, show_spinner="Labelling the catalogue...")
def _overview(path: str, mtime: float, min_votes: int, rule: str, max_per_tag: int) -> Overview:
    # mtime is part of the cache key so a rebuilt folder is read again.
    return overview(path, min_votes=min_votes, rule=rule, max_per_tag=max_per_tag)


def _choose_folder() -> Path:
    ws = get_workspace()
    default = active_dataset()
    options = list(dict.fromkeys([default, *list_datasets(ws)]))
    return st.selectbox(
        "Dataset",
        options,
        format_func=label_for,
        key="dataset_folder",
        help="The sidebar's dataset by default; any mock sky or prepared set.",
    )


def _prepare_button(folder: Path, min_votes: int, rule: str, max_per_tag: int) -> None:
    from galaxysd_core import jobs
    from galaxysd_core.gz2 import PrepareConfig

    ws = get_workspace()
    suffix = "" if rule == "galaxysd" else f"-{rule}"
    out = ws.datasets / f"{folder.name}-v{min_votes}-max{max_per_tag}{suffix}"
    if st.button(
        f"Prepare training set -> {label_for(out)}", help="Runs `galaxysd prepare` as a job"
    ):
        with user_errors("launch the prepare job"):
            config = PrepareConfig.from_sky(
                folder,
                out=out,
                min_votes=min_votes,
                rule=rule,
                max_per_tag=max_per_tag,
                overwrite=True,
            )
            st.success(
                f"Job {jobs.launch('prepare', config, workspace=ws)} launched; see Training."
            )


st.title("Dataset")
st.caption(
    "GZ2 votes -> well-sampled tags (Willett 2013 Table 3) -> prompts -> balanced set (Sec. 3)."
)
folder = _choose_folder()
prepared = (folder / "metadata.jsonl").is_file()
min_votes, rule, max_per_tag = 20, "galaxysd", 2000
if not prepared:
    left, middle, right = st.columns(3)
    min_votes = left.number_input(
        "Minimum votes per task", 0, 100, 20, help="20 normal depth, 10 co-add"
    )
    rule = middle.selectbox(
        "Flag rule",
        FLAG_RULES,
        format_func=FLAG_RULES.get,
        key="flag_rule",
        help="The paper's rule or the one behind the catalogue's published flags",
    )
    max_per_tag = right.number_input("Down-sample tags above", 1, 100_000, 2000)

data = None
if not folder.exists():
    st.info(f"{label_for(folder)} does not exist yet: build a mock sky on Home or Training.")
else:
    with user_errors(f"read {label_for(folder)}"):
        mtime = folder.stat().st_mtime
        data = _overview(str(folder), mtime, int(min_votes), rule, int(max_per_tag))

if data is not None:
    votes = "" if data.min_votes is None else f", at least {data.min_votes} votes"
    st.caption(f"Tags flagged with {FLAG_RULES.get(data.rule, data.rule)}{votes}.")
    if data.kind == "catalogue":
        _prepare_button(folder, int(min_votes), rule, int(max_per_tag))
    cols = st.columns(len(data.funnel))
    for col, (stage, count) in zip(cols, data.funnel.items(), strict=True):
        col.metric(stage.replace("_", " "), f"{count:,}")
    left, right = st.columns(2)
    left.subheader("Funnel")
    left.plotly_chart(funnel_figure(data.funnel), width="stretch")
    right.subheader("Tag counts")
    right.plotly_chart(tag_count_figure(data.tag_counts), width="stretch")
    st.subheader("Tag co-occurrence in the training set")
    if data.combinations.empty:
        st.info("No galaxy reached the training set with these settings.")
    else:
        st.plotly_chart(upset_figure(data.combinations), width="stretch")

    st.subheader("Training pairs")
    present = sorted({t for tags in data.gallery["tags"] for t in tags})
    wanted = st.multiselect("Show galaxies carrying all of", present, key="dataset_tags")
    mask = data.gallery["tags"].map(lambda ts: set(wanted) <= set(ts))
    shown = data.gallery.loc[mask].head(GRID)
    st.caption(f"{int(mask.sum()):,} galaxies match; showing {len(shown)}.")
    grid = st.columns(6)
    for i, row in enumerate(shown.itertuples(index=False)):
        grid[i % 6].image(row.image, caption=row.text, width="stretch")
