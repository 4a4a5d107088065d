"""GET /ui in headless Chromium: asks for a key, shows only that key's project, starts a streamed
run from its text box and shows the answer as it streams; a screenshot is kept for people."""
import os
import shutil
import time
from pathlib import Path

import httpx
import pytest

from conftest import ROOT, TLS_FILES

pytestmark = [pytest.mark.single_node,
              pytest.mark.skipif(TLS_FILES is not None, reason="runs once, in the plain HTTP pass")]

OUTPUT = Path(os.environ.get("RUNNEL_TEST_OUTPUT", ROOT / ".test-output"))


def browser():
    chromium, driver = shutil.which("chromium"), shutil.which("chromedriver")
    if not chromium or not driver:
        if os.environ.get("CI"):
            pytest.fail("chromium and chromium-driver are missing: the test command installs them")
        pytest.skip("needs Debian's chromium and chromium-driver")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for argument in ("--headless=new", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1400,900",
                     "--no-first-run", "--disable-extensions"):
        options.add_argument(argument)
    if os.geteuid() == 0:
        # Chromium's own sandbox refuses to run as root (CI's user); the page is our own.
        options.add_argument("--no-sandbox")
    return webdriver.Chrome(service=Service(driver), options=options)


def wait_for(condition, timeout=20.0, what="condition"):
    from selenium.common.exceptions import StaleElementReferenceException
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            value = condition()
        except StaleElementReferenceException:
            value = None  # the page redrew what was being read: look again
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def test_the_page_is_static_and_locked_down(runnel):
    page = httpx.get(f"http://127.0.0.1:{runnel.port}/ui", timeout=10)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    policy = page.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "connect-src 'self'" in policy
    script = httpx.get(f"http://127.0.0.1:{runnel.port}/ui/inspector.js", timeout=10)
    assert script.status_code == 200 and script.headers["content-type"].startswith("text/javascript")
    assert "innerHTML" not in script.text
    assert httpx.get(f"http://127.0.0.1:{runnel.port}/ui/nope.js", timeout=10).status_code == 404


def test_a_run_started_in_the_browser_streams_its_answer(start_runnel):
    server = start_runnel("--api-key", "key-mine", "--api-key", "key-other", "--echo-delay-ms", "40")
    mine, other = server.client(api_key="key-mine"), server.client(api_key="key-other")
    mine.beta.assistants.create(model="gpt-4o", name="Inspector bot")
    other.beta.assistants.create(model="gpt-4o", name="Someone else's bot")
    foreign_thread = other.beta.threads.create()
    prompt = "Hello inspector, these words come back one at a time over the stream"

    from selenium.webdriver.common.by import By
    driver = browser()
    try:
        driver.get(f"http://127.0.0.1:{server.port}/ui")
        status = lambda: driver.find_element(By.ID, "status").text
        wait_for(lambda: "needs an API key" in status(), what="the key prompt")
        driver.find_element(By.ID, "key").send_keys("key-mine")
        driver.find_element(By.ID, "connect").click()
        wait_for(lambda: "Inspector bot" in driver.find_element(By.ID, "assistants").text, what="the project's assistants")
        assert "Someone else" not in driver.page_source and foreign_thread.id not in driver.page_source

        driver.find_element(By.ID, "prompt").send_keys(prompt)
        driver.find_element(By.ID, "send").click()
        bubble = lambda: driver.find_elements(By.CSS_SELECTOR, ".message.assistant")
        # Part of the answer is on screen while the run still streams.
        partial = wait_for(lambda: [b.text for b in bubble() if "streaming" in b.get_attribute("class") and "Hello" in b.text],
                           what="a streaming answer")
        assert prompt not in partial[0]
        OUTPUT.mkdir(parents=True, exist_ok=True)
        driver.save_screenshot(str(OUTPUT / "inspector-streaming.png"))
        wait_for(lambda: driver.find_element(By.ID, "run-status").text == "completed" and not driver.find_elements(
            By.CSS_SELECTOR, ".message.streaming"), timeout=30, what="the run to complete")
        assert bubble()[-1].text.endswith(prompt)
        timeline = driver.find_element(By.ID, "timeline").text
        for event in ("thread.created", "thread.run.created", "thread.run.in_progress",
                      "thread.message.completed", "thread.run.completed", "done"):
            assert event in timeline, (event, timeline)

        # The run is stored where any client sees it, and opening it shows its steps and usage.
        threads = mine.beta.threads  # the thread the page created belongs to this key's project
        thread_id = driver.find_element(By.CSS_SELECTOR, "#threads li.selected").get_attribute("data-id")
        runs = threads.runs.list(thread_id=thread_id).data
        assert len(runs) == 1 and runs[0].status == "completed"
        messages = threads.messages.list(thread_id=thread_id, order="asc").data
        assert [m.content[0].text.value for m in messages] == [prompt, prompt]
        driver.find_element(By.CSS_SELECTOR, f'#runs li[data-id="{runs[0].id}"]').click()
        wait_for(lambda: "message creation" in driver.find_element(By.ID, "steps").text, what="the run's steps")
        summary = driver.find_element(By.ID, "run-summary").text
        assert "completed" in summary and f"= {runs[0].usage.total_tokens}" in summary

        # A run started elsewhere is joined over its event stream once it is opened.
        long_text = " ".join(f"joined{i}" for i in range(60))
        threads.messages.create(thread_id, role="user", content=long_text)
        elsewhere = threads.runs.create(thread_id=thread_id, assistant_id=runs[0].assistant_id)
        driver.find_element(By.CSS_SELECTOR, f'#threads li[data-id="{thread_id}"]').click()
        wait_for(lambda: driver.find_elements(By.CSS_SELECTOR, f'#runs li[data-id="{elsewhere.id}"]'), what="the new run in the list")
        driver.find_element(By.CSS_SELECTOR, f'#runs li[data-id="{elsewhere.id}"]').click()
        wait_for(lambda: [b for b in driver.find_elements(By.CSS_SELECTOR, ".message.assistant.streaming") if "joined" in b.text],
                 what="the joined run's answer streaming")
        wait_for(lambda: driver.find_element(By.ID, "run-status").text == "completed"
                 and not driver.find_elements(By.CSS_SELECTOR, ".message.streaming"), timeout=30, what="the joined run to end")
        assert bubble()[-1].text.endswith(long_text)
        assert "thread.run.completed" in driver.find_element(By.ID, "timeline").text

        shot = OUTPUT / "inspector.png"
        assert driver.save_screenshot(str(shot)) and shot.stat().st_size > 10_000
    finally:
        driver.quit()
