// The chatan viewer's page: reads the run's event stream and keeps a table of its rows.
// Every value goes into the page as text (textContent), never as markup.
"use strict";

const FOLD = 280; // characters shown of a long value until it is clicked
const $ = (id) => document.getElementById(id);

const run = {
  columns: [],   // [{name, kind}]
  total: 0,
  window: 200,
  rows: new Map(), // row index -> {tr, status, cells: [{state, value, prompt, attempt}]}
  finished: [],  // finished row indices, oldest first (the page keeps `window` of them)
  batches: new Map(), // wave -> its line in the header, when the run goes through a provider batch
  ended: false,
};

function text(tag, content, className) {
  const node = document.createElement(tag);
  if (content !== undefined && content !== null) node.textContent = String(content);
  if (className) node.className = className;
  return node;
}

function duration(ms) {
  if (!isFinite(ms) || ms < 0) return "–";
  const s = Math.round(ms / 1000);
  if (s < 60) return s + "s";
  const m = Math.floor(s / 60);
  if (m < 60) return m + "m " + (s % 60) + "s";
  return Math.floor(m / 60) + "h " + (m % 60) + "m";
}

function money(x) {
  return x < 0.01 ? "$" + x.toFixed(4) : "$" + x.toFixed(2);
}

function start(message) {
  run.columns = message.columns;
  run.total = message.rows;
  run.window = message.window;
  const head = $("head");
  head.replaceChildren(text("th", "row"));
  for (const column of run.columns) {
    const th = text("th", column.name);
    th.append(text("small", column.kind));
    head.append(th);
  }
  $("recipe").textContent = " · " + run.total + " rows, seed " + message.seed;
  setStatus("running", "running");
}

function setStatus(className, label) {
  const status = $("status");
  status.className = className;
  status.textContent = label;
}

function rowFor(index) {
  let entry = run.rows.get(index);
  if (entry) return entry;
  const tr = document.createElement("tr");
  tr.dataset.row = index;
  tr.className = "running";
  tr.append(text("td", index, "index"));
  const cells = [];
  run.columns.forEach((column, c) => {
    const td = text("td", "·", "cell empty");
    td.dataset.column = column.name;
    tr.append(td);
    cells.push({ state: "empty", value: null, prompt: null, attempt: 0, td });
  });
  // Rows in index order: before the first row with a larger index.
  const body = $("rows");
  let before = null;
  for (const other of body.children) {
    const n = Number(other.dataset.row);
    if (other.classList.contains("failure")) continue;
    if (n > index) { before = other; break; }
  }
  body.insertBefore(tr, before);
  entry = { tr, status: "running", cells, failureRow: null };
  run.rows.set(index, entry);
  return entry;
}

function renderCell(row, c) {
  const entry = run.rows.get(row);
  const cell = entry.cells[c];
  const td = cell.td;
  td.replaceChildren();
  td.className = "cell " + cell.state;
  if (cell.prompt !== null) {
    const button = text("button", "prompt", "prompt");
    button.type = "button";
    button.title = "the prompt sent for this cell";
    button.addEventListener("click", (event) => {
      event.stopPropagation();
      showPanel("row " + row + ", " + run.columns[c].name + ": the prompt sent (attempt " + cell.attempt + ")", cell.prompt);
    });
    td.append(button);
  }
  if (cell.state === "pending") {
    td.append(text("span", cell.attempt > 1 ? "queued (attempt " + cell.attempt + ")…" : "queued…"));
    return;
  }
  if (cell.state === "flight") {
    td.append(text("span", cell.attempt > 1 ? "in flight (attempt " + cell.attempt + ")…" : "in flight…"));
    return;
  }
  if (cell.state === "stopped") {
    td.append(text("span", "✗ not filled"));
    return;
  }
  if (cell.state === "empty") {
    td.append(text("span", "·"));
    return;
  }
  const value = cell.value === null ? "" : cell.value;
  if (value.length <= FOLD) {
    td.append(text("span", value, "value"));
    return;
  }
  const shown = text("span", value.slice(0, FOLD), "value");
  const toggle = text("span", " … more (" + value.length + " characters)", "fold");
  let open = false;
  toggle.addEventListener("click", () => {
    open = !open;
    shown.textContent = open ? value : value.slice(0, FOLD);
    toggle.textContent = open ? " less" : " … more (" + value.length + " characters)";
  });
  td.append(shown, toggle);
}

function setCell(row, c, state, fields) {
  const entry = rowFor(row);
  const cell = entry.cells[c];
  if (!cell) return;
  cell.state = state;
  if ("value" in fields) cell.value = fields.value;
  if (fields.prompt !== undefined && fields.prompt !== null) cell.prompt = fields.prompt;
  if (fields.attempt) cell.attempt = fields.attempt;
  renderCell(row, c);
}

function finishRow(row, status, failure) {
  const entry = rowFor(row);
  entry.status = status;
  entry.tr.className = status;
  if (status === "failed") {
    // The cells that were still being asked for will not be filled.
    entry.cells.forEach((cell, c) => {
      if (cell.state === "pending" || cell.state === "flight") {
        cell.state = "stopped";
        renderCell(row, c);
      }
    });
  }
  if (status === "failed" && failure) {
    const tr = document.createElement("tr");
    tr.className = "failure";
    tr.dataset.row = row;
    const td = text("td", "");
    td.colSpan = run.columns.length + 1;
    const where = failure.column ? "row " + row + ", column " + failure.column : "row " + row;
    const attempts = failure.attempts !== null && failure.attempts !== undefined
      ? ", " + failure.attempts + (failure.attempts === 1 ? " attempt" : " attempts") : "";
    td.textContent = "✗ " + where + attempts + ": " + failure.cause;
    tr.append(td);
    entry.tr.after(tr);
    entry.failureRow = tr;
  }
  if (status === "done") {
    run.finished.push(row);
    while (run.finished.length > run.window) {
      const old = run.finished.shift();
      const gone = run.rows.get(old);
      if (gone) {
        gone.tr.remove();
        run.rows.delete(old);
      }
    }
  }
  $("kept").textContent = run.finished.length >= run.window
    ? "The page keeps the latest " + run.window + " finished rows, rows under way and failed rows."
    : "";
}

function stats(s) {
  if (!s) return;
  const finished = s.done + s.failed;
  $("s-rows").textContent = s.done + " / " + s.total;
  $("bar").firstElementChild.style.width = (s.total ? (100 * finished / s.total) : 0) + "%";
  const seconds = s.elapsed_ms / 1000;
  const rate = seconds > 0 ? finished / seconds : 0;
  $("s-rate").textContent = rate ? rate.toFixed(rate < 10 ? 2 : 1) : "–";
  $("s-eta").textContent = run.ended ? "done" : (rate ? duration(1000 * (s.total - finished) / rate) : "–");
  $("s-flight").textContent = s.in_flight === null || s.in_flight === undefined ? "–" : s.in_flight;
  $("s-retries").textContent = s.retries;
  $("s-failed").textContent = s.failed;
  $("s-tokens").textContent = s.input_tokens.toLocaleString() + " / " + s.output_tokens.toLocaleString();
  if (s.cost !== null && s.cost !== undefined) {
    $("s-cost-box").hidden = false;
    $("s-cost").textContent = money(s.cost);
  }
}

// A provider batch (one wave of a batch run): submitted, in progress or ended.
function batch(b) {
  const box = $("batches");
  let line = run.batches.get(b.wave);
  if (!line) {
    line = text("span");
    line.dataset.wave = b.wave;
    run.batches.set(b.wave, line);
    box.append(line);
  }
  line.className = b.ended ? "ended" : "pending";
  line.textContent = "batch " + b.wave + (b.resumed ? " (resumed)" : "") + ": " +
    (b.ended ? "ended, " : "in progress, ") + b.done + " / " + b.requests + " done" +
    (b.failed ? ", " + b.failed + " failed" : "");
  line.title = b.id;
  box.hidden = false;
}

function end(message) {
  run.ended = true;
  // The bar shows the end at once, not part-way through its animation.
  $("bar").firstElementChild.style.transition = "none";
  stats(message.stats);
  const failed = message.failed;
  setStatus(failed ? "failed" : "finished", "finished");
  const summary = $("summary");
  const parts = [
    "Run finished: " + message.done + " rows done",
    failed + " failed",
    (message.usage.input_tokens + message.usage.output_tokens).toLocaleString() + " tokens",
    "in " + duration(message.stats.elapsed_ms),
  ];
  if (message.cost !== null && message.cost !== undefined) parts.push("cost ≈ " + money(message.cost));
  summary.textContent = parts.join(" · ") + ".";
  summary.hidden = false;
  source.close();
}

function snapshot(message) {
  run.rows.clear();
  run.finished = [];
  $("rows").replaceChildren();
  run.batches.clear();
  $("batches").replaceChildren();
  for (const b of message.batches || []) batch(b);
  if (message.start) start(message.start);
  for (const view of message.rows) {
    view.cells.forEach((cell, c) => {
      if (cell.state !== "empty") setCell(view.row, c, cell.state, cell);
      else rowFor(view.row);
    });
    if (view.status !== "running") finishRow(view.row, view.status, view.failure);
  }
  stats(message.stats);
  if (message.end) end(message.end);
}

function handle(message) {
  switch (message.type) {
    case "snapshot": snapshot(message); break;
    case "start": start(message); break;
    case "cell":
      setCell(message.row, message.column, message.state, message);
      break;
    case "retry": stats(message.stats); break;
    case "batch": batch(message.batch); break;
    case "row":
      finishRow(message.row, message.status, message.failure);
      stats(message.stats);
      break;
    case "end": end(message); break;
  }
}

function showPanel(title, body) {
  $("panel-title").textContent = title;
  $("panel-text").textContent = body;
  $("panel").hidden = false;
}
$("panel-close").addEventListener("click", () => { $("panel").hidden = true; });
document.addEventListener("keydown", (event) => {
  if (event.key === "Escape") $("panel").hidden = true;
});

const source = new EventSource("/events");
source.onmessage = (event) => handle(JSON.parse(event.data));
source.onerror = () => {
  if (!run.ended) setStatus("failed", "disconnected (the run may have ended)");
  source.close();
};
