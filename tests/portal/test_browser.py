"""The portal in headless Chromium against the demo world: what an investor and the issuer see and can check."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from rwa_sdk.cli import main

pytestmark = pytest.mark.filterwarnings("ignore:.*is deprecated")
TIMEOUT_MS = 60_000


def open_asset(page, portal):
    page.goto(portal.url + "/assets/SUN5")
    page.wait_for_function("() => { const g = document.getElementById('energy-chart');"
                           " return g && g.data && g.data.length === 4; }", timeout=TIMEOUT_MS)


def chart(page, element: str) -> list[dict]:
    return page.evaluate(f"() => document.getElementById('{element}').data.map("
                         "t => ({name: t.name, x: Array.from(t.x || []), y: Array.from(t.y || [])}))")


def test_asset_list_shows_the_demo_asset(page, portal, screenshots):
    page.goto(portal.url + "/")
    page.wait_for_selector("#assets a[href='/assets/SUN5']", timeout=TIMEOUT_MS)
    row = page.inner_text("#assets tbody tr")
    assert "Sunfield Solar 5 MW" in row and "5.0 MW" in row and "100,000 tokens" in row and "MWh" in row
    page.screenshot(path=str(screenshots / "asset-list.png"), full_page=True)


def test_production_chart_has_one_point_per_anchored_day_with_the_chains_values(page, portal, world, screenshots):
    open_asset(page, portal)
    page.wait_for_function("() => document.querySelector('#tornado-chart .main-svg') !== null", timeout=120_000)
    on_chain = world.asset.energy_by_day()
    anchored = next(t for t in chart(page, "energy-chart") if t["name"] == "anchored energy")
    assert anchored["x"] == sorted(on_chain)
    assert anchored["y"] == pytest.approx([on_chain[d] / 1000 for d in sorted(on_chain)])  # kWh
    titles = page.evaluate("() => { const l = document.getElementById('energy-chart').layout;"
                           " return [l.title.text, l.yaxis.title.text, l.xaxis.title.text]; }")
    assert "kWh" in titles[0] and titles[1] == "Energy per day (kWh)" and titles[2] == "Day (UTC)"
    assert page.inner_text("#anchor-count") == str(len(world.asset.anchored_batches()))
    assert page.inner_text("#devices-active") == str(len(world.devices))
    page.screenshot(path=str(screenshots / "asset-page.png"), full_page=True)
    page.click("button[data-step=month]")
    page.wait_for_function("() => document.getElementById('energy-chart').layout.yaxis.title.text"
                           " === 'Energy per month (kWh)'", timeout=TIMEOUT_MS)
    monthly = next(t for t in chart(page, "energy-chart") if t["name"] == "anchored energy")
    by_month = world.asset.energy_by_month()
    assert monthly["y"] == pytest.approx([by_month[m] / 1000 for m in sorted(by_month)])


def test_every_chart_draws_with_the_trace_types_it_asks_for(page, portal):
    """The vendored basic plotly build has every trace type the charts use (a missing one falls back to scatter)."""
    open_asset(page, portal)
    page.wait_for_function("() => ['energy-chart', 'revenue-chart', 'tornado-chart'].every((id) => {"
                           " const g = document.getElementById(id); return g && g._fullData && g._fullData.length; })",
                           timeout=120_000)
    drawn = page.evaluate("() => Object.fromEntries(['energy-chart', 'revenue-chart', 'tornado-chart'].map((id) =>"
                          " [id, document.getElementById(id)._fullData.map((t) =>"
                          " [t.type, t.fill || null, t.orientation || null, t.visible])]))")
    assert drawn["energy-chart"] == [["scatter", "none", None, True], ["scatter", "tonexty", None, True],
                                     ["scatter", "none", None, True], ["scatter", "none", None, True]]
    assert drawn["revenue-chart"] == [["bar", None, "v", True], ["scatter", "none", None, True]]
    assert drawn["tornado-chart"] == [["bar", None, "h", True], ["bar", None, "h", True]]
    assert page.evaluate("() => document.querySelectorAll('#tornado-chart .bars path').length") > 0
    assert page.evaluate("() => document.querySelectorAll('#energy-chart .js-fill').length") > 0


def test_the_page_is_readable_on_a_phone(browser, portal, screenshots):
    context = browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True)
    try:
        page = context.new_page()
        open_asset(page, portal)
        overflow = page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 1, f"the page is {overflow} px wider than a phone screen"
        page.screenshot(path=str(screenshots / "asset-page-phone.png"), full_page=True)
    finally:
        context.close()


def test_a_reading_verified_in_the_browser_matches_rwa_oracle_proof(page, portal, world):
    open_asset(page, portal)
    device = world.devices[0].signer.checksum
    page.wait_for_selector(f"#device option[value='{device}']", state="attached", timeout=TIMEOUT_MS)
    page.select_option("#device", device)
    page.fill("#seq", "12")
    page.click("#fetch-proof")
    page.wait_for_function("() => /VALID|INVALID/.test(document.getElementById('verify-result').textContent)",
                           timeout=TIMEOUT_MS)
    assert page.inner_text("#verify-result").startswith("VALID: verifyReading returned true")
    cli = CliRunner().invoke(main, ["oracle", "proof", device, "12", "--db", str(world.oracle_db),
                                    "--rpc", world.chain.node.url])
    assert json.loads(page.input_value("#proof-json")) == json.loads(cli.stdout)


def test_a_tampered_reading_shows_as_invalid(page, portal, world):
    open_asset(page, portal)
    device = world.devices[1].signer.checksum
    page.wait_for_selector(f"#device option[value='{device}']", state="attached", timeout=TIMEOUT_MS)
    page.select_option("#device", device)
    page.fill("#seq", "13")
    page.click("#fetch-proof")
    page.wait_for_function("() => document.getElementById('verify-result').textContent.startsWith('VALID')",
                           timeout=TIMEOUT_MS)
    proof = json.loads(page.input_value("#proof-json"))
    proof["reading"]["energyWh"] += 1000  # claim a kWh more than the device signed
    page.fill("#proof-json", json.dumps(proof))
    page.click("#verify-pasted")
    page.wait_for_function("() => document.getElementById('verify-result').textContent.startsWith('INVALID')",
                           timeout=TIMEOUT_MS)
    assert "ReadingInvalidSignature" in page.inner_text("#verify-result")
    proof["reading"]["energyWh"] -= 1000
    proof["proof"][0] = "0x" + "00" * 32  # right reading, wrong path to the batch root
    page.fill("#proof-json", json.dumps(proof))
    page.click("#verify-pasted")
    page.wait_for_function("() => document.getElementById('verify-result').textContent.includes('ReadingNotInBatch')",
                           timeout=TIMEOUT_MS)


def test_issuer_view_shows_refused_investors_with_their_reasons(page, portal, world, screenshots):
    page.goto(portal.url + "/assets/SUN5/issuer")
    page.wait_for_selector("#investors tbody tr", timeout=TIMEOUT_MS)
    rows = page.eval_on_selector_all("#investors tbody tr", "rows => rows.map(r => r.innerText)")
    for wallet, reasons in world.refused.items():
        [row] = [r for r in rows if wallet in r]
        assert "refused" in row and all(reason in row for reason in reasons)
    assert sum("refused" in r for r in rows) == 2
    assert str(world.pending_request) in page.inner_text("#requests") and "5,000.00 USD" in page.inner_text("#requests")
    page.fill("#check-wallet", world.people["Dan (US)"].address)
    page.click("#check")
    page.wait_for_selector("#eligibility li", timeout=TIMEOUT_MS)
    assert "blocked for this token" in page.inner_text("#eligibility")
    assert page.inner_text("#audit") == "no audit run yet"
    page.screenshot(path=str(screenshots / "issuer-view.png"), full_page=True)


def test_a_new_anchor_appears_on_the_open_page_without_reload(page, portal, world, screenshots):
    open_asset(page, portal)
    page.evaluate("() => { window.notReloaded = true; }")
    before = len(world.asset.anchored_batches())
    assert page.inner_text("#anchor-count") == str(before)
    day = world.held_back.pop(0)
    outcome = world.asset.relay(day, world.oracle_db)
    assert outcome.acknowledged == len(day) and outcome.batches == 1
    page.wait_for_function(f"() => document.getElementById('anchor-count').textContent === '{before + 1}'",
                           timeout=TIMEOUT_MS)
    page.wait_for_function("() => document.getElementById('energy-chart').data[3].x.length === "
                           f"{len(world.asset.energy_by_day())}", timeout=TIMEOUT_MS)
    assert page.evaluate("() => window.notReloaded") is True
    page.screenshot(path=str(screenshots / "asset-page-after-anchor.png"), full_page=True)
