"""The web app in a real browser (Playwright driving Debian's Chromium) against a real stack:
`imagine-med web` and a phantom worker as processes, the test Redis, a SQLite store.

One stack and one browser for the module; each test opens its own context (cookies). What is
asserted is measured on the page: the preview's words, the progress seen while rendering, the
images' decoded sizes, the canvas pixels of the CT stack, the audit rows on the dashboard.
Screenshots go to docs/web/ (with IMAGINE_MED_WEB_SCREENSHOTS=1) so the pages can be seen in
the repository."""

from __future__ import annotations

import hashlib
import io
import json
import math
import os
import re
import tempfile
import time
import urllib.error
import urllib.request
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image
from web_support import CHROMIUM_ARGS, MODERATOR, WebStack, chromium, start_stack

from imagine_med.grid import gutter_px

# docs/web/ is refreshed only on request (IMAGINE_MED_WEB_SCREENSHOTS=1), so a test run leaves
# the working tree as it was; otherwise the screenshots go to a temporary folder
DOCS_SHOTS = Path(__file__).resolve().parents[1] / "docs" / "web"
SHOTS = DOCS_SHOTS if os.environ.get("IMAGINE_MED_WEB_SCREENSHOTS") == "1" else Path(
    tempfile.gettempdir()) / "imagine-med-web-shots"
PASSWORD = "correct horse battery"


@pytest.fixture(scope="module")
def stack(redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebStack]:
    s = start_stack(tmp_path_factory.mktemp("web"), redis_url,
                    IMAGINE_MED_WEB_SLACK_CLIENT_ID="123.456",
                    IMAGINE_MED_WEB_SLACK_CLIENT_SECRET="not-a-real-secret")
    s.account("alice")
    s.account("bob")
    s.account(MODERATOR)
    try:
        yield s
    finally:
        s.stop()


@pytest.fixture(scope="module")
def browser(stack: WebStack) -> Iterator[Any]:
    exe = chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=exe, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


def signed_in(browser: Any, stack: WebStack, name: str, **ctx: Any) -> Any:
    context = browser.new_context(base_url=stack.url, **ctx)
    context.set_default_timeout(60_000)
    page = context.new_page()
    page.goto("/login")
    page.fill("#login-user", name)
    page.fill("#login-pass", PASSWORD)
    page.click("form[action='/login'] button[type=submit]")
    page.wait_for_url(stack.url + "/")
    return page


def shot(page: Any, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / name), full_page=True)


def record_states(page: Any) -> None:
    """Keep every text the job cards' status lines show (progress can pass quickly)."""
    page.evaluate("""() => {
      window.__states = [];
      new MutationObserver(() => {
        for (const s of document.querySelectorAll('.job .state'))
          window.__states.push(s.textContent);
      }).observe(document.getElementById('jobs'),
                 {subtree: true, childList: true, characterData: true});
    }""")


def submit(page: Any, prompt: str, size: str = "256") -> Any:
    page.fill("#prompt", prompt)
    page.select_option("#f-size", size)
    page.click("#submit")
    first = page.locator(".job").first
    first.wait_for()
    return page.locator(f"#job-{first.get_attribute('data-job')}")  # later cards go above


def wait_done(card: Any) -> None:
    card.locator("img.grid").wait_for(timeout=120_000)
    assert card.get_attribute("data-state") == "done"


def natural_width(page: Any, locator: Any) -> int:
    locator.wait_for()
    page.wait_for_function("(img) => img.complete && img.naturalWidth > 0",
                           arg=locator.element_handle())
    return int(locator.evaluate("(img) => img.naturalWidth"))


def test_prompt_preview_submit_progress_grid_upscale_and_answer_key(browser: Any,
                                                                    stack: WebStack) -> None:
    page = signed_in(browser, stack, "alice")
    page.fill("#prompt", "PA chest x-ray, left pleural effusion, purple elephant")
    preview = page.locator("#preview")
    preview.get_by_text("pleural effusion (left)").wait_for()
    assert "Interpreted as: PA chest X-ray" in preview.inner_text()
    ignored = preview.locator(".ignored").inner_text()
    assert "purple" in ignored and "elephant" in ignored
    page.select_option("#f-size", "256")
    preview.get_by_text("256x256").wait_for()  # the size control reaches the parser too
    shot(page, "playground-preview.png")

    record_states(page)
    page.click("#submit")
    first = page.locator(".job").first
    first.wait_for()
    card = page.locator(f"#job-{first.get_attribute('data-job')}")
    wait_done(card)
    states = page.evaluate("window.__states")
    running = [s for s in states if s.startswith("Running:")]
    percents = {int(m) for s in running for m in re.findall(r"(\d+)%", s)}
    assert any(0 < p < 100 for p in percents), states  # progress was shown while rendering
    grid = card.locator("img.grid")
    assert natural_width(page, grid) == 2 * 256 + gutter_px(256)  # 2x2 tiles of 256 px
    assert grid.get_attribute("alt").startswith("Synthetic teaching image (not a real patient)")
    labels = [b.inner_text() for b in card.locator(".buttons button").all()]
    assert labels[:8] == ["U1", "U2", "U3", "U4", "V1", "V2", "V3", "V4"]
    assert {"Reroll", "Refine", "Answer key", "DICOM"} <= set(labels)
    shot(page, "playground-grid.png")

    card.get_by_role("button", name="U2", exact=True).click()
    upscale = page.locator(".job", has=page.locator(".kind", has_text="upscale")).first
    wait_done(upscale)
    assert natural_width(page, upscale.locator("img.grid")) == 512  # variant 2 at 2x

    card.get_by_role("button", name="Answer key", exact=True).click()
    key = card.locator(".notes .reply").first
    key.wait_for()
    assert "Answer key for this case" in key.inner_text()
    assert "effusion" in key.inner_text().lower()
    overlay = key.locator("img.attachment")
    assert natural_width(page, overlay) == 512  # the four variants' label overlays, tiled
    shot(page, "playground-answer-key.png")

    card.get_by_role("button", name="DICOM", exact=True).click()
    export = page.locator(".job", has=page.locator(".kind", has_text="dicom")).first
    link = export.locator("a[download]")
    link.wait_for(timeout=120_000)
    archive = page.request.get(link.get_attribute("href"))
    names = zipfile.ZipFile(io.BytesIO(archive.body())).namelist()
    assert {f"variant-{i}.dcm" for i in range(1, 5)} <= set(names), names
    page.context.close()


def test_ct_stack_scrolls_and_windows_with_answer_key_outlines(browser: Any,
                                                                stack: WebStack) -> None:
    page = signed_in(browser, stack, "alice")
    card = submit(page, "chest CT, axial at the carina, right upper lobe spiculated mass, "
                        "lung window")
    wait_done(card)
    card.locator(".viewers a", has_text="variant 1").click()
    page.wait_for_url(re.compile(r"/case/[0-9a-f]+/1$"))

    page.click("#key-toggle")
    page.wait_for_function("() => document.getElementById('overlay').dataset.outlinePixels > 0")
    assert "mass" in page.locator("#key-body").inner_text().lower()
    # the outlines lie on the image: the overlay covers exactly the image's box
    box = page.locator("#image").bounding_box()
    over = page.locator("#overlay").bounding_box()
    assert all(abs(box[k] - over[k]) < 1 for k in ("x", "y", "width", "height")), (box, over)
    # names on hover: point at the outlined finding's label pixels
    xy = page.evaluate("""() => {
      const o = document.getElementById('overlay'), ctx = o.getContext('2d');
      const d = ctx.getImageData(0, 0, o.width, o.height).data;
      for (let i = 0; i < d.length / 4; i++)
        if (d[4 * i + 3]) return [i % o.width, Math.floor(i / o.width), o.width, o.height];
    }""")
    page.mouse.move(box["x"] + (xy[0] + 0.5) * box["width"] / xy[2],
                    box["y"] + (xy[1] + 0.5) * box["height"] / xy[3])
    page.wait_for_function("() => document.getElementById('hover').textContent.includes('mass')")

    page.click("#stack-load")
    canvas = page.locator("#slice")
    page.wait_for_function("() => document.getElementById('slice').dataset.ready === 'yes'",
                           timeout=120_000)

    def state() -> dict[str, str]:
        return canvas.evaluate("(c) => ({...c.dataset})")

    def pixels() -> str:
        return hashlib.sha256(canvas.evaluate(
            "(c) => Array.from(c.getContext('2d').getImageData(0, 0, c.width, c.height).data"
            ".filter((_, i) => i % 4 === 0)).join(',')").encode()).hexdigest()

    first, before = state(), pixels()
    assert first["index"] == "4" and first["ww"] == "1500"  # the centre slice, lung window
    canvas.hover()
    page.mouse.wheel(0, 120)
    page.wait_for_function("() => document.getElementById('slice').dataset.index === '5'")
    after = state()
    assert float(after["levelMm"]) - float(first["levelMm"]) == pytest.approx(5.0)
    assert pixels() != before  # another slice is shown
    canvas.focus()
    page.keyboard.press("ArrowUp")
    page.keyboard.press("ArrowUp")
    assert state()["index"] == "3"

    lung = pixels()
    page.click(".preset[data-window='bone']")
    bone = state()
    assert (bone["wc"], bone["ww"]) == ("400", "1800") or bone["ww"] != "1500"
    assert pixels() != lung
    # drag to the right widens the window (on the raw HU, in the page)
    canvas.scroll_into_view_if_needed()
    cb = canvas.bounding_box()
    page.mouse.move(cb["x"] + cb["width"] / 2, cb["y"] + cb["height"] / 2)
    page.mouse.down()
    page.mouse.move(cb["x"] + cb["width"] / 2 + 50, cb["y"] + cb["height"] / 2, steps=5)
    page.mouse.up()
    assert int(state()["ww"]) == int(bone["ww"]) + 200

    # distance: 100 canvas pixels across, at the variant's pixel spacing
    spacing = float(page.locator("#viewer").get_attribute("data-spacing"))
    page.click("#m-distance")
    canvas.scroll_into_view_if_needed()
    cb = canvas.bounding_box()
    scale = cb["width"] / int(canvas.evaluate("(c) => c.width"))
    page.mouse.move(cb["x"] + 50 * scale, cb["y"] + 60 * scale)
    page.mouse.down()
    page.mouse.move(cb["x"] + 150 * scale, cb["y"] + 60 * scale, steps=4)
    page.mouse.up()
    mm = float(page.locator("#m-out").get_attribute("data-mm"))
    assert mm == pytest.approx(100 * spacing, rel=0.03)
    # ROI mean in the air outside the body (a corner) reads air: about -1000 HU
    page.click("#m-roi")
    canvas.scroll_into_view_if_needed()
    cb = canvas.bounding_box()
    page.mouse.move(cb["x"] + 2 * scale, cb["y"] + 2 * scale)
    page.mouse.down()
    page.mouse.move(cb["x"] + 14 * scale, cb["y"] + 14 * scale, steps=3)
    page.mouse.up()
    mean = float(page.locator("#m-out").get_attribute("data-mean"))
    assert -1030 < mean < -950, mean
    shot(page, "case-ct-stack.png")
    page.context.close()


def test_moderator_approves_a_held_prompt_and_the_audit_log_shows_it(browser: Any,
                                                                     stack: WebStack) -> None:
    alice = signed_in(browser, stack, "alice")
    alice.fill("#prompt", "PA chest x-ray of a celebrity")
    alice.click("#submit")
    held = alice.locator("#messages .reply").first
    held.wait_for()
    assert "held for review" in held.inner_text()

    mod = signed_in(browser, stack, MODERATOR)
    mod.goto("/mod")
    item = mod.locator("article.review").filter(has_text="celebrity").first
    item.wait_for()
    assert "web:local:alice" in item.inner_text()
    item_id = item.locator("input[name=item]").get_attribute("value")
    shot(mod, "moderation-queue.png")
    item.get_by_role("button", name="Approve").click()
    mod.locator("p.ok").wait_for()
    assert f"Approved {item_id}" in mod.locator("p.ok").inner_text()
    rows = mod.locator("table.audit tbody tr").filter(has_text="approve")
    assert rows.count() >= 1
    assert "local:moda" in rows.first.inner_text() and item_id in rows.first.inner_text()
    assert "intact" in mod.locator("#h-audit + p").inner_text()
    mod.fill("#flt-event", "approve")
    mod.click(".filters button[type=submit]")
    events = {c.inner_text() for c in mod.locator("table.audit tbody tr td:nth-child(3)").all()}
    assert events == {"approve"}
    shot(mod, "moderation-audit.png")
    csv = mod.request.get("/mod/audit.csv?event=approve")
    assert csv.ok and "approve" in csv.text() and csv.text().startswith("seq,")
    lines = mod.request.get("/mod/audit.jsonl?event=approve").text().splitlines()
    assert lines and all(json.loads(x)["event"] == "approve" for x in lines)
    # the approved job now runs for alice like any other
    alice.goto("/history")
    alice.locator(".history li").filter(has_text="done").first.wait_for(timeout=60_000)
    alice.context.close()
    mod.context.close()


def finished_job(browser: Any, stack: WebStack, name: str, prompt: str) -> str:
    """A finished job of `name`'s, made through the page's API."""
    page = signed_in(browser, stack, name)
    token = page.locator("meta[name=csrf-token]").get_attribute("content")
    made = page.request.post("/api/imagine", data={"prompt": prompt},
                             headers={"X-CSRF-Token": token}).json()
    job = made["jobs"][0]
    deadline = time.monotonic() + 120
    while job["state"] != "done" and time.monotonic() < deadline:
        time.sleep(0.2)
        job = page.request.get(f"/api/jobs/{job['id']}").json()
    assert job["state"] == "done", job
    page.context.close()
    return str(job["id"])


def test_a_non_moderator_gets_403_on_the_dashboard(browser: Any, stack: WebStack) -> None:
    page = signed_in(browser, stack, "bob")
    assert page.goto("/mod").status == 403
    assert "Moderators only" in page.locator("[role=alert]").inner_text()
    assert page.request.get("/mod/audit.csv").status == 403
    assert page.locator("a[href='/mod']").count() == 0
    # nor are other people's jobs his: their files, case pages and buttons
    from imagine_med.bot.ids import Action, encode

    theirs = finished_job(browser, stack, "alice", "PA chest x-ray, normal --size 128")
    assert page.request.get(f"/jobs/{theirs}/files/grid.png").status == 404
    assert page.request.get(f"/case/{theirs}/1").status == 404
    page.goto("/")
    token = page.locator("meta[name=csrf-token]").get_attribute("content")
    pressed = page.request.post("/api/press", data={"id": encode(Action.UPSCALE, theirs, 1)},
                                headers={"X-CSRF-Token": token}).json()
    assert "not yours" in pressed["replies"][0]["text"] and not pressed["jobs"]
    page.context.close()


def test_a_post_without_the_csrf_token_is_refused(browser: Any, stack: WebStack) -> None:
    page = signed_in(browser, stack, "bob")
    token = page.locator("meta[name=csrf-token]").get_attribute("content")
    body = {"prompt": "PA chest x-ray, normal"}
    refused = page.request.post("/api/preview", data=body)
    assert refused.status == 403 and "CSRF" in refused.text()
    assert page.request.post("/logout", form={}).status == 403
    assert page.request.post("/logout", form={"csrf": "forged"}).status == 403
    ok = page.request.post("/api/preview", data=body, headers={"X-CSRF-Token": token})
    assert ok.status == 200 and "normal" in ok.json()["cases"][0]["interpreted"].lower()
    page.context.close()


def test_security_headers_cookies_and_sign_in(stack: WebStack) -> None:
    """Without a browser: the CSP and cookie flags as sent, a tampered cookie is no session,
    and a wrong password is refused with the same words as an unknown name."""
    with urllib.request.urlopen(stack.url + "/login") as r:
        csp = r.headers["Content-Security-Policy"]
        cookie = r.headers["Set-Cookie"]
    assert "script-src 'self'" in csp and "'unsafe-inline'" not in csp
    assert "frame-ancestors 'none'" in csp
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    value = cookie.split(";")[0].split("=", 1)[1]
    forged = value[:-2] + ("AA" if not value.endswith("AA") else "BB")
    req = urllib.request.Request(stack.url + "/",
                                 headers={"Cookie": f"imagine_med_session={forged}"})
    with urllib.request.urlopen(req) as r:  # redirected to the sign-in page: no session
        assert r.url.startswith(stack.url + "/login")
    import sqlalchemy as sa

    with sa.create_engine(stack.database_url).connect() as conn:
        stored = conn.execute(sa.text("SELECT password_hash FROM web_accounts "
                                      "WHERE key = 'local:alice'")).scalar_one()
    assert stored.startswith("$argon2id$") and PASSWORD not in stored


def test_phone_sized_layout(browser: Any, stack: WebStack) -> None:
    page = signed_in(browser, stack, "alice", viewport={"width": 390, "height": 844})
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390  # no sideways scrolling on a phone
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip"
    shot(page, "playground-phone.png")
    page.context.close()


def test_pages_need_an_account(stack: WebStack) -> None:
    try:
        urllib.request.urlopen(stack.url + "/api/recent")
        raise AssertionError("answered without a session")
    except urllib.error.HTTPError as exc:
        assert exc.code == 401


def test_a_refused_prompt_is_appealed_and_the_moderator_upholds_it_with_a_reason(
        browser: Any, stack: WebStack) -> None:
    bob = signed_in(browser, stack, "bob")
    bob.fill("#prompt", "PA chest x-ray, sexy nurse")
    bob.click("#submit")
    refused = bob.locator("#messages .reply").first
    refused.wait_for()
    assert "cannot be rendered" in refused.inner_text()
    appeal = bob.locator("form.appeal")
    appeal.locator("textarea").fill("a uniform question for the nursing course")
    appeal.get_by_role("button", name="Send appeal").click()
    bob.get_by_text("Your appeal is with the moderators.").wait_for()

    mod = signed_in(browser, stack, MODERATOR)
    mod.goto("/mod")
    item = mod.locator("article.review").filter(has_text="nursing course").first
    assert "Appeal" in item.locator("h3").inner_text()
    item.get_by_role("button", name="Reject").click()  # no reason: refused, still pending
    assert "Give a reason" in mod.locator("p.error").inner_text()
    item = mod.locator("article.review").filter(has_text="nursing course").first
    item.locator("input[name=reason]").fill("explicit wording stays refused")
    item.get_by_role("button", name="Reject").click()
    mod.locator("p.ok").wait_for()
    upheld = mod.locator("table.audit tbody tr").filter(has_text="appeal_upheld").first
    assert "explicit wording stays refused" in upheld.inner_text()
    mod.fill("#lookup", "web:local:bob")
    mod.get_by_role("button", name="Look up").click()
    assert "1 active strike;" in mod.locator("#h-people ~ p").first.inner_text()
    bob.context.close()
    mod.context.close()


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def test_sign_in_with_slack_sends_the_browser_to_slack_with_state_and_pkce(
        stack: WebStack) -> None:
    """The provider cannot be reached from a test, so up to the redirect and the callback's
    state check: an authorization-code request with PKCE (S256), a state kept in the session,
    and a callback carrying another state refused."""
    from urllib.parse import parse_qs, urlsplit

    opener = urllib.request.build_opener(_NoRedirect)
    with opener.open(stack.url + "/login") as r:
        assert "Sign in with Slack" in r.read().decode()
    with pytest.raises(urllib.error.HTTPError) as found:
        opener.open(stack.url + "/auth/slack")
    assert found.value.code == 302
    where = urlsplit(found.value.headers["Location"])
    q = {k: v[0] for k, v in parse_qs(where.query).items()}
    assert f"{where.scheme}://{where.netloc}{where.path}" == (
        "https://slack.com/openid/connect/authorize")
    assert q["client_id"] == "123.456" and q["response_type"] == "code"
    assert q["scope"] == "openid profile" and q["code_challenge_method"] == "S256"
    assert q["redirect_uri"] == stack.url + "/auth/slack/callback"
    assert len(q["state"]) >= 20 and len(q["code_challenge"]) == 43 and q["nonce"]
    cookie = found.value.headers["Set-Cookie"].split(";")[0]
    req = urllib.request.Request(stack.url + "/auth/slack/callback?code=x&state=forged",
                                 headers={"Cookie": cookie})
    with pytest.raises(urllib.error.HTTPError) as stale:
        opener.open(req)
    assert stale.value.code == 400 and "stale" in stale.value.read().decode()
    with pytest.raises(urllib.error.HTTPError) as missing:
        opener.open(stack.url + "/auth/discord")
    assert missing.value.code == 404


def test_paint_a_sketch_and_render_it_and_bad_sketches_get_clear_messages(
        browser: Any, stack: WebStack, tmp_path: Path) -> None:
    from imagine_med.engine.phantom.sketch.palette import BY_NAME

    page = signed_in(browser, stack, "alice", viewport={"width": 1280, "height": 1400})
    page.goto("/sketch")
    canvas = page.locator("#canvas")

    def paint(name: str, x0: int, y0: int, x1: int, y1: int) -> None:
        page.locator(".swatch-btn", has_text=name.replace("_", " ")).first.click()
        page.fill("#brush", "20")
        canvas.scroll_into_view_if_needed()
        box = canvas.bounding_box()
        k = box["width"] / 256  # canvas pixels -> screen
        for y in range(y0 + 10, y1 - 9, 12):  # strokes 20 px wide, 12 px apart: filled
            page.mouse.move(box["x"] + (x0 + 10) * k, box["y"] + y * k)
            page.mouse.down()
            page.mouse.move(box["x"] + (x1 - 10) * k, box["y"] + y * k, steps=4)
            page.mouse.up()

    paint("soft_tissue", 20, 20, 236, 236)
    paint("lung", 40, 40, 120, 200)
    paint("lung", 136, 40, 216, 200)
    paint("consolidation", 60, 140, 110, 190)
    page.select_option("#s-modality", "xray")
    page.select_option("#s-size", "256")
    shot(page, "sketch-painted.png")
    page.click("#render")
    first = page.locator(".job").first
    first.wait_for()
    card = page.locator(f"#job-{first.get_attribute('data-job')}")
    wait_done(card)
    job = first.get_attribute("data-job")
    # the written label map holds the painted consolidation where it was painted
    labels_png = page.request.get(f"/jobs/{job}/files/variant-1.labels.png").body()
    labels = np.asarray(Image.open(io.BytesIO(labels_png)))[:256, :256]
    case = page.request.get(f"/jobs/{job}/files/case.json").json()
    ids = {name: int(i) for i, name in case["variants"][0]["labels"].items()}
    painted = np.zeros((256, 256), bool)
    painted[140:190, 60:110] = True
    got = labels == ids["consolidation"]
    iou = (got & painted).sum() / (got | painted).sum()
    assert iou > 0.8, iou
    film = np.asarray(Image.open(io.BytesIO(page.request.get(
        f"/jobs/{job}/files/variant-1.png").body())).convert("L"), float)[:256, :256]
    lung = labels == ids["lung"]
    assert film[got].mean() > film[lung].mean() + 10  # consolidation is whiter than lung
    shot(page, "sketch-rendered.png")

    page.click("#clear")
    page.click("#render")
    page.get_by_text("The sketch is empty").wait_for()
    odd = tmp_path / "odd.png"
    rgb = np.full((128, 128, 3), 255, np.uint8)
    rgb[20:100, 20:100] = (12, 200, 90)  # not a palette colour
    assert min(np.linalg.norm(np.array(e.rgb) - (12, 200, 90)) for e in BY_NAME.values()) > 28
    Image.fromarray(rgb).save(odd)
    page.set_input_files("#upload", str(odd))
    page.click("#render")
    page.get_by_text("colours that are not in the palette").wait_for()
    assert "#0cc85a" in page.locator("#messages .reply").first.inner_text().lower()
    page.context.close()


def test_brain_mri_stack_windows_on_the_raw_signal(browser: Any, stack: WebStack) -> None:
    page = signed_in(browser, stack, "bob")
    card = submit(page, "brain MRI, FLAIR, left MCA infarct", size="256")
    wait_done(card)
    job = card.get_attribute("data-job")
    page.goto(f"/case/{job}/1")
    case = page.request.get(f"/jobs/{job}/files/case.json").json()
    tags = case["variants"][0]["tags"]
    page.click("#stack-load")
    canvas = page.locator("#slice")
    page.wait_for_function("() => document.getElementById('slice').dataset.ready === 'yes'",
                           timeout=120_000)
    shown = canvas.evaluate("(c) => ({...c.dataset})")
    # (the page rounds as JavaScript does, half up: Math.round(3340.5) is 3341, Python's
    # round() gives 3340)
    assert int(shown["ww"]) == math.floor(float(tags["window_width"]) + 0.5)  # as shown
    assert float(shown["levelMm"]) == pytest.approx(float(tags["level_mm"]), abs=0.06)
    canvas.hover()
    assert "(MR signal)" in page.locator("#probe").inner_text()
    assert int(page.locator("#probe").inner_text().split()[0]) >= 0  # unsigned signal
    page.mouse.wheel(0, -120)
    page.wait_for_function("() => document.getElementById('slice').dataset.index === '3'")
    page.click(".preset[data-window='wide']")
    assert int(canvas.evaluate("(c) => c.dataset.ww")) == math.floor(
        2 * float(tags["window_width"]) + 0.5)
    shot(page, "case-mri-stack.png")
    page.context.close()


def test_refine_keeps_a_variant_and_cancel_stops_a_queued_job(browser: Any,
                                                              stack: WebStack) -> None:
    page = signed_in(browser, stack, "alice")
    # two cases at once, one worker: the second waits in line while the first renders
    page.fill("#prompt", "PA chest x-ray, {left, right} pleural effusion")
    page.select_option("#f-size", "384")
    page.locator("#preview .interpreted").nth(1).wait_for()  # the preview shows both cases
    page.click("#submit")
    page.locator(".job").nth(1).wait_for()
    ids = [c.get_attribute("data-job") for c in page.locator(".job").all()]
    states = {i: page.locator(f"#job-{i}").get_attribute("data-state") for i in ids}
    waiting = next((i for i in ids if states[i] == "queued"), None)
    assert waiting is not None, states
    page.locator(f"#job-{waiting}").get_by_role("button", name="Cancel").click()
    page.wait_for_function(
        "(id) => document.getElementById('job-' + id).dataset.state === 'cancelled'",
        arg=waiting)
    done = next(i for i in ids if i != waiting)
    card = page.locator(f"#job-{done}")
    wait_done(card)

    card.get_by_role("button", name="Refine", exact=True).click()
    form = card.locator("form.refine")
    assert "pleural effusion" in form.locator("textarea").input_value()  # the owner's prompt
    form.locator("input").fill("2")
    form.locator("textarea").fill("PA chest x-ray, left pneumothorax --size 384")
    form.get_by_role("button", name="Send").click()
    refined = page.locator(".job", has=page.locator(".kind", has_text="refine")).first
    wait_done(refined)
    assert "pneumothorax" in refined.locator(".interpreted").inner_text()
    page.context.close()


def test_the_course_library_saves_searches_shows_and_guards_items(browser: Any,
                                                                  stack: WebStack) -> None:
    job = finished_job(browser, stack, "alice", "PA chest x-ray, left pleural effusion --size 128")
    alice = signed_in(browser, stack, "alice")
    alice.goto(f"/case/{job}/1")
    alice.fill("#c-collection", "chest-week-1")
    alice.fill("#c-tags", "effusion, week1")
    alice.click(".save-library button[type=submit]")
    saved = alice.locator("#messages .reply").first.inner_text()
    assert f"Saved job {job}" in saved.replace("`", "")
    item = re.search(r"item #(\d+)", saved)[1]
    alice.goto("/library?action=search&tag=week1")
    found = alice.locator("#messages .reply").first.inner_text()
    assert f"#{item}" in found and "pleural effusion" in found and "chest-week-1" in found
    shot(alice, "library.png")

    bob = signed_in(browser, stack, "bob")
    bob.goto("/library")
    assert "chest-week-1" in bob.locator("#messages").inner_text()  # the install's library
    bob.fill("#i-item", item)
    bob.click("#h-item ~ button[value=post]")
    shown = bob.locator("#messages .reply").first
    assert f"item #{item}" in shown.inner_text()
    assert natural_width(bob, shown.locator("img.attachment")) == 2 * 128 + gutter_px(128)
    bob.fill("#i-item", item)
    bob.click("#h-item ~ button[value=remove]")
    assert "only" in bob.locator("#messages .reply").first.inner_text().lower()  # not his
    alice.goto("/library?action=list&collection=chest-week-1")
    assert f"#{item}" in alice.locator("#messages").inner_text()  # still there
    alice.context.close()
    bob.context.close()


def test_a_quiz_on_the_projector_takes_answers_and_reveals_with_scores(browser: Any,
                                                                      stack: WebStack) -> None:
    host = signed_in(browser, stack, MODERATOR)  # an install's moderator is its instructor
    host.goto("/quiz")
    host.fill("#q-prompt", "PA chest x-ray, right pneumothorax --size 256")
    host.fill("#q-seconds", "600")
    host.click("form[action='/quiz'] button[type=submit]")
    host.wait_for_url(re.compile(r"/quiz/[0-9a-z]+$"))
    qid = host.url.rsplit("/", 1)[1]
    host.wait_for_function("() => document.getElementById('quiz').dataset.state === 'open'",
                           timeout=120_000)
    assert "pneumothorax" not in host.locator("#quiz-post .reply").inner_text().lower()

    def answer(name: str, right: bool) -> None:
        page = signed_in(browser, stack, name)
        page.goto(f"/quiz/{qid}")
        choices = page.locator("#quiz-post .buttons button")
        choices.first.wait_for(timeout=60_000)
        pick = next(b for b in choices.all() if ("pneumothorax" in b.inner_text().lower())
                    == right and "Type" not in b.inner_text())
        pick.click()
        page.locator("#messages .reply").first.wait_for()
        assert "Your answer" in page.locator("#messages .reply").first.inner_text()
        page.context.close()

    answer("alice", right=True)
    answer("bob", right=False)
    host.click("#quiz-reveal")
    box = host.locator("#quiz-reveal-box .reply")
    box.wait_for(timeout=30_000)
    text_ = box.inner_text()
    assert "Right: 1 of 2 answers" in text_ and "pneumothorax" in text_.lower()
    assert re.search(r"✅\s*alice", text_) and re.search(r"❌\s*bob", text_)
    shot(host, "quiz-reveal.png")
    host.goto("/quiz")
    board = host.locator("#h-board ~ .reply").first.inner_text()
    assert re.search(r"1\.\s*alice\s*—\s*1 point", board), board
    host.context.close()
