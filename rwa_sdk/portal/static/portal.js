// The portal's pages, drawn from its JSON API; live updates arrive as server-sent events.
"use strict";

const $ = (sel) => document.querySelector(sel);
const fmt = (n, digits = 0) => n === null || n === undefined ? "–" :
  Number(n).toLocaleString("en-US", {minimumFractionDigits: digits, maximumFractionDigits: digits});
const kwh = (wh) => fmt(wh / 1000, 1) + " kWh";
const mwh = (wh) => fmt(wh / 1e6, 2) + " MWh";
const pct = (x) => x === null || x === undefined ? "–" : (x * 100).toFixed(2) + " %";
const when = (t) => t ? new Date(t * 1000).toISOString().replace("T", " ").slice(0, 16) + " UTC" : "never";

function esc(text) {
  return String(text).replace(/[&<>"']/g, (c) => ({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}[c]));
}

async function api(path) {
  const response = await fetch(path, {cache: "no-store"});
  const body = await response.json();
  if (!response.ok) throw new Error(body.error || response.statusText);
  return body;
}

function table(el, columns, rows) {
  el.innerHTML = "<thead><tr>" + columns.map((c) => `<th>${esc(c[0])}</th>`).join("") + "</tr></thead><tbody>" +
    rows.map((r) => "<tr>" + columns.map((c) => `<td data-label="${esc(c[0])}">${c[1](r)}</td>`).join("") + "</tr>").join("") +
    "</tbody>";
}

const LAYOUT = {margin: {l: 64, r: 16, t: 36, b: 56}, font: {size: 12}, legend: {orientation: "h", y: -0.25},
  paper_bgcolor: "rgba(0,0,0,0)", plot_bgcolor: "rgba(0,0,0,0)", hovermode: "x unified"};
const CONFIG = {responsive: true, displaylogo: false, modeBarButtonsToRemove: ["lasso2d", "select2d"]};

// plotly.js (basic build, 1.2 MB) loads deferred: figures and tables are drawn from the API at once, charts when it is ready
let plotlyLoading = null;
function plotlyReady() {
  plotlyLoading = plotlyLoading || new Promise((resolve, reject) => {
    if (typeof Plotly !== "undefined") return resolve();
    const tag = document.getElementById("plotly-js");
    if (!tag) return reject(new Error("no chart library on this page"));
    tag.addEventListener("load", () => resolve());
    tag.addEventListener("error", () => reject(new Error("chart library not loaded")));
  });
  return plotlyLoading;
}

function plot(id, traces, layout) {
  return plotlyReady().then(() => draw(id, traces, layout), (err) => { $("#" + id).textContent = err.message; });
}

function draw(id, traces, layout) {
  const full = Object.assign({}, LAYOUT, layout);
  if (window.innerWidth < 640) {  // phone: titles on two lines, legend clear of the axis title
    if (full.title) full.title = {text: full.title.text.replace(": ", ":<br>").replace(" and ", "<br>and "), font: {size: 13}};
    full.legend = {orientation: "h", y: -0.45};
    full.margin = Object.assign({}, full.margin, {t: 56, b: 110});
  }
  Plotly.react(id, traces, full, CONFIG);
}

function live(onUpdate) {
  const badge = $("#live");
  if (typeof EventSource === "undefined") { setInterval(() => onUpdate(null), 10000); return; }
  const source = new EventSource("/api/events");
  source.addEventListener("update", (e) => {
    const data = JSON.parse(e.data);
    if (badge) { badge.textContent = "live"; badge.className = "live on"; }
    onUpdate(data);
  });
  source.onerror = () => { if (badge) { badge.textContent = "reconnecting"; badge.className = "live off"; } };
}

// -- asset list --------------------------------------------------------------------------------
async function renderIndex() {
  const data = await api("/api/assets");
  table($("#assets"), [
    ["Asset", (a) => `<a href="/assets/${encodeURIComponent(a.symbol)}">${esc(a.name)}</a> <span class="sym">${esc(a.symbol)}</span>`],
    ["Kind", (a) => esc(a.kind)],
    ["Capacity", (a) => fmt(a.capacity_kw / 1000, 1) + " MW"],
    ["Location", (a) => `${esc(a.location.country)} (${a.location.latitude.toFixed(2)}, ${a.location.longitude.toFixed(2)})`],
    ["Supply", (a) => fmt(a.supply) + " tokens"],
    ["Holders", (a) => fmt(a.holders)],
    ["Energy this month", (a) => `${mwh(a.energy_this_month_wh)} <span class="muted">vs ${mwh(a.forecast_this_month_wh)} twin P50</span>`],
    ["Trailing yield", (a) => pct(a.trailing_yield)],
  ], data.assets);
  $("#count").textContent = data.assets.length ? `${data.assets.length} asset(s)` : "no assets recorded on this chain yet";
}

// -- asset page --------------------------------------------------------------------------------
const state = {symbol: null, step: "day", seen: {}, chain: null};

async function renderAsset(symbol) {
  state.symbol = symbol;
  await Promise.all([renderHeader(), renderEnergy(), renderRevenue(), renderForecast(), renderToken(), setupVerify()]);
  live((data) => {
    const s = data && data.assets[symbol];
    const key = s ? `${s.batches}/${s.deposits}/${s.supply}/${s.paused}` : Math.random();
    if (key !== state.seen.asset) {
      state.seen.asset = key;
      renderHeader(); renderEnergy(); renderRevenue(); renderToken(); refreshDevices();
    }
    const f = data ? data.forecasts[symbol] : Math.random();
    if (f !== state.seen.forecast) { state.seen.forecast = f; renderForecast(); }
  });
}

async function renderHeader() {
  const a = await api(`/api/assets/${state.symbol}`);
  document.title = `${a.name} – rwa portal`;
  $("#name").textContent = a.name;
  $("#facts").textContent = `${a.symbol} · ${a.kind} · ${fmt(a.capacity_kw / 1000, 1)} MW · ${a.location.country} ` +
    `(${a.location.latitude.toFixed(2)}, ${a.location.longitude.toFixed(2)})`;
  $("#devices-active").textContent = fmt(a.devices.active);
  $("#devices-revoked").textContent = fmt(a.devices.revoked);
  $("#anchor-count").textContent = fmt(a.anchors.batches);
  $("#anchor-time").textContent = when(a.anchors.last_anchor_time);
  $("#model-basis").textContent = `Twin band: ${a.model.basis}.`;
  $("#month-energy").textContent = `${mwh(a.energy_this_month_wh)} (twin P50 ${mwh(a.forecast_this_month_wh)})`;
}

async function renderEnergy() {
  const e = await api(`/api/assets/${state.symbol}/energy?step=${state.step}`);
  const x = e.points.map((p) => p.period);
  const unit = state.step === "day" ? "per day" : "per month";
  const k = (field) => e.points.map((p) => p[field] / 1000);
  plot("energy-chart", [
    {x, y: k("p10_wh"), name: "twin P10", type: "scatter", mode: "lines", line: {width: 0}, hoverinfo: "skip", showlegend: false},
    {x, y: k("p90_wh"), name: "twin P10–P90 band", type: "scatter", mode: "lines", line: {width: 0},
      fill: "tonexty", fillcolor: "rgba(255,170,0,0.25)", hovertemplate: "P90 %{y:,.1f} kWh<extra></extra>"},
    {x, y: k("p50_wh"), name: "twin P50", type: "scatter", mode: "lines", line: {dash: "dash", color: "#c77700"},
      hovertemplate: "P50 %{y:,.1f} kWh<extra></extra>"},
    {x, y: k("energy_wh"), name: "anchored energy", type: "scatter", mode: "lines+markers", line: {color: "#1261a0"},
      hovertemplate: "anchored %{y:,.1f} kWh<extra></extra>"},
  ], {title: {text: `Energy ${unit} (kWh): anchored on chain vs digital twin`},
      xaxis: {title: {text: state.step === "day" ? "Day (UTC)" : "Month (UTC)"}},
      yaxis: {title: {text: `Energy ${unit} (kWh)`}, rangemode: "tozero"}});
  $("#energy-points").textContent = `${e.points.length} ${state.step === "day" ? "days" : "months"}`;
}

async function renderRevenue() {
  const wallet = $("#wallet").value.trim();
  const r = await api(`/api/assets/${state.symbol}/revenue` + (wallet ? `?wallet=${encodeURIComponent(wallet)}` : "")).catch((err) => {
    $("#claimable").textContent = err.message; return null;
  });
  if (!r) return;
  const x = r.deposits.map((d) => d.day);
  plot("revenue-chart", [
    {x, y: r.deposits.map((d) => d.amount_usd), name: "deposited (USD)", type: "bar", marker: {color: "#2a9d8f"},
      hovertemplate: "%{y:,.2f} USD<extra>deposit</extra>"},
    {x, y: r.deposits.map((d) => d.cumulative_per_token_usd), name: "cumulative paid per token (USD)", yaxis: "y2",
      type: "scatter", mode: "lines+markers", hovertemplate: "%{y:.6f} USD per token<extra></extra>"},
  ], {title: {text: "Revenue deposits (USD) and cumulative paid per token (USD)"},
      xaxis: {title: {text: "Period start (UTC)"}, type: "category"}, yaxis: {title: {text: "Deposit (USD)"}},
      yaxis2: {title: {text: "Paid per token (USD)"}, overlaying: "y", side: "right", rangemode: "tozero"}, margin: {l: 64, r: 64, t: 36, b: 56}});
  table($("#deposits"), [
    ["Period", (d) => `${esc(d.day)} (${fmt((d.period_end - d.period_start) / 86400)} d)`],
    ["Energy", (d) => mwh(d.energy_wh)], ["Deposited", (d) => fmt(d.amount_usd, 2) + " USD"],
    ["Per token", (d) => fmt(d.per_token_usd, 6) + " USD"], ["Cumulative per token", (d) => fmt(d.cumulative_per_token_usd, 6) + " USD"],
  ], r.deposits);
  $("#revenue-total").textContent = `${fmt(r.total_usd, 2)} USD deposited, ${fmt(r.paid_per_token_usd, 6)} USD per token, ` +
    `trailing yield ${pct(r.trailing_yield)}`;
  $("#claimable").textContent = r.investor ? `${r.investor.wallet}: holds ${fmt(r.investor.balance)} tokens, ` +
    `claimable ${fmt(r.investor.claimable_usd, 2)} USD` : "";
}

async function renderForecast() {
  const f = await api(`/api/assets/${state.symbol}/forecast`);
  if (!f.available) {
    $("#forecast-note").textContent = f.reason; $("#forecast").innerHTML = "";
    $("#backtest").textContent = ""; $("#tornado-chart").innerHTML = ""; return;
  }
  const c = f.calibration;
  $("#forecast-note").textContent = `Calibrated on ${c.days_used} days (${c.window[0]} – ${c.window[1]}): ` +
    `performance factor ${c.performance_factor.toFixed(3)}, availability ${c.availability.toFixed(3)}.`;
  table($("#forecast"), [
    ["Horizon", (h) => `${h.months} months from ${esc(h.from)}`],
    ["Energy P50 / P90", (h) => `${mwh(h.energy_p50_wh)} / ${mwh(h.energy_p90_wh)}`],
    ["Revenue P50", (h) => fmt(h.revenue_p50, 0) + " " + esc(h.currency)],
    ["Per token P50 / P90", (h) => `${fmt(h.per_token_p50, 4)} / ${fmt(h.per_token_p90, 4)} ${esc(h.currency)}`],
    ["Yield P50 / P90", (h) => `${pct(h.yield_p50)} / ${pct(h.yield_p90)}`],
  ], Object.values(f.horizons));
  const rows = f.tornado.slice().reverse();
  const base = rows.length ? rows[0].base * 100 : 0;
  plot("tornado-chart", [
    {y: rows.map((r) => r.driver), x: rows.map((r) => (r.yield_low - r.base) * 100), base: base, name: "driver −10 %",
      type: "bar", orientation: "h", marker: {color: "#d1495b"}, customdata: rows.map((r) => r.yield_low * 100),
      hovertemplate: "%{y} −10 %: yield %{customdata:.2f} %<extra></extra>"},
    {y: rows.map((r) => r.driver), x: rows.map((r) => (r.yield_high - r.base) * 100), base: base, name: "driver +10 %",
      type: "bar", orientation: "h", marker: {color: "#66a182"}, customdata: rows.map((r) => r.yield_high * 100),
      hovertemplate: "%{y} +10 %: yield %{customdata:.2f} %<extra></extra>"},
  ], {title: {text: "Sensitivity: P50 annualised yield (%) at ±10 % of each driver"}, barmode: "overlay",
      xaxis: {title: {text: "P50 annualised yield (%)"}}, yaxis: {automargin: true}, hovermode: "closest",
      margin: {l: 120, r: 16, t: 36, b: 56}});
  const b = f.backtest || {};
  $("#backtest").textContent = b.available ? `Backtest: calibrated without the last ${b.holdout_days} days ` +
    `(${b.from} – ${b.to}), the twin's P50 was ${mwh(b.p50_wh)} against ${mwh(b.actual_wh)} anchored ` +
    `(${b.error_pct >= 0 ? "+" : ""}${b.error_pct.toFixed(1)} %); ${b.days_inside_p10_p90} of ${b.holdout_days} days inside P10–P90.`
    : `Backtest: ${b.reason || "not available"}.`;
}

async function renderToken() {
  const t = await api(`/api/assets/${state.symbol}/token`);
  $("#supply").textContent = `${fmt(t.supply)} of at most ${fmt(t.supply_cap)} tokens`;
  $("#holders").textContent = fmt(t.holders);
  $("#paused").textContent = t.paused ? "paused: no transfers" : "not paused";
  $("#paused").className = t.paused ? "bad" : "good";
  table($("#countries"), [["Country", (c) => esc(c.country)], ["Holders", (c) => fmt(c.holders)],
    ["Tokens", (c) => fmt(c.tokens)]], t.holders_by_country);
  $("#rules").innerHTML = t.rules.map((r) => `<li>${esc(r)}</li>`).join("");
}

async function refreshDevices() {
  const d = await api(`/api/assets/${state.symbol}/devices`);
  const select = $("#device");
  const current = select.value;
  select.innerHTML = d.list.map((x) => `<option value="${esc(x.device)}">${esc(x.device)} (${esc(x.status)})</option>`).join("");
  if (current) select.value = current;
}

async function setupVerify() {
  state.chain = await api("/api/chain");
  await refreshDevices();
  const oracle = state.chain.oracles[state.symbol];
  $("#oracle").textContent = oracle;
  $("#rpc").textContent = state.chain.rpc_url || "not set (start the portal with --browser-rpc)";
  $("#fetch-proof").onclick = async () => {
    const out = $("#verify-result");
    out.className = ""; out.textContent = "fetching the proof…";
    try {
      const proof = await api(`/api/assets/${state.symbol}/proofs/${$("#device").value}/${encodeURIComponent($("#seq").value.trim())}`);
      $("#proof-json").value = JSON.stringify(proof, null, 2);
      await check(proof);
    } catch (err) { out.className = "bad"; out.textContent = err.message; }
  };
  $("#verify-pasted").onclick = async () => {
    let proof;
    try { proof = JSON.parse($("#proof-json").value); } catch (err) {
      $("#verify-result").className = "bad"; $("#verify-result").textContent = "not valid JSON: " + err.message; return;
    }
    await check(proof);
  };
}

async function check(proof) {
  const out = $("#verify-result");
  if (!state.chain.rpc_url) { out.className = "bad"; out.textContent = "no RPC URL for the browser"; return; }
  out.textContent = "asking the chain…";
  try {
    const answer = await verifyOnChain(state.chain.rpc_url, state.chain.oracles[state.symbol], proof, state.chain.oracle_errors);
    out.className = answer.valid ? "good" : "bad";
    out.textContent = (answer.valid ? "VALID: " : "INVALID: ") + answer.detail +
      ` (reading #${proof.reading && proof.reading.seq}, ${proof.reading && fmt(proof.reading.energyWh)} Wh, batch ${proof.batchIndex})`;
  } catch (err) { out.className = "bad"; out.textContent = "INVALID: " + err.message; }
}

function setStep(step) {
  state.step = step;
  document.querySelectorAll("[data-step]").forEach((b) => b.classList.toggle("active", b.dataset.step === step));
  renderEnergy();
}

// -- issuer view -------------------------------------------------------------------------------
// `rwa asset audit --json`: a verdict line, then the failures and warnings first, one a line.
function auditText(result) {
  if (!result || !Array.isArray(result.checks)) return JSON.stringify(result, null, 2);
  const when = result.checked_at ? ` (checked ${new Date(result.checked_at * 1000).toISOString().slice(0, 16)} UTC)` : "";
  const verdict = result.failures ? `${result.failures} failure(s)` : result.warnings ? `${result.warnings} warning(s)` : "every check passed";
  const order = { fail: 0, warn: 1, ok: 2 };
  const lines = [...result.checks].sort((a, b) => order[a.status] - order[b.status])
    .map((c) => `${c.status.toUpperCase().padEnd(4)}  ${c.area.padEnd(10)}  ${c.name}: ${c.detail}`);
  return [`${verdict}${when}`, ...lines].join("\n");
}

async function renderIssuer(symbol) {
  state.symbol = symbol;
  const draw = async () => {
    const [caps, reqs, inv, audit] = await Promise.all([
      api(`/api/assets/${symbol}/issuer/cap-table`), api(`/api/assets/${symbol}/issuer/requests`),
      api(`/api/assets/${symbol}/issuer/investors`), api(`/api/assets/${symbol}/issuer/audit`)]);
    table($("#cap-table"), [["Wallet", (h) => `<code>${esc(h.wallet)}</code>`], ["Country", (h) => esc(h.country)],
      ["Balance", (h) => fmt(h.balance)], ["Share", (h) => pct(caps.supply ? h.balance / caps.supply : 0)],
      ["Frozen", (h) => h.frozen ? "wallet frozen" : (h.frozen_tokens ? fmt(h.frozen_tokens) + " tokens" : "no")]], caps.holders);
    table($("#requests"), [["#", (r) => r.id], ["Investor", (r) => `<code>${esc(r.investor)}</code>`],
      ["Kind", (r) => esc(r.kind)], ["Amount", (r) => `${fmt(r.amount, r.unit === "USD" ? 2 : 0)} ${esc(r.unit)}`]], reqs.pending);
    $("#requests-note").textContent = reqs.pending.length ? "" : "no pending requests";
    table($("#investors"), [["Wallet", (i) => `<code>${esc(i.wallet)}</code>`], ["Country", (i) => esc(i.country)],
      ["Balance", (i) => fmt(i.balance)],
      ["Eligible", (i) => i.eligible ? '<span class="good">yes</span>' : '<span class="bad">refused</span>'],
      ["Reasons", (i) => i.reasons.map(esc).join("<br>")]], inv.investors);
    $("#audit").textContent = !audit.available ? audit.reason : auditText(audit.result);
  };
  $("#check").onclick = async () => {
    const out = $("#eligibility");
    try {
      const r = await api(`/api/assets/${symbol}/issuer/eligibility?wallet=${encodeURIComponent($("#check-wallet").value.trim())}`);
      out.className = r.eligible ? "good" : "bad";
      out.innerHTML = r.eligible ? "eligible: every rule passes" : "refused:<ul>" + r.reasons.map((x) => `<li>${esc(x)}</li>`).join("") + "</ul>";
    } catch (err) { out.className = "bad"; out.textContent = err.message; }
  };
  await draw();
  live(() => draw());
}
