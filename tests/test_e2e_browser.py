"""The main paths in a real browser: `streamlit run app.py` driven by Playwright.

Debian's chromium (``/usr/bin/chromium``, installed by ``.ci/run``) is driven
through Playwright's Python API; nothing is downloaded. The app runs on a
fresh workspace holding a small mock sky and a seeded reviewer. The test opens
Home, generates an image on Compose, signs in on Review and votes (the vote is
then read back from the database), launches a job on Training (the viewer
follows it), plays a quiz round of five to its review pane, and saves one
screenshot per page: to ``tests/_artifacts/screens`` (ignored by git), or to
the folder in ``GALAXYSD_SCREENSHOTS`` — ``GALAXYSD_SCREENSHOTS=docs/img/screens``
refreshes the README tour.

The server and browser helpers are reused by ``benchmarks/app.py``.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import cancel_active_jobs

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = Path("/usr/bin/chromium")
# A test run must not rewrite tracked files, so the README's pictures are only
# refreshed on request.
SCREENS = Path(os.environ.get("GALAXYSD_SCREENSHOTS", ROOT / "tests" / "_artifacts" / "screens"))
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# (navigation label, screenshot name) of every page, in the sidebar's order.
PAGES = [
    ("Home", "home"),
    ("Dataset", "dataset"),
    ("Compose", "compose"),
    ("History", "history"),
    ("X/Y Grid", "grid"),
    ("Training", "training"),
    ("Metrics", "metrics"),
    ("Embedding Map", "embedding_map"),
    ("Quiz", "quiz"),
    ("Experiments", "experiments"),
    ("Review", "review"),
]
REVIEWER, PASSPHRASE = "ann", "correct horse battery"


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def streamlit_server(home: Path, *, log: Path, timeout: float = 90.0) -> Iterator[str]:
    """Run ``streamlit run app.py`` on a free port with ``GALAXYSD_HOME=home``; yield its URL.

    Waits for the health endpoint with a bounded poll; on exit cancels the jobs
    the app launched and kills its process group.
    """
    port = free_port()
    env = {**os.environ, "GALAXYSD_HOME": str(home), "OMP_NUM_THREADS": "2"}
    env.pop("GALAXYSD_DB_URL", None)
    command = [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port)]
    command += ["--server.address", "127.0.0.1", "--server.headless", "true"]
    with log.open("wb") as out:
        proc = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"streamlit exited with {proc.returncode}: {log.read_text()}")
            with (
                contextlib.suppress(OSError),
                urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as reply,
            ):
                if reply.status == 200:
                    break
            if time.monotonic() > deadline:
                raise TimeoutError(f"streamlit not healthy after {timeout} s: {log.read_text()}")
            time.sleep(0.25)
        yield url
    finally:
        cancel_active_jobs(home)  # job supervisors are not in the app's process group
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


@contextlib.contextmanager
def chromium_page(*, width: int = 1400, height: int = 1000) -> Iterator:
    """A Playwright page in Debian's chromium (no `playwright install`)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": width, "height": height})
            page.set_default_timeout(60_000)
            yield page
        finally:
            browser.close()


@contextlib.contextmanager
def open_app(home: Path, *, log: Path, path: str = "") -> Iterator:
    """The app on workspace ``home`` opened at ``path`` in chromium, its first run settled.

    Skips the test where Debian's chromium is not installed.
    """
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} not installed (apt-get install chromium)")
    with streamlit_server(home, log=log) as url, chromium_page() as page:
        page.goto(f"{url}/{path}")
        settle(page)
        yield page


def settle(page, *, timeout: float = 120_000) -> None:
    """Wait until the app's script run is over, then fail on any exception box.

    Streamlit marks the run state on its root element; pages must show errors
    with ``st.error``, so an ``stException`` element is a bug.
    """
    page.wait_for_timeout(300)  # let a rerun triggered by the last action begin
    page.wait_for_selector('[data-test-script-state="notRunning"]', timeout=timeout)
    page.wait_for_timeout(200)
    boxes = page.locator('[data-testid="stException"]')
    assert not boxes.count(), boxes.first.inner_text()


def go(page, label: str) -> None:
    """Open a page through the sidebar navigation and wait for it to render."""
    page.locator('[data-testid="stSidebarNav"]').get_by_text(label, exact=True).click()
    settle(page)


def shot(page, name: str) -> None:
    """Save the whole page: Streamlit scrolls inside its main block, so the
    viewport is stretched to the content's height for the picture."""
    SCREENS.mkdir(parents=True, exist_ok=True)
    size = page.viewport_size
    height = page.evaluate(
        "() => Math.max(...[...document.querySelectorAll('[data-testid=stMain], "
        "[data-testid=stMainBlockContainer]')].map(e => e.scrollHeight))"
    )
    page.set_viewport_size(
        {"width": size["width"], "height": min(max(height, size["height"]), 2400)}
    )
    page.wait_for_timeout(300)
    page.screenshot(path=str(SCREENS / f"{name}.png"))
    page.set_viewport_size(size)


def seed_workspace(root: Path, sky: Path) -> dict:
    """A workspace with a built default sky, one reviewer and one open round of candidates."""
    from galaxysd_core.db import database_url
    from galaxysd_core.paths import workspace
    from galaxysd_core.review import ReviewStore

    ws = workspace(root).ensure()
    shutil.copytree(sky, ws.sky / "default")
    store = ReviewStore(database_url(ws))
    store.add_reviewer(REVIEWER, PASSPHRASE)
    images = sorted((ws.sky / "default" / "images").glob("*.jpg"))[:3]
    candidates = [
        {"object_id": p.stem, "image": str(p), "score": 0.9 - i / 10, "ra": 150.0 + i, "dec": 2.0}
        for i, p in enumerate(images)
    ]
    round_id = store.open_round("e2e", candidates)
    return {"ws": ws, "store": store, "round_id": round_id}


@pytest.mark.browser
@pytest.mark.slow
def test_main_paths_in_a_real_browser(tmp_path, mock_sky):
    seeded = seed_workspace(tmp_path / "ws", mock_sky)
    store = seeded["store"]
    with open_app(seeded["ws"].root, log=tmp_path / "streamlit.log") as page:
        page.get_by_role("heading", name="GalaxySD Studio").wait_for()
        shot(page, "home")

        go(page, "Compose")
        page.get_by_role("button", name="Generate").first.click()
        settle(page, timeout=240_000)
        page.locator('[data-testid="stMain"] [data-testid="stImage"] img').first.wait_for()
        shot(page, "compose")

        go(page, "Review")
        page.get_by_label("Reviewer name").fill(REVIEWER)
        page.get_by_label("Passphrase").fill(PASSPHRASE)
        page.get_by_role("button", name="Sign in").click()
        settle(page)
        page.get_by_role("button", name="Yes (Y)").click()
        settle(page)
        shot(page, "review")
        votes = store.votes(seeded["round_id"])
        assert votes[["reviewer", "label"]].to_dict("records") == [
            {"reviewer": REVIEWER, "label": "yes"}
        ]

        go(page, "Training")
        page.get_by_label("n", exact=True).fill("16")
        page.get_by_label("n", exact=True).press("Enter")
        settle(page)
        page.get_by_text(re.compile(r"^Estimated: .* images")).wait_for()  # the estimate
        page.get_by_role("button", name="Launch").click()
        settle(page)
        launched = page.get_by_text(re.compile(r"^Job \S+ launched")).inner_text().split()[1]
        viewer = page.get_by_role("combobox", name="Job", exact=True)
        assert viewer.input_value() == launched  # the viewer follows the new job
        shot(page, "training")

        # First visit: the page launches the pool builder and waits for five questions.
        go(page, "Quiz")
        page.get_by_label("Your name (for the leaderboard)").fill("e2e")
        page.get_by_label("Your name (for the leaderboard)").press("Enter")
        page.get_by_text("Question 1 of 5", exact=False).wait_for(timeout=300_000)
        settle(page)
        for k in range(5):
            page.get_by_text(f"Question {k + 1} of 5", exact=False).wait_for()
            page.get_by_role("button", name="Generated", exact=True).first.click()
            settle(page)
        page.get_by_text(re.compile(r"^You found \d of 5")).wait_for()
        page.get_by_text(re.compile(r"Picking at random finds 25%")).wait_for()
        shot(page, "quiz")
        board = store.quiz_leaderboard(limit=10)
        assert board[["username", "answers"]].to_dict("records") == [
            {"username": "e2e", "answers": 5}
        ]
        # Once the pool exists the page opens at once (goal: <= 3 s).
        go(page, "Home")
        start = time.monotonic()
        page.locator('[data-testid="stSidebarNav"]').get_by_text("Quiz", exact=True).click()
        page.get_by_role("button", name="New round").wait_for()
        opened = time.monotonic() - start
        print(f"quiz page open with its pool: {opened:.2f} s")
        assert opened < 10.0  # 3 s is the goal on an idle machine; this one is shared

        for label, name in PAGES:
            if name in ("home", "compose", "review", "quiz", "training"):
                continue
            go(page, label)
            shot(page, name)

    from galaxysd_core import jobs

    for job_id in jobs.list_jobs(workspace=seeded["ws"])["id"]:  # e.g. the quiz pool's top-up
        jobs.cancel(job_id, workspace=seeded["ws"], wait=True, timeout=60)
    for _label, name in PAGES:
        assert (SCREENS / f"{name}.png").stat().st_size > 10_000, f"no screenshot of {name}"
