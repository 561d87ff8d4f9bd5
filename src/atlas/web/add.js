// Atlas web page, the Add panel: queue URLs and server paths for ingesting (POST /api/ingest), follow the job
// (GET /api/jobs/{id}), cancel it (DELETE /api/jobs/{id}), list recent jobs (GET /api/jobs).
//
// Loaded after app.js and built on its helpers ($, el, getJSON, formatMoment, loadLibrary). As there, every
// string from the server (targets, titles, messages) goes into the page as text, never as HTML: a target is
// whatever a file was named and a title whatever an uploader wrote.
"use strict";

const POLL_MS = 500;
const ACTIVE_STATES = new Set(["queued", "running"]);
// atlas.ingest_report.STATUSES, in its order (tests/api/test_schema_agreement.py holds the two equal): the
// page would otherwise fetch the whole OpenAPI document for one enum.
const OUTCOME_ORDER = ["added", "replaced", "unchanged", "skipped", "failed"];
const STAGE_NAMES = {
  read: "reading",
  captions: "fetching captions",
  download: "downloading",
  transcribe: "transcribing",
  chunk: "splitting into windows",
  embed: "embedding",
  index: "indexing",
};

// How the measured units of a stage read (the sources report audio seconds and bytes).
const STAGE_UNITS = { transcribe: (seconds) => formatMoment(seconds), download: (bytes) => formatBytes(bytes) };

const adding = {
  watching: null, // id of the job on screen
  timer: null, // its next poll
  writes: null, // "token" | "loopback" | "disabled", from /api/health
};

// -- errors -------------------------------------------------------------------------------------------------

// What getJSON threw, as the API's error shape: a fetch that never reached the server throws a TypeError.
function asErrorBody(error) {
  if (error && error.error) return error;
  if (error instanceof Error) {
    return { error: { message: "the server cannot be reached", hint: "is atlas serve still running?" } };
  }
  return { error: { message: "the request failed" } };
}

function showAddError(body) {
  const detail = body.error || {};
  const box = $("add-error");
  box.replaceChildren(el("strong", { className: "message" }, detail.message || "the request failed"));
  if (detail.hint) box.append(el("p", { className: "hint" }, detail.hint));
  box.hidden = false;
  if (detail.code === "unauthorized") showTokenField();
}

function clearAddError() {
  $("add-error").hidden = true;
  $("add-error").replaceChildren();
}

// -- writes: the token, when the server wants one -----------------------------------------------------------

function showTokenField() {
  $("add-token-label").hidden = false;
  $("add-token-note").hidden = false;
}

// The token stays in the input (this tab's memory): stored in the browser it would outlive the tab.
function writeHeaders(withBody) {
  const headers = withBody ? { "Content-Type": "application/json" } : {};
  const token = $("add-token").value.trim();
  if (token) headers.Authorization = `Bearer ${token}`;
  return headers;
}

async function checkWrites() {
  let health;
  try {
    health = await getJSON("/api/health");
  } catch {
    return; // the submit itself will say what is wrong
  }
  adding.writes = health.writes;
  if (health.writes === "token") showTokenField();
  const note = $("add-writes");
  note.hidden = health.writes !== "disabled";
  note.textContent =
    health.writes === "disabled"
      ? "This server is read-only: it listens beyond this machine and has no API token. Its operator can set " +
        "ATLAS_API_TOKEN (or bind 127.0.0.1) to allow adding."
      : "";
  $("add-submit").disabled = health.writes === "disabled";
}

// -- submit and follow a job ----------------------------------------------------------------------------------

async function submitTargets() {
  const targets = $("add-targets").value.split("\n").map((line) => line.trim()).filter(Boolean);
  if (targets.length === 0) return;
  const body = { targets };
  const options = {};
  if ($("add-force-asr").checked) options.force_asr = true;
  if ($("add-fast").checked) options.beam = 1; // greedy Whisper: ~25 % faster, a few more words wrong
  if (Object.keys(options).length) body.options = options;
  clearAddError();
  $("add-submit").disabled = true;
  try {
    const job = await getJSON("/api/ingest", {
      method: "POST",
      headers: writeHeaders(true),
      body: JSON.stringify(body),
    });
    $("add-targets").value = "";
    watchJob(job);
    refreshJobs();
  } catch (error) {
    showAddError(asErrorBody(error));
  } finally {
    $("add-submit").disabled = adding.writes === "disabled";
  }
}

function watchJob(job) {
  clearTimeout(adding.timer);
  adding.timer = null;
  adding.watching = job.id;
  renderJob(job);
  if (ACTIVE_STATES.has(job.state)) adding.timer = setTimeout(() => pollJob(job.id), POLL_MS);
}

async function pollJob(id) {
  if (adding.watching !== id) return;
  let job;
  try {
    job = await getJSON(`/api/jobs/${encodeURIComponent(id)}`);
  } catch (error) {
    if (adding.watching !== id) return;
    if (error && error.error) {
      showAddError(error);
      return;
    }
    // The server may be restarting: keep asking, less often.
    $("job-summary").textContent = "the server cannot be reached; trying again…";
    adding.timer = setTimeout(() => pollJob(id), POLL_MS * 4);
    return;
  }
  if (adding.watching !== id) return; // another job was opened meanwhile
  watchJob(job);
  if (!ACTIVE_STATES.has(job.state)) jobFinished(job);
}

function jobFinished(job) {
  refreshJobs();
  if (job.outcomes.some((o) => o.status === "added" || o.status === "replaced")) loadLibrary(); // filters, count
}

async function openJob(id) {
  clearAddError();
  try {
    watchJob(await getJSON(`/api/jobs/${encodeURIComponent(id)}`));
  } catch (error) {
    showAddError(asErrorBody(error));
  }
}

async function cancelWatchedJob() {
  const id = adding.watching;
  if (!id) return;
  $("job-cancel").disabled = true;
  try {
    const job = await getJSON(`/api/jobs/${encodeURIComponent(id)}`, { method: "DELETE", headers: writeHeaders(false) });
    watchJob(job);
    if (!ACTIVE_STATES.has(job.state)) jobFinished(job);
  } catch (error) {
    showAddError(asErrorBody(error)); // 409: it finished first; the next poll shows how
    $("job-cancel").disabled = false;
  }
}

// -- rendering ----------------------------------------------------------------------------------------------

function countOutcomes(outcomes) {
  const counts = Object.fromEntries(OUTCOME_ORDER.map((status) => [status, 0]));
  for (const outcome of outcomes) counts[outcome.status] = (counts[outcome.status] || 0) + 1;
  return counts;
}

function countsText(counts) {
  return OUTCOME_ORDER.filter((status) => counts[status] > 0).map((status) => `${counts[status]} ${status}`).join(" · ");
}

function formatBytes(bytes) {
  if (bytes >= 1e9) return `${(bytes / 1e9).toFixed(1)} GB`;
  if (bytes >= 1e6) return `${(bytes / 1e6).toFixed(1)} MB`;
  return `${Math.round(bytes / 1e3)} kB`;
}

function formatWhen(unixSeconds) {
  if (unixSeconds === null || unixSeconds === undefined) return "";
  return new Date(unixSeconds * 1000).toLocaleString([], { dateStyle: "short", timeStyle: "medium" });
}

function formatTook(seconds) {
  return seconds < 60 ? `${seconds.toFixed(1)} s` : formatMoment(seconds);
}

// The current stage of a target: its name, and a bar with the measured units when the source reports them
// (audio seconds transcribed, bytes downloaded).
function stageView(current) {
  const name = STAGE_NAMES[current.stage] || current.stage;
  const view = el("div", { className: "stage", dataset: { stage: current.stage } }, el("span", { className: "stage-name" }, name));
  if (current.done === null || current.done === undefined) return view;
  const units = STAGE_UNITS[current.stage] || ((n) => String(Math.round(n)));
  const amount = current.total ? `${units(current.done)} of ${units(current.total)}` : units(current.done);
  const label = current.stage === "transcribe" ? `audio ${amount}` : amount;
  if (current.total) {
    view.append(el("progress", { className: "stage-bar", max: current.total, value: Math.min(current.done, current.total) }));
  }
  view.append(el("span", { className: "muted stage-amount" }, label));
  return view;
}

function outcomeView(outcome) {
  const parts = [el("span", { className: `outcome-status status-${outcome.status}` }, outcome.status)];
  if (outcome.title) parts.push(" ", el("span", { className: "outcome-title" }, outcome.title));
  if (outcome.windows) parts.push(" ", el("span", { className: "muted" }, `${outcome.windows} windows`));
  if (outcome.message) parts.push(el("p", { className: "outcome-message" }, outcome.message));
  return el("div", { className: "outcome", dataset: { status: outcome.status } }, ...parts);
}

function targetView(target, outcomes, job) {
  const current = job.progress.current;
  const row = el("li", { className: "job-target" }, el("span", { className: "target-name" }, target));
  for (const outcome of outcomes) row.append(outcomeView(outcome));
  if (current && current.target === target) row.append(stageView(current));
  else if (outcomes.length === 0) {
    const waiting = ACTIVE_STATES.has(job.state) ? "waiting" : "not done";
    row.append(el("div", { className: "muted pending" }, waiting));
  }
  return row;
}

function renderJob(job) {
  const box = $("job");
  box.hidden = false;
  box.dataset.jobId = job.id;
  box.dataset.state = job.state;
  const progress = job.progress;
  $("job-title").textContent = job.targets.length === 1 ? job.targets[0] : `${job.targets.length} targets`;
  const stopping = job.state === "running" && job.cancel_requested;
  $("job-state").textContent = stopping ? "stopping…" : job.state;
  $("job-state").className = `job-state state-${job.state}`;
  $("job-cancel").hidden = !ACTIVE_STATES.has(job.state);
  $("job-cancel").disabled = stopping;
  $("job-progress").max = Math.max(1, progress.targets_total);
  $("job-progress").value = progress.targets_finished;

  const summary = [`${progress.targets_finished} of ${progress.targets_total} target${progress.targets_total === 1 ? "" : "s"} finished`];
  const counts = countsText(countOutcomes(job.outcomes));
  if (counts) summary.push(counts);
  if (job.finished_at && job.started_at) summary.push(`took ${formatTook(job.finished_at - job.started_at)}`);
  else if (job.started_at) summary.push(`started ${formatWhen(job.started_at)}`);
  else summary.push(`queued ${formatWhen(job.created_at)}`);
  $("job-summary").textContent = summary.join(" · ");

  const error = $("job-error");
  error.hidden = !job.error;
  error.replaceChildren();
  if (job.error) {
    error.append(el("strong", {}, job.error.message));
    if (job.error.hint) error.append(" ", el("span", { className: "hint" }, job.error.hint));
  }

  const byTarget = new Map(job.targets.map((target) => [target, []]));
  const strays = []; // outcomes under a target not listed (should not happen; shown rather than lost)
  for (const outcome of job.outcomes) (byTarget.get(outcome.target) || strays).push(outcome);
  const rows = [...byTarget].map(([target, outcomes]) => targetView(target, outcomes, job));
  for (const outcome of strays) rows.push(targetView(outcome.target, [outcome], job));
  $("job-targets").replaceChildren(...rows);
}

async function refreshJobs() {
  const list = $("job-list");
  let jobs;
  try {
    jobs = await getJSON("/api/jobs?limit=20");
  } catch {
    list.replaceChildren(el("li", { className: "muted" }, "the list of jobs could not be loaded"));
    return [];
  }
  if (jobs.length === 0) {
    list.replaceChildren(el("li", { className: "muted" }, "No jobs yet."));
    return jobs;
  }
  list.replaceChildren(
    ...jobs.map((job) => {
      const what = job.targets.length > 1 ? `${job.targets[0]} and ${job.targets.length - 1} more` : job.targets[0] || "";
      const detail = [formatWhen(job.created_at), countsText(job.counts)].filter(Boolean).join(" · ");
      return el(
        "li",
        {},
        el(
          "button",
          { type: "button", className: "job-item", onclick: () => openJob(job.id), dataset: { jobId: job.id, state: job.state } },
          el("span", { className: `job-state state-${job.state}` }, job.state),
          el("span", { className: "job-item-targets" }, what),
          el("span", { className: "muted" }, detail),
        ),
      );
    }),
  );
  return jobs;
}

// Called by app.js each time the Add tab opens.
async function openAddPanel() {
  checkWrites();
  const jobs = await refreshJobs();
  // Follow a job that is still going (submitted before a reload, or from another tab or the CLI's API use).
  if (adding.watching === null && jobs.length > 0 && ACTIVE_STATES.has(jobs[0].state)) openJob(jobs[0].id);
}

document.addEventListener("DOMContentLoaded", () => {
  $("add-form").addEventListener("submit", (event) => {
    event.preventDefault();
    submitTargets();
  });
  $("add-targets").addEventListener("keydown", (event) => {
    // Enter adds a line (one target per line); Ctrl/Cmd+Enter submits.
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      $("add-form").requestSubmit();
    }
  });
  $("job-cancel").addEventListener("click", cancelWatchedJob);
});
