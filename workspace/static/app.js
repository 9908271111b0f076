// geosleuth workspace page: plain JavaScript, no framework, no build step.
// Every piece of text from the server (OCR, web pages, file names, notes) is set with
// textContent, never parsed as HTML; the one HTML fragment taken as is is the map, which
// the server's map component escapes. The page's CSP allows only this server's scripts.
"use strict";

const STEP_KINDS = ["header", "tool_call", "model_call", "image", "evidence", "candidates", "decision",
  "review", "error", "egress", "final"];
const FINISHED = ["done", "failed", "interrupted"];

// ---------------------------------------------------------------- token and API
const token = (() => {
  const params = new URLSearchParams(location.search);
  const given = params.get("token");
  if (given) {
    sessionStorage.setItem("geosleuth-token", given);
    params.delete("token");
    const rest = params.toString();
    history.replaceState(null, "", location.pathname + (rest ? "?" + rest : "") + location.hash);
  }
  return given || sessionStorage.getItem("geosleuth-token") || "";
})();

async function api(method, path, body) {
  const init = { method, headers: { "X-GeoSleuth-Token": token }, credentials: "same-origin" };
  if (body instanceof FormData) {
    init.body = body;
  } else if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const response = await fetch(path, init);
  const type = response.headers.get("content-type") || "";
  const data = type.includes("json") ? await response.json() : await response.text();
  if (!response.ok) {
    const message = data && data.error ? data.error.message : `${response.status} ${response.statusText}`;
    throw new Error(message);
  }
  return data;
}

// ---------------------------------------------------------------- DOM helpers
function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key.startsWith("on")) el.addEventListener(key.slice(2), value);
    else if (key === "text") el.textContent = value;
    else el.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

function svg(tag, attrs) {
  const el = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [key, value] of Object.entries(attrs || {})) el.setAttribute(key, String(value));
  return el;
}

function flash(text, isError) {
  const el = document.getElementById("flash");
  el.textContent = text;
  el.className = isError ? "error" : "";
}

function safeUrl(url) {
  return typeof url === "string" && /^https?:\/\/\S+$/i.test(url) ? url : null;
}

function fmt(value, digits) {
  return typeof value === "number" ? value.toFixed(digits) : "";
}

// ---------------------------------------------------------------- routing
let stopPage = () => {};

function route() {
  stopPage();
  stopPage = () => {};
  const parts = location.hash.replace(/^#\/?/, "").split("/").filter(Boolean);
  const app = document.getElementById("app");
  app.replaceChildren();
  if (parts[0] === "case" && parts[1]) showCase(app, parts[1], parts[3] || null);
  else showCases(app);
}

window.addEventListener("hashchange", route);
document.addEventListener("DOMContentLoaded", route);

// ---------------------------------------------------------------- case list
async function showCases(app) {
  const name = h("input", { type: "text", id: "case-name", placeholder: "e.g. Flood, 3 May", required: true });
  const online = h("input", { type: "checkbox", id: "case-online" });
  const review = h("input", { type: "checkbox", id: "case-review", checked: true });
  const form = h("form", { class: "panel row", id: "new-case" },
    h("label", { for: "case-name" }, "New case"), name,
    h("label", {}, online, " online"), h("label", {}, review, " review each answer"),
    h("button", { type: "submit", class: "primary" }, "Create case"));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      const created = await api("POST", "/api/cases",
        { name: name.value.trim(), online: online.checked, review: review.checked });
      location.hash = `#/case/${created.id}`;
    } catch (err) { flash(err.message, true); }
  });
  const list = h("ul", { class: "cases", id: "cases" });
  app.append(h("h1", { text: "Cases" }), form, h("section", { class: "panel" }, list));
  name.focus();
  try {
    const cases = await api("GET", "/api/cases");
    if (!cases.length) list.append(h("li", { class: "muted", text: "No cases yet." }));
    for (const c of cases) {
      list.append(h("li", {}, h("a", { href: `#/case/${c.id}`, text: c.name }), " ",
        h("span", { class: "muted", text: `${c.images ?? c.image_count ?? 0} photo(s) · created ${c.created}` })));
    }
  } catch (err) { flash(err.message, true); }
}

// ---------------------------------------------------------------- case page
async function showCase(app, caseId, runId) {
  let kase;
  try { kase = await api("GET", `/api/cases/${caseId}`); } catch (err) {
    app.append(h("p", { class: "error", text: err.message }));
    return;
  }
  const images = Object.fromEntries(kase.images.map((i) => [i.id, i]));
  if (!runId && kase.runs.length) runId = kase.runs[kase.runs.length - 1].id;

  const photoList = h("ul", { class: "photos", id: "photos" });
  const side = h("div", { class: "side" },
    h("section", { class: "panel" }, h("h2", { text: "Photos" }), photoList, uploadPanel(kase)),
    notesPanel(kase, null),
    settingsPanel(kase),
    exportPanel(kase));
  const detail = h("div", { id: "detail" });
  app.append(h("h1", {}, h("a", { href: "#/", text: "Cases" }), " / ", h("span", { id: "case-title", text: kase.name })),
    h("div", { class: "layout" }, side, detail));

  function drawPhotos(runs) {
    photoList.replaceChildren(...runs.map((run) => {
      const image = images[run.image_id] || {};
      return h("li", {}, h("button", {
        type: "button", "data-run": run.id, "aria-current": run.id === runId ? "true" : "false",
        onclick: () => { location.hash = `#/case/${caseId}/run/${run.id}`; },
      }, h("span", { text: image.filename || run.image_id }), h("span", { class: `status ${run.status}`, text: run.status })));
    }));
    if (!runs.length) photoList.append(h("li", { class: "muted", text: "No photos yet: add one below." }));
  }
  drawPhotos(kase.runs);

  let closeRun = () => {};
  if (runId) closeRun = showRun(detail, kase, runId);

  // statuses of the other photos: a light poll of the case while the page is open
  const timer = setInterval(async () => {
    try {
      const fresh = await api("GET", `/api/cases/${caseId}`);
      for (const image of fresh.images) images[image.id] = image;
      drawPhotos(fresh.runs);
      kase.runs = fresh.runs;
      kase.notes = fresh.notes;
    } catch (err) { /* the next tick tries again */ }
  }, 2000);
  stopPage = () => { clearInterval(timer); closeRun(); };
}

function uploadPanel(kase) {
  const input = h("input", { type: "file", id: "file-input", accept: "image/*", multiple: true, class: "sr-only", tabindex: "-1" });
  const status = h("p", { class: "muted", id: "upload-status", "aria-live": "polite" });
  const drop = h("div", { class: "drop", id: "drop", tabindex: "0", role: "button",
    "aria-label": "Drop photos here, or press Enter to choose files" }, "Drop photos here or ",
    h("label", { for: "file-input", class: "button" }, "choose files"));
  async function send(files) {
    let last = null;
    for (const file of files) {
      status.textContent = `Uploading ${file.name}…`;
      const form = new FormData();
      form.append("file", file, file.name);
      try {
        last = await api("POST", `/api/cases/${kase.id}/images`, form);
      } catch (err) { flash(`${file.name}: ${err.message}`, true); }
    }
    status.textContent = last ? "Uploaded; the run has started." : "";
    if (last) location.hash = `#/case/${kase.id}/run/${last.run_id}`;
  }
  input.addEventListener("change", () => send([...input.files]));
  drop.addEventListener("keydown", (event) => {
    if (event.key === "Enter" || event.key === " ") { event.preventDefault(); input.click(); }
  });
  drop.addEventListener("dragover", (event) => { event.preventDefault(); drop.classList.add("over"); });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (event) => {
    event.preventDefault();
    drop.classList.remove("over");
    send([...event.dataTransfer.files]);
  });
  return h("div", {}, h("h3", { text: "Add photos" }), drop, input, status);
}

function notesPanel(kase, run) {
  const mine = (kase.notes || []).filter((n) => (run ? n.image_id === run.image_id : !n.image_id && !n.run_id));
  const list = h("ul", { class: "notes" }, mine.map((n) => h("li", { text: n.text })));
  const id = run ? "photo-note" : "case-note";
  const text = h("textarea", { id, "aria-label": run ? "Note on this photo" : "Note on the case" });
  const add = h("button", { type: "button", id: `${id}-add` }, "Add note");
  add.addEventListener("click", async () => {
    if (!text.value.trim()) return;
    const body = { text: text.value };
    if (run) { body.image_id = run.image_id; body.run_id = run.id; }
    try {
      await api("POST", `/api/cases/${kase.id}/notes`, body);
      list.append(h("li", { text: text.value }));
      kase.notes = [...(kase.notes || []), { ...body, text: text.value }];
      text.value = "";
      flash("Note added.");
    } catch (err) { flash(err.message, true); }
  });
  return h("section", { class: "panel", id: `${id}s` },
    h("h2", { text: run ? "Notes on this photo" : "Case notes" }), list, text, h("div", { class: "row" }, add));
}

function settingsPanel(kase) {
  const s = kase.settings;
  const online = h("input", { type: "checkbox", id: "set-online", checked: !!s.online });
  const upload = h("input", { type: "checkbox", id: "set-upload", checked: !!s.allow_image_upload });
  const review = h("input", { type: "checkbox", id: "set-review", checked: !!s.review });
  const model = h("input", { type: "text", id: "set-model", value: s.model || "", placeholder: "heuristic playbook" });
  const save = h("button", { type: "button", id: "set-save" }, "Save settings");
  save.addEventListener("click", async () => {
    try {
      kase.settings = await api("PATCH", `/api/cases/${kase.id}`, {
        online: online.checked, allow_image_upload: upload.checked, review: review.checked,
        model: model.value.trim() || null,
      });
      flash("Settings saved.");
    } catch (err) { flash(err.message, true); }
  });
  return h("section", { class: "panel settings" }, h("h2", { text: "Settings" }),
    h("div", {}, h("label", {}, online, " online")), h("div", {}, h("label", {}, upload, " may send the photo")),
    h("div", {}, h("label", {}, review, " review each answer")),
    h("div", {}, h("label", { for: "set-model" }, "model "), model), h("div", { class: "row" }, save));
}

function exportPanel(kase) {
  const link = (format, label) => h("a", { class: "button", id: `export-${format}`, download: "",
    href: `/api/cases/${kase.id}/export?format=${format}` }, label);
  return h("section", { class: "panel" }, h("h2", { text: "Export" }),
    h("div", { class: "row" }, link("geojson", "GeoJSON"), link("kml", "KML"), link("csv", "CSV"), link("zip", "Proof (zip)")));
}

// ---------------------------------------------------------------- one photo's run
function showRun(detail, kase, runId) {
  const run = kase.runs.find((r) => r.id === runId) || { id: runId };
  const image = kase.images.find((i) => i.id === run.image_id) || {};
  const steps = h("ol", { class: "steps", id: "steps", "aria-live": "polite" });
  const body = h("div", { id: "run-body" });
  const status = h("span", { id: "run-status", class: `status ${run.status}`, text: run.status || "" });
  const stepsBox = h("div", { class: "steps-box" }, h("h3", { text: "Steps (live)" }), steps);
  detail.replaceChildren(
    h("section", { class: "panel" }, h("h2", {}, h("span", { text: image.filename || "photo" }), " ", status),
      body, stepsBox),
    notesPanel(kase, run));

  let closed = false;
  async function refresh() {
    try {
      const view = await api("GET", `/api/runs/${runId}/view`);
      if (!closed) drawRun(body, view, image, stepsBox, runId, refresh, !!kase.settings.online);
      status.textContent = view.status;
      status.className = `status ${view.status}`;
    } catch (err) { flash(err.message, true); }
  }
  refresh();

  const source = new EventSource(`/api/runs/${runId}/events`);
  for (const kind of STEP_KINDS) {
    source.addEventListener(kind, (event) => {
      const step = JSON.parse(event.data);
      steps.append(h("li", { "data-kind": kind, text: stepLine(kind, step) }));
      steps.scrollTop = steps.scrollHeight;
      if (kind === "evidence" || kind === "final") refresh();
    });
  }
  for (const kind of ["status", "awaiting_review", "result"]) {
    source.addEventListener(kind, (event) => {
      const data = JSON.parse(event.data);
      if (kind === "status") steps.append(h("li", { "data-kind": "status", text: `status: ${data.status}` }));
      if (kind === "result") source.close();
      refresh();
    });
  }
  return () => { closed = true; source.close(); };
}

function stepLine(kind, step) {
  if (kind === "header") return "run started";
  const name = step.name || step.tool_kind || "";
  switch (kind) {
    case "tool_call": return `${name}${step.observation && step.observation.error ? " (failed)" : ""}`;
    case "evidence": return `evidence: ${(step.evidence || []).map((e) => `${e.kind} "${e.value}"`).join(", ")}`;
    case "candidates": return `${step.stage} candidates: ${(step.candidates || []).length}`;
    case "image": return `image ${step.handle} ${step.width}×${step.height}`;
    case "error": return `error: ${step.error && step.error.message}`;
    case "review": return "review decision recorded";
    case "final": return "final answer";
    default: return `${kind} ${name}`;
  }
}

function drawRun(body, view, image, stepsBox, runId, refresh, online) {
  const parts = [];
  // a paused run's panel is kept across redraws (events arrive while the page opens, and
  // later): what the investigator typed or ticked there, and where, stays as it was
  const kept = body.querySelector(`#review[data-run="${runId}"]`);
  const focused = kept && kept.contains(document.activeElement) ? document.activeElement : null;
  if (view.status === "awaiting_review") parts.push(kept || reviewPanel(view, runId, refresh));
  if (view.answer && view.answer.lat !== undefined && view.answer.lat !== null) {
    const a = view.answer;
    parts.push(h("p", { id: "answer" }, h("strong", { text: `${fmt(a.lat, 5)}, ${fmt(a.lon, 5)}` }),
      ` ± ${fmt(a.radius_km, 2)} km · confidence ${fmt(a.confidence, 2)} · `,
      h("span", { text: a.place || [a.city, a.region, a.country].filter(Boolean).join(", ") })));
  }
  const left = h("div", {}, photoFigure(view, image), stepsBox);
  const maps = h("div", { class: "maps", id: "map" });
  maps.innerHTML = view.map_html || ""; // escaped by the server's map component
  const right = h("div", {}, h("h3", { text: "Map" }), maps);
  if (online && view.answer && typeof view.answer.lat === "number") {
    const tiles = h("div", { class: "tiles", id: "tiles", role: "img", "aria-label": "OpenStreetMap round the answer" });
    right.prepend(tiles);
    tileMap(tiles, view);
  }
  parts.push(h("div", { class: "detail" }, left, right));
  parts.push(h("h3", { text: `Candidates (${view.candidates.length})` }), candidatesTable(view.candidates));
  parts.push(h("h3", { text: `Evidence (${view.evidence.length})` }), evidenceList(view.evidence, body));
  const caret = focused && typeof focused.selectionStart === "number" ? [focused.selectionStart, focused.selectionEnd] : null;
  body.replaceChildren(...parts);
  if (focused && view.status === "awaiting_review") {
    focused.focus();
    if (caret) focused.setSelectionRange(caret[0], caret[1]);
  }
}

function photoFigure(view, image) {
  const img = h("img", { src: `/api/images/${image.id}`, alt: image.filename || "photo", id: "photo" });
  const frame = h("div", { class: "frame" }, img);
  if (view.image && view.image.width && view.image.height) {
    const overlay = svg("svg", { class: "overlay", viewBox: `0 0 ${view.image.width} ${view.image.height}`,
      preserveAspectRatio: "none", "aria-hidden": "true" });
    for (const c of view.image.crops || []) {
      const [x0, y0, x1, y1] = c.box;
      const rect = svg("rect", { class: "crop", x: x0, y: y0, width: Math.max(1, x1 - x0), height: Math.max(1, y1 - y0) });
      const title = svg("title");
      title.textContent = `${c.handle}: ${c.operation}`;
      rect.append(title);
      overlay.append(rect);
    }
    for (const b of view.boxes) {
      const [x0, y0, x1, y1] = b.box;
      const rect = svg("rect", { class: `box ${b.kind}`, "data-ev": b.evidence_id || "", x: x0, y: y0,
        width: Math.max(1, x1 - x0), height: Math.max(1, y1 - y0) });
      const title = svg("title");
      title.textContent = `${b.evidence_id} ${b.kind}: ${b.value}${b.also.length ? " (also " + b.also.join(", ") + ")" : ""}`;
      rect.append(title);
      overlay.append(rect);
    }
    frame.append(overlay);
  }
  return h("figure", {}, frame, h("figcaption", { class: "muted", text:
    `${image.filename || ""} · ${image.width}×${image.height} · sha256 ${String(image.sha256 || "").slice(0, 12)}…` }));
}

function candidatesTable(candidates) {
  if (!candidates.length) return h("p", { class: "muted", text: "No candidates yet." });
  return h("table", { id: "candidates" },
    h("tr", {}, ["#", "place", "lat, lon", "score", "radius", "support"].map((t) => h("th", { text: t }))),
    candidates.map((c, i) => h("tr", {},
      h("td", { text: i + 1 }), h("td", { text: `${c.label || ""}${c.country_code ? " (" + c.country_code + ")" : ""}` }),
      h("td", {}, h("a", { href: `https://www.openstreetmap.org/?mlat=${c.lat}&mlon=${c.lon}#map=16/${c.lat}/${c.lon}`,
        rel: "noopener noreferrer", target: "_blank", text: `${fmt(c.lat, 5)}, ${fmt(c.lon, 5)}` })),
      h("td", { text: fmt(c.score, 3) }), h("td", { text: `${fmt(c.radius_km, 1)} km` }),
      h("td", { text: (c.sources || []).join(" ") }))));
}

function evidenceList(evidence, scope) {
  if (!evidence.length) return h("p", { class: "muted", text: "No evidence yet." });
  return h("ul", { class: "evidence", id: "evidence" }, evidence.map((e) => {
    const url = safeUrl(e.provenance_url);
    const prov = url ? h("a", { href: url, rel: "noopener noreferrer nofollow", target: "_blank", text: e.provenance })
      : h("span", { text: e.provenance || "" });
    const li = h("li", { "data-ev": e.id || "", tabindex: "0" }, h("span", { class: "evid", text: e.id || "" }), " ",
      h("span", { class: "kind", text: e.kind }), " ",
      h("span", { class: "value", text: e.value }), " ",
      h("span", { class: "muted", text: `${fmt(e.confidence, 2)} via ${e.tool} ` }), prov);
    const mark = (on) => scope.querySelectorAll("rect.box").forEach((r) => {
      if (r.getAttribute("data-ev") === e.id) r.classList.toggle("hl", on);
    });
    li.addEventListener("mouseenter", () => mark(true));
    li.addEventListener("mouseleave", () => mark(false));
    li.addEventListener("focus", () => mark(true));
    li.addEventListener("blur", () => mark(false));
    return li;
  }));
}

function reviewPanel(view, runId, refresh) {
  const note = h("input", { type: "text", id: "review-note", placeholder: "why (kept in the trace)", size: 40 });
  const hint = h("input", { type: "text", id: "review-hint", placeholder: "e.g. Portugal" });
  const boxes = [];
  async function decide(decision) {
    try {
      await api("POST", `/api/runs/${runId}/review`, { ...decision, note: note.value });
      flash("Decision sent; the run resumes.");
      refresh();
    } catch (err) { flash(err.message, true); }
  }
  const rows = view.candidates.map((c, i) => {
    const check = h("input", { type: "checkbox", "aria-label": `reject candidate ${i + 1}` });
    boxes.push(check);
    const outside = c.outside_constraint ? " · outside the run's country/box constraint" : "";
    return h("li", {}, check, " ", h("span", { text: `${i + 1}. ${c.label} (${fmt(c.score, 3)})${outside}` }), " ",
      h("button", { type: "button", class: "choose", "data-index": i, onclick: () => decide({ select: i }) },
        `Choose #${i + 1}`));
  });
  return h("section", { class: "panel review", id: "review", "data-run": runId },
    h("h3", { text: "Review: this run waits for your decision" }),
    h("div", { class: "row" },
      h("button", { type: "button", class: "primary", id: "review-accept", onclick: () => decide({ accept: true }) },
        "Accept the answer"),
      h("button", { type: "button", id: "review-reject", onclick: () => {
        const reject = boxes.map((b, i) => (b.checked ? i : -1)).filter((i) => i >= 0);
        decide(reject.length ? { reject } : { accept: false });
      } }, "Reject checked (or the answer)"),
      h("label", { for: "review-hint" }, "hint"), hint,
      h("button", { type: "button", id: "review-hint-send", onclick: () => decide({ hint: hint.value }) }, "Send hint")),
    h("div", { class: "row" }, h("label", { for: "review-note" }, "note"), note),
    h("ul", { class: "review-candidates" }, rows));
}

// ---------------------------------------------------------------- OSM tiles (online cases only)
// Leaflet comes from the xstatic-leaflet package, served by this server; it is loaded, and
// tiles are asked for, only when the case is online. Offline, the SVG map above is all.
// Tooltips get DOM nodes, never strings: Leaflet would parse a string as HTML.
let leafletLoading = null;

function loadLeaflet() {
  if (window.L) return Promise.resolve(window.L);
  if (!leafletLoading) {
    leafletLoading = new Promise((resolve, reject) => {
      document.head.append(h("link", { rel: "stylesheet", href: "/static/leaflet/leaflet.css" }));
      const script = h("script", { src: "/static/leaflet/leaflet.js" });
      script.addEventListener("load", () => resolve(window.L));
      script.addEventListener("error", () => reject(new Error("Leaflet is not installed (pip install xstatic-leaflet)")));
      document.head.append(script);
    });
  }
  return leafletLoading;
}

async function tileMap(container, view) {
  let L;
  try { L = await loadLeaflet(); } catch (err) { container.remove(); return; }
  const a = view.answer;
  if (!container.isConnected) return; // redrawn meanwhile
  const map = L.map(container, { scrollWheelZoom: false }).setView([a.lat, a.lon], 13);
  L.tileLayer("https://tile.openstreetmap.org/{z}/{x}/{y}.png", {
    maxZoom: 19, attribution: "© OpenStreetMap contributors",
  }).addTo(map);
  view.candidates.forEach((c, i) => {
    L.circleMarker([c.lat, c.lon], { radius: 6, color: "#ff9500" }).bindTooltip(h("span", { text: `${i + 1}. ${c.label || ""}` })).addTo(map);
  });
  const radius = Math.max(50, (a.radius_km || 0) * 1000);
  const circle = L.circle([a.lat, a.lon], { radius, color: "#ff2d55" }).addTo(map);
  L.circleMarker([a.lat, a.lon], { radius: 8, color: "#ff2d55", fillOpacity: 0.9 }).bindTooltip(h("span", { text: "answer" })).addTo(map);
  map.fitBounds(circle.getBounds());
}
