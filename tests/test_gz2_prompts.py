"""Tags to prompts in the authors' wording; Table 1; training-time shuffling."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from galaxysd_core.gz2 import (
    DETG_PROMPTS,
    DETG_TAGS,
    TABLE1_PROMPTS,
    prompt_for,
    shuffle_tags_transform,
    table1_prompt,
    tags_from_flags,
)


@pytest.mark.parametrize(
    ("tags", "expected"),
    [
        (
            ["2_arms", "tight_arms", "obvious_bulge", "spiral"],
            "sdss, spiral galaxy, obvious bulge prominence, tightly wound spiral arms, 2 spiral arms",
        ),
        (["cigar_shaped", "smooth"], "sdss, smooth, cigar shaped galaxy"),
        (
            ["merger", "in_between", "smooth", "odd"],
            "sdss, smooth, in-between round galaxy, merger",
        ),
        (
            ["rounded_bulge", "edge_on", "not_odd"],
            "sdss, edge-on galaxy, with rounded edge-on bulge",
        ),
        (["star_or_artifact", "no_bar", "dust_lane", "dust_lane"], "sdss, dust lane"),
        ([], "sdss"),
    ],
)
def test_prompt_for_examples(tags, expected):
    assert prompt_for(tags) == expected


def test_unknown_tag_is_named():
    with pytest.raises(ValueError, match="'dustlane'"):
        prompt_for(["smooth", "dustlane"])


def test_detg_and_table1_prompts():
    assert [prompt_for(t, weights=w) for t, w in DETG_TAGS] == list(DETG_PROMPTS)
    assert sorted(TABLE1_PROMPTS) == list("ABCDEFGHIJKLMNOP")
    assert table1_prompt("K") == "sdss, in-between round galaxy, {dust lane:1.3}"
    assert table1_prompt("G") == "sdss, spiral galaxy, loosely wound spiral arms, 2 spiral arms"
    with pytest.raises(ValueError, match="'Q'"):
        table1_prompt("Q")


def test_tags_from_flags_row_and_table():
    table = pd.DataFrame(
        {"t01_smooth_or_features_a01_smooth": [True, False], "dust_lane": [True, True]}
    )
    assert tags_from_flags(table.iloc[0]) == ("smooth", "dust_lane")
    assert list(tags_from_flags(table)) == [("smooth", "dust_lane"), ("dust_lane",)]


def test_shuffle_tags_transform():
    tags = ["spiral", "obvious_bulge", "tight_arms", "2_arms", "no_bar"]
    rng = np.random.default_rng(0)
    seen = {shuffle_tags_transform(tags, rng) for _ in range(50)}
    assert len(seen) > 5  # the order changes from step to step
    for text in seen:
        head, *rest = text.split(", ")
        assert head == "sdss" and sorted(rest) == sorted(prompt_for(tags).split(", ")[1:])
    sub = [shuffle_tags_transform(tags, rng, keep_prob=0.3, min_tags=2) for _ in range(50)]
    assert all(2 <= len(s.split(", ")) - 1 <= 4 for s in sub)
    assert len({len(s.split(", ")) for s in sub}) > 1
    again = np.random.default_rng(0)
    assert shuffle_tags_transform(tags, again) == shuffle_tags_transform(
        tags, np.random.default_rng(0)
    )
    with pytest.raises(ValueError, match="keep_prob"):
        shuffle_tags_transform(tags, rng, keep_prob=1.5)
