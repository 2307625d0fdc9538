// The LoadPipe dashboard: plain script, no build step. It reads /api/jobs once, then follows
// /api/jobs/events (server-sent events) and computes each running job's speed and ETA from the
// progress the events carry.
"use strict";

const jobs = new Map();        // id -> job (as the API shows it)
const rates = new Map();       // id -> { at, bytes, speed }
let filter = "";
let selected = null;

const $ = (s) => document.querySelector(s);

function size(n) {
  if (n < 0) return "?";
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return (i === 0 ? n : n.toFixed(1)) + " " + units[i];
}

function duration(s) {
  if (!isFinite(s) || s < 0) return "";
  if (s < 60) return Math.round(s) + " s";
  if (s < 3600) return Math.floor(s / 60) + " min " + Math.round(s % 60) + " s";
  return Math.floor(s / 3600) + " h " + Math.round((s % 3600) / 60) + " min";
}

function ago(iso) {
  const s = (Date.now() - Date.parse(iso)) / 1000;
  return s < 2 ? "just now" : duration(s) + " ago";
}

async function api(path, options) {
  const response = await fetch(path, options);
  const text = await response.text();
  const body = text ? JSON.parse(text) : null;
  if (!response.ok) throw new Error(body && body.detail ? body.detail : response.status + " " + response.statusText);
  return body;
}

function track(job) {
  const now = Date.now();
  const before = rates.get(job.id);
  const done = job.progress ? job.progress.bytes_done : 0;
  if (job.state !== "running") { rates.delete(job.id); return; }
  if (!before) { rates.set(job.id, { at: now, bytes: done, speed: 0 }); return; }
  const seconds = (now - before.at) / 1000;
  if (seconds >= 0.5 && done >= before.bytes) {
    const speed = (done - before.bytes) / seconds;
    rates.set(job.id, { at: now, bytes: done, speed: before.speed ? before.speed * 0.5 + speed * 0.5 : speed });
  }
}

function cell(text, cls) {
  const td = document.createElement("td");
  if (cls) td.className = cls;
  if (text !== undefined) td.textContent = text;
  return td;
}

function row(job) {
  const tr = document.createElement("tr");
  tr.className = "job";
  tr.dataset.id = job.id;
  tr.dataset.state = job.state;
  tr.appendChild(cell("#" + job.id, "id"));
  const state = cell(undefined, "state");
  const badge = document.createElement("span");
  badge.className = "badge " + job.state;
  badge.textContent = job.state === "running" && job.phase ? job.state + " · " + job.phase : job.state === "pending" && job.phase ? job.state + " · " + job.phase : job.state;
  state.appendChild(badge);
  tr.appendChild(state);
  const copy = cell(undefined, "copy");
  copy.textContent = job.source + " → " + job.destination;
  if (job.error && job.state !== "completed") {
    const err = document.createElement("small");
    err.textContent = job.error;
    copy.appendChild(err);
  }
  tr.appendChild(copy);
  const prog = cell(undefined, "prog");
  const p = job.progress || { bytes_done: 0, bytes_total: -1 };
  const total = p.bytes_total > 0 ? p.bytes_total : 0;
  const pct = job.state === "completed" ? 100 : total ? Math.min(100, (100 * p.bytes_done) / total) : 0;
  const bar = document.createElement("div");
  bar.className = "bar " + job.state;
  bar.setAttribute("role", "progressbar");
  bar.setAttribute("aria-valuenow", String(Math.round(pct)));
  bar.setAttribute("aria-valuemin", "0");
  bar.setAttribute("aria-valuemax", "100");
  const fill = document.createElement("div");
  fill.style.width = pct + "%";
  bar.appendChild(fill);
  prog.appendChild(bar);
  const numbers = document.createElement("div");
  numbers.className = "numbers";
  let text = size(p.bytes_done) + (total ? " of " + size(total) + " (" + Math.round(pct) + "%)" : "");
  const rate = rates.get(job.id);
  if (job.state === "running" && rate && rate.speed > 0) {
    text += " · " + size(rate.speed) + "/s";
    if (total) text += " · ETA " + duration((total - p.bytes_done) / rate.speed);
  }
  numbers.textContent = text;
  prog.appendChild(numbers);
  tr.appendChild(prog);
  const actions = cell(undefined, "actions");
  if (job.state === "pending" || job.state === "running") actions.appendChild(action("Cancel", job.id, "cancel"));
  if (job.state === "failed" || job.state === "cancelled") actions.appendChild(action("Retry", job.id, "retry"));
  tr.appendChild(actions);
  tr.addEventListener("click", () => showDetail(job.id));
  return tr;
}

function action(label, id, verb) {
  const b = document.createElement("button");
  b.textContent = label;
  b.dataset.action = verb;
  b.addEventListener("click", async (e) => {
    e.stopPropagation();
    b.disabled = true;
    try { upsert(await api(`/api/jobs/${id}/${verb}`, { method: "POST" })); }
    catch (err) { $("#status").textContent = err.message; }
    finally { b.disabled = false; }
  });
  return b;
}

function render() {
  const tbody = $("#jobs tbody");
  const shown = [...jobs.values()].filter((j) => !filter || j.state === filter).sort((a, b) => b.id - a.id);
  tbody.replaceChildren(...shown.map(row));
  $("#no-jobs").hidden = shown.length > 0;
}

function upsert(job) {
  track(job);
  jobs.set(job.id, job);
  render();
  if (selected === job.id) showDetail(job.id);
}

async function showDetail(id) {
  selected = id;
  let job;
  try { job = await api(`/api/jobs/${id}`); } catch (err) { $("#status").textContent = err.message; return; }
  const panel = $("#detail");
  panel.hidden = false;
  $("#detail-title").textContent = "Job #" + job.id;
  const fields = [["State", job.state + (job.phase ? " · " + job.phase : "")], ["Source", job.source], ["Destination", job.destination],
    ["Attempt", job.attempt + " of " + job.max_attempts], ["Priority", job.priority], ["Worker", job.worker || "–"],
    ["Created", new Date(job.created_at).toLocaleString()], ["Error", job.error || "–"]];
  if (job.user) fields.push(["User", job.user]);
  if (job.session) fields.push(["Session", job.session]);
  $("#detail-fields").replaceChildren(...fields.flatMap(([k, v]) => {
    const dt = document.createElement("dt"); dt.textContent = k;
    const dd = document.createElement("dd"); dd.textContent = v;
    return [dt, dd];
  }));
  $("#attempts").replaceChildren(...(job.attempts || []).map((a) => {
    const li = document.createElement("li");
    li.textContent = `${a.worker} · ${new Date(a.started_at).toLocaleTimeString()} · sent ${size(a.bytes_sent)}, resumed ${size(a.bytes_resumed)}` + (a.ended_at ? "" : " · running");
    if (a.error) {
      const e = document.createElement("div"); e.className = "err"; e.textContent = a.error; li.appendChild(e);
    }
    return li;
  }));
  if (!job.attempts || job.attempts.length === 0) $("#attempts").textContent = "none yet";
}

async function refreshSide() {
  try {
    const workers = await api("/api/workers");
    $("#workers").replaceChildren(...(workers.length ? workers.map((w) => {
      const li = document.createElement("li");
      li.textContent = `${w.name} · ${w.state} · ${w.running}/${w.concurrency}`;
      const s = document.createElement("small"); s.textContent = "heartbeat " + ago(w.heartbeat_at); li.appendChild(s);
      return li;
    }) : [Object.assign(document.createElement("li"), { textContent: "No worker running (start one: lp worker)" })]));
    const schedules = await api("/api/schedules");
    $("#schedules").replaceChildren(...(schedules.length ? schedules.map((s) => {
      const li = document.createElement("li");
      li.textContent = `${s.name} · ${s.cron} (${s.time_zone})`;
      const small = document.createElement("small");
      small.textContent = `${s.source} → ${s.destination} · next ${new Date(s.next_tick).toLocaleString()}`;
      li.appendChild(small);
      return li;
    }) : [Object.assign(document.createElement("li"), { textContent: "No schedule" })]));
  } catch (err) { $("#status").textContent = err.message; }
}

function listen() {
  const events = new EventSource("/api/jobs/events");
  events.addEventListener("job", (e) => upsert(JSON.parse(e.data)));
  events.onopen = () => { $("#status").textContent = "live"; };
  events.onerror = () => { $("#status").textContent = "reconnecting…"; };
}

$("#add-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  const f = new FormData(e.target);
  const stages = String(f.get("process") || "").split(",").map((s) => s.trim()).filter(Boolean);
  const body = { source: f.get("source"), destination: f.get("destination"), priority: Number(f.get("priority") || 0), max_retries: Number(f.get("max_retries") || 0) };
  if (stages.length) body.process = stages;
  $("#add-error").textContent = "";
  try {
    upsert(await api("/api/jobs", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) }));
    e.target.reset();
  } catch (err) { $("#add-error").textContent = err.message; }
});

document.querySelectorAll(".filters button").forEach((b) => b.addEventListener("click", () => {
  document.querySelectorAll(".filters button").forEach((x) => x.classList.toggle("active", x === b));
  filter = b.dataset.state;
  render();
}));

$("#detail-close").addEventListener("click", () => { selected = null; $("#detail").hidden = true; });

(async () => {
  try {
    const page = await api("/api/jobs?limit=200");
    page.jobs.forEach((j) => { track(j); jobs.set(j.id, j); });
    render();
  } catch (err) { $("#status").textContent = err.message; }
  listen();
  refreshSide();
  setInterval(refreshSide, 5000);
})();
