"""Notebook 00 in a real browser: JupyterLab on loopback, headless Chromium driven by Playwright.

Runs every cell of the student notebook, then checks what a student would see and hear: the
Player's audio element has a duration, playing moves the playhead, clicking the roll seeks,
the chorale's score lights the notes sounding and clicking a note seeks to it, and moving a
Sampler slider changes the music. Screenshots are saved to ``output/browser/``. Without
Chromium (``apt install chromium``) or the ``playwright`` package the test is skipped, saying
which is missing.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = "00_setup_check.ipynb"
SCREENSHOT = ROOT / "output" / "browser" / "00_setup_check.png"
CHROMIUM = os.environ.get("COURSE_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--autoplay-policy=no-user-gesture-required",
    "--mute-audio",
]

try:
    from playwright.sync_api import expect, sync_playwright
except ImportError:  # pragma: no cover - depends on the machine
    sync_playwright = None

MISSING = (
    "the playwright package is not installed (requirements.txt)"
    if sync_playwright is None
    else "no Chromium found: install it (Debian: apt install chromium) or set COURSE_CHROMIUM"
    if CHROMIUM is None
    else None
)
# CI sets COURSE_REQUIRE_BROWSER=1, so there a missing browser fails instead of skipping quietly.
if MISSING and os.environ.get("COURSE_REQUIRE_BROWSER") == "1":
    raise RuntimeError(f"COURSE_REQUIRE_BROWSER=1 but {MISSING}")
pytestmark = pytest.mark.skipif(MISSING is not None, reason=MISSING or "")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def lab_url(tmp_path_factory):
    """A JupyterLab serving a copy of notebook 00 on 127.0.0.1 only; no token, as nothing else can reach it."""
    work = tmp_path_factory.mktemp("lab")
    served = work / "notebooks"
    served.mkdir()
    shutil.copy(ROOT / "notebooks" / NOTEBOOK, served / NOTEBOOK)
    news = work / "settings" / "@jupyterlab" / "apputils-extension" / "notification.jupyterlab-settings"
    news.parent.mkdir(parents=True)
    news.write_text('{"fetchNews": "false"}')  # no "notified about news?" toast over the screenshot
    port = free_port()
    env = dict(os.environ, JUPYTER_CONFIG_DIR=str(work / "config"), JUPYTER_RUNTIME_DIR=str(work / "runtime"))
    command = [
        sys.executable, "-m", "jupyter", "lab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
        f"--ServerApp.root_dir={served}", "--IdentityProvider.token=", "--ServerApp.password=",
        f"--LabApp.user_settings_dir={work / 'settings'}", f"--LabApp.workspaces_dir={work / 'workspaces'}",
        "--LabApp.expose_app_in_browser=True",  # window.jupyterapp runs commands without clicking menus
    ]  # fmt: skip
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        command.append("--allow-root")  # containers and CI run as root
    log = (work / "lab.log").open("w")
    server = subprocess.Popen(command, cwd=work, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(f"{url}/api/status", timeout=2) as reply:
                    if json.load(reply) is not None:
                        break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    pytest.fail("JupyterLab did not start:\n" + (work / "lab.log").read_text()[-3000:])
                time.sleep(0.5)
        yield url
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()


def test_notebook_00_plays_seeks_and_responds_in_chromium(lab_url):
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(f"{lab_url}/lab/tree/{NOTEBOOK}?reset")
            expect(page.locator(".jp-Notebook")).to_be_visible(timeout=60_000)
            expect(page.locator("#jp-main-statusbar")).to_contain_text("Idle", timeout=60_000)
            page.evaluate("window.jupyterapp.commands.execute('notebook:run-all-cells')")  # Run > Run All Cells
            # the last code cell prints this once everything above it has run
            expect(page.get_by_text("starts on F4")).to_be_visible(timeout=120_000)

            players = page.locator(".course-player")
            expect(players).to_have_count(3, timeout=30_000)  # the scale, the chorale, the sampler's
            scale = players.nth(0)
            audio = scale.locator("audio")
            page.wait_for_function("a => a.duration > 0", arg=audio.element_handle(), timeout=30_000)
            assert audio.evaluate("a => a.duration") == pytest.approx(2.3, abs=0.05)  # 4 beats at 120 bpm + tail

            head = scale.locator(".course-player-playhead")
            scale.scroll_into_view_if_needed()
            start_left = head.evaluate("h => parseFloat(h.style.left)")
            audio.evaluate("a => a.play()")
            page.wait_for_function("a => a.currentTime > 0.5", arg=audio.element_handle(), timeout=10_000)
            audio.evaluate("a => a.pause()")
            moved_left = head.evaluate("h => parseFloat(h.style.left)")
            assert moved_left > start_left + 5  # percent of the picture's width

            roll = scale.locator(".course-player-roll")
            box = roll.bounding_box()
            roll.click(position={"x": box["width"] * 0.5, "y": box["height"] * 0.5})
            page.wait_for_function("a => Math.abs(a.currentTime - 1.0) < 0.25", arg=audio.element_handle())
            assert head.evaluate("h => parseFloat(h.style.left)") == pytest.approx(50, abs=2)

            # the chorale's score: the notes sounding light up as it plays, and clicking a note seeks
            chorale = players.nth(1)
            chorale_audio = chorale.locator("audio")
            page.wait_for_function("a => a.duration > 0", arg=chorale_audio.element_handle(), timeout=30_000)
            score = chorale.locator(".course-player-score")
            expect(score.locator("g.note").first).to_be_attached(timeout=30_000)
            lit = score.locator("g.note.course-score-on")
            first_lit = lit.evaluate_all("notes => notes.map(n => n.id)")
            assert 1 <= len(first_lit) <= 4  # the opening chord (or the pickup's notes)
            chorale_audio.evaluate("a => a.play()")
            page.wait_for_function("a => a.currentTime > 1.5", arg=chorale_audio.element_handle(), timeout=10_000)
            chorale_audio.evaluate("a => a.pause()")
            later_lit = lit.evaluate_all("notes => notes.map(n => n.id)")
            assert later_lit and set(later_lit) != set(first_lit)
            lit_colour = lit.first.evaluate("n => getComputedStyle(n).fill")
            assert lit_colour == "rgb(0, 160, 96)"  # the highlight colour of player.css
            before = chorale_audio.evaluate("a => a.currentTime")
            target = score.locator("g.note").nth(30)  # a note some bars in
            target.scroll_into_view_if_needed()
            target.locator(".notehead").first.click()  # where a student clicks: on the notehead
            page.wait_for_function(
                f"a => Math.abs(a.currentTime - {before}) > 0.2", arg=chorale_audio.element_handle(), timeout=10_000
            )
            seek = chorale_audio.evaluate("a => a.currentTime")
            target_id = target.evaluate("n => n.id")
            assert target_id in lit.evaluate_all("notes => notes.map(n => n.id)")  # the clicked note is lit
            beats = seek * 96 / 60  # seconds at the chorale's 96 beats per minute, in beats
            assert abs(beats * 2 - round(beats * 2)) < 0.02  # it seeks to a note's onset: on the eighth-note grid
            SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
            chorale.screenshot(path=str(SCREENSHOT.with_name("00_setup_check_score.png")))

            sampler = players.nth(2)
            sampler_audio = sampler.locator("audio")
            page.wait_for_function("a => a.duration > 0", arg=sampler_audio.element_handle(), timeout=30_000)
            assert sampler_audio.evaluate("a => a.duration") == pytest.approx(1.3, abs=0.05)  # 240 bpm, set by code
            old_source = sampler_audio.evaluate("a => a.src")
            tempo = page.locator(".widget-slider", has_text="tempo")
            tempo.locator(".noUi-handle").focus()
            page.keyboard.press("Home")  # the slider's minimum: 60 beats per minute
            page.wait_for_function(
                "a => Math.abs(a.duration - 4.3) < 0.05", arg=sampler_audio.element_handle(), timeout=30_000
            )
            assert sampler_audio.evaluate("a => a.src") != old_source
            expect(tempo.locator(".widget-readout")).to_have_text(re.compile(r"^60(\.0*)?$"))

            sampler.scroll_into_view_if_needed()
            SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(SCREENSHOT))
        finally:
            browser.close()
