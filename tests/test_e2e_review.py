"""Review in a real browser: an admin opens a round from an uploaded CSV and sees it at once;
a CSV naming an image outside the workspace is refused with its rows named."""

from __future__ import annotations

import pytest

from tests.test_e2e_browser import open_app, settle

ADMIN, PASSPHRASE = "boss", "correct horse battery"


@pytest.mark.browser
@pytest.mark.slow
def test_admin_opens_a_round_from_a_csv_and_sees_it_at_once(tmp_path, mock_sky):
    from galaxysd_core.db import database_url
    from galaxysd_core.paths import workspace
    from galaxysd_core.review import ReviewStore

    ws = workspace(tmp_path / "ws").ensure()
    images = sorted((mock_sky / "images").glob("*.jpg"))[:2]
    (ws.root / "cands").mkdir()
    for image in images:
        (ws.root / "cands" / image.name).write_bytes(image.read_bytes())
    store = ReviewStore(database_url(ws))
    store.add_reviewer(ADMIN, PASSPHRASE, role="admin")
    bad = tmp_path / "bad.csv"
    bad.write_text("object_id,image,score\na,../../etc/passwd,0.5\n")
    good = tmp_path / "good.csv"
    rows = [f"obj{i},cands/{p.name},0.{8 - i},150.0,2.0" for i, p in enumerate(images)]
    good.write_text("object_id,image,score,ra,dec\n" + "\n".join(rows) + "\n")
    with open_app(ws.root, log=tmp_path / "streamlit.log", path="review") as page:
        page.get_by_label("Reviewer name").fill(ADMIN)
        page.get_by_label("Passphrase").fill(PASSPHRASE)
        page.get_by_role("button", name="Sign in").click()
        settle(page)
        page.get_by_text("No review round yet").wait_for()
        page.get_by_text("Admin", exact=True).click()
        page.get_by_label("Campaign").fill("csv")
        page.locator('input[type="file"]').set_input_files(str(bad))
        page.get_by_role("button", name="Open round").click()
        settle(page)
        page.get_by_text("outside the workspace").first.wait_for()
        assert store.rounds().empty  # nothing queued
        if not page.get_by_label("Campaign").is_visible():  # the rerun folded the panel
            page.get_by_text("Admin", exact=True).click()
        page.get_by_label("Campaign").fill("csv")
        page.locator('input[type="file"]').set_input_files(str(good))
        page.get_by_role("button", name="Open round").click()
        settle(page)
        # At once, without another click: the new round is selected and its first candidate shown.
        page.get_by_text("Opened round").wait_for()
        assert page.get_by_role("combobox", name="Round").input_value() == "csv round 1 (open)"
        page.get_by_text("obj0").first.wait_for()
    assert store.rounds()["campaign"].tolist() == ["csv"]
    store.dispose()
