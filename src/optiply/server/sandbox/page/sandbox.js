// The sandbox page: sign in, then watch one account's requests, fault rules, rows and traffic.
// One plain script, no framework, no build step. The access token lives in `token` below and
// nowhere else (not in the DOM, the URL, storage or cookies); every call sends it as a header.
// Data from the journal is shown with textContent only, never parsed as HTML.
"use strict";

(function () {
  const ROOT = location.pathname.replace(/\/sandbox\/?$/, ""); // a path prefix, if any
  const JSONAPI = "application/vnd.api+json";
  const MAX_ROWS = 500; // rows in the table; a poll asks for at most this many new ones
  const POLL_MS = 1000;
  const SLOW_EVERY = 10; // polls between refreshes of the chart, rows and faults when idle
  const WRITES = new Set(["POST", "PATCH", "PUT", "DELETE"]);
  const CLASSES = ["2xx", "3xx", "4xx", "5xx", "other"]; // other: no answer (a dropped connection)

  let token = null; // the access token: memory only
  let accountId = null;
  let requests = []; // newest first, at most MAX_ROWS
  let lastId = 0;
  let matching = 0;
  let selectedId = null;
  let generation = 0; // bumped on sign-out, account or filter change: late answers are dropped
  let timer = null;
  let ticks = 0;
  let busy = false;
  let rules = 0; // fault rules listed: while there are some, new requests may have moved counts
  const missing = new Set(); // optional endpoints this server does not have (404)

  const $ = (selector, root) => (root || document).querySelector(selector);

  // --- talking to the server ----------------------------------------------------------------

  class Failure extends Error {
    constructor(status, message, source) {
      super(message);
      this.status = status;
      this.source = source || null;
    }
  }

  function query(params) {
    const parts = [];
    for (const [key, value] of Object.entries(params || {})) {
      if (value !== null && value !== undefined && value !== "") {
        parts.push(encodeURIComponent(key) + "=" + encodeURIComponent(value));
      }
    }
    return parts.length ? "?" + parts.join("&") : "";
  }

  async function call(method, path, params, body, accept) {
    const headers = { Accept: accept || "application/json", Authorization: "Bearer " + token };
    const init = { method, headers, credentials: "omit", cache: "no-store", referrerPolicy: "no-referrer" };
    if (body !== undefined) {
      headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    const response = await fetch(ROOT + path + query(params), init);
    if (response.status === 401) {
      expired();
      throw new Failure(401, "token expired or revoked — sign in again");
    }
    return answer(response);
  }

  async function answer(response) {
    const text = await response.text();
    let data = null;
    try {
      data = text ? JSON.parse(text) : null;
    } catch (error) {
      data = null;
    }
    if (!response.ok) {
      throw failure(response.status, data);
    }
    return data;
  }

  function failure(status, data) {
    if (data && Array.isArray(data.errors) && data.errors.length) {
      const error = data.errors[0];
      const source = error.source || {};
      const where = source.pointer || source.parameter;
      const message = (error.detail || error.title || error.code || "error") + (where ? " (" + where + ")" : "");
      return new Failure(status, message, source);
    }
    if (data && data.error) {
      const parts = [data.error_description || data.error, data.hint].filter(Boolean);
      return new Failure(status, parts.join(": "));
    }
    return new Failure(status, "HTTP " + status);
  }

  async function optional(name, load) {
    // An endpoint a server may not have yet (404): its panel says so instead of failing.
    if (missing.has(name)) {
      return null;
    }
    try {
      return await load();
    } catch (error) {
      if (error.status === 404) {
        missing.add(name);
        return null;
      }
      throw error;
    }
  }

  // --- signing in and out -------------------------------------------------------------------

  function base64(text) {
    let binary = "";
    for (const byte of new TextEncoder().encode(text)) {
      binary += String.fromCharCode(byte);
    }
    return btoa(binary);
  }

  async function signInWithPassword(event) {
    event.preventDefault();
    const form = event.target;
    const fields = form.elements;
    const body = new URLSearchParams({
      grant_type: "password",
      username: fields.username.value,
      password: fields.password.value,
    });
    const basic = base64(fields.client_id.value + ":" + fields.client_secret.value);
    fields.password.value = "";
    fields.client_secret.value = "";
    notify("Signing in…", "info");
    try {
      const response = await fetch(ROOT + "/api/auth/oauth/token", {
        method: "POST",
        headers: { Authorization: "Basic " + basic, Accept: "application/json" },
        body,
        credentials: "omit",
        cache: "no-store",
      });
      const data = await answer(response);
      await start(data.access_token, "signed in as " + fields.username.value);
    } catch (error) {
      notify("Sign-in failed: " + error.message, "error");
    }
  }

  async function signInWithToken(event) {
    event.preventDefault();
    const field = event.target.elements.token;
    const pasted = field.value.trim();
    field.value = "";
    await start(pasted, "signed in with a pasted token");
  }

  async function start(accessToken, who) {
    token = accessToken;
    generation += 1;
    let accounts;
    try {
      const document_ = await call("GET", "/v1/accounts", { "page[limit]": 100 }, undefined, JSONAPI);
      accounts = document_.data;
    } catch (error) {
      if (error.status !== 401) {
        token = null;
        notify("Could not list your accounts: " + error.message, "error");
      }
      return;
    }
    if (!accounts.length) {
      token = null;
      notify("This user reaches no account.", "error");
      return;
    }
    const select = $("#account");
    select.replaceChildren(
      ...accounts.map((account) => {
        const option = document.createElement("option");
        option.value = account.id;
        option.textContent = account.id + " — " + ((account.attributes && account.attributes.name) || "");
        return option;
      })
    );
    $("#who").textContent = who;
    $("#sign-in").hidden = true;
    $("#session").hidden = false;
    $("#app").hidden = false;
    notify("");
    chooseAccount(select.value);
  }

  function signOut(message) {
    token = null;
    accountId = null;
    generation += 1;
    clearTimeout(timer);
    timer = null;
    reset();
    $("#account").replaceChildren();
    $("#who").textContent = "";
    $("#session").hidden = true;
    $("#app").hidden = true;
    $("#sign-in").hidden = false;
    notify(message || "", "error");
  }

  function expired() {
    if (token !== null) {
      signOut("token expired or revoked — sign in again");
    }
  }

  function notify(message, kind) {
    const notice = $("#notice");
    notice.textContent = message;
    notice.className = "notice " + (kind || "info");
    notice.hidden = !message;
  }

  // --- the account's view -------------------------------------------------------------------

  function reset() {
    requests = [];
    lastId = 0;
    matching = 0;
    rules = 0;
    selectedId = null;
    $("#requests tbody").replaceChildren();
    $("#faults tbody").replaceChildren();
    $("#rows tbody").replaceChildren();
    $("#chart").replaceChildren();
    showDetail(null);
    renderSummary();
  }

  function chooseAccount(id) {
    accountId = id;
    generation += 1;
    reset();
    loadSettings();
    refreshAll();
  }

  function filters() {
    const fields = $("#filters").elements;
    return {
      accountId,
      method: fields.method.value,
      status: fields.status.value.trim(),
      path: fields.path.value.trim(),
    };
  }

  async function refreshAll() {
    const mine = generation;
    clearTimeout(timer);
    ticks = 0;
    await Promise.all([
      reload(mine),
      guarded(mine, refreshFaults),
      guarded(mine, refreshRows),
      guarded(mine, refreshChart),
    ]);
    schedule(mine);
  }

  async function guarded(mine, refresh) {
    try {
      await refresh(mine);
    } catch (error) {
      if (mine === generation && error.status !== 401) {
        notify(error.message, "error");
      }
    }
  }

  async function reload(mine) {
    // The newest MAX_ROWS matching requests and how many match in all.
    $("#filter-error").hidden = true;
    try {
      const wanted = filters();
      const [listed, counted] = await Promise.all([
        call("GET", "/sandbox/requests", { ...wanted, limit: MAX_ROWS, bodies: "false" }),
        call("GET", "/sandbox/requests/count", wanted),
      ]);
      if (mine !== generation) {
        return;
      }
      requests = listed.requests.slice().reverse();
      lastId = requests.length ? requests[0].id : lastId;
      matching = counted.count;
      renderRequests();
    } catch (error) {
      if (mine === generation && error.status !== 401) {
        showError("#filter-error", error.message);
      }
    }
  }

  function schedule(mine) {
    if (mine === generation && token !== null) {
      clearTimeout(timer);
      timer = setTimeout(() => tick(mine), POLL_MS);
    }
  }

  async function tick(mine) {
    if (mine !== generation || busy) {
      return schedule(mine);
    }
    busy = true;
    ticks += 1;
    try {
      let fresh = [];
      if (!$("#filters").elements.paused.checked) {
        const listed = await call("GET", "/sandbox/requests", { ...filters(), after: lastId, limit: MAX_ROWS, bodies: "false" });
        if (mine !== generation) {
          return;
        }
        fresh = listed.requests;
        addRequests(fresh);
      }
      const idle = ticks % SLOW_EVERY === 0;
      const jobs = [];
      if (fresh.length || idle) {
        jobs.push(guarded(mine, refreshChart));
      }
      if (fresh.some((row) => WRITES.has(row.method)) || idle) {
        jobs.push(guarded(mine, refreshRows));
      }
      if ((fresh.length && rules) || fresh.some((row) => row.fault !== null) || idle) {
        jobs.push(guarded(mine, refreshFaults));
      }
      await Promise.all(jobs);
    } catch (error) {
      if (mine === generation && error.status === 400) {
        showError("#filter-error", error.message); // a bad filter value
      } else if (mine === generation && error.status !== 401) {
        notify("Polling failed: " + error.message, "error");
      }
    } finally {
      busy = false;
      schedule(mine);
    }
  }

  function addRequests(fresh) {
    if (!fresh.length) {
      return;
    }
    lastId = fresh[fresh.length - 1].id;
    matching += fresh.length;
    const tbody = $("#requests tbody");
    const rows = document.createDocumentFragment();
    for (let i = fresh.length - 1; i >= 0; i -= 1) {
      rows.appendChild(requestRow(fresh[i]));
    }
    tbody.insertBefore(rows, tbody.firstChild);
    requests = fresh.slice().reverse().concat(requests).slice(0, MAX_ROWS);
    while (tbody.rows.length > MAX_ROWS) {
      tbody.deleteRow(-1);
    }
    renderSummary();
    notify("");
  }

  // --- the request table and the detail pane -------------------------------------------------

  function renderRequests() {
    const rows = document.createDocumentFragment();
    for (const row of requests) {
      rows.appendChild(requestRow(row));
    }
    $("#requests tbody").replaceChildren(rows);
    renderSummary();
  }

  function renderSummary() {
    $("#requests-empty").hidden = requests.length > 0;
    $("#summary").textContent = requests.length
      ? "newest " + requests.length + " of " + matching + " matching"
      : "";
  }

  function cell(tr, text, className) {
    const td = tr.insertCell();
    td.textContent = text;
    if (className) {
      td.className = className;
    }
    return td;
  }

  function statusClass(status) {
    return status >= 100 && status < 600 ? "c" + Math.floor(status / 100) + "xx" : "cnone";
  }

  function statusText(status) {
    return status ? String(status) : "none"; // 0: the connection was dropped or hung up
  }

  function requestRow(row) {
    const tr = document.createElement("tr");
    tr.dataset.id = row.id;
    tr.className = statusClass(row.status);
    if (row.fault !== null) {
      tr.classList.add("faulted");
      tr.dataset.fault = row.fault;
    }
    if (row.id === selectedId) {
      tr.classList.add("selected");
    }
    cell(tr, row.id, "num");
    cell(tr, clock(row.at));
    cell(tr, row.method);
    cell(tr, row.path + (row.query ? "?" + row.query : ""), "path");
    cell(tr, statusText(row.status), "status");
    cell(tr, row.durationMs.toFixed(1), "num");
    cell(tr, row.errorCode || "");
    cell(tr, row.fault !== null ? "fault #" + row.fault : "", "fault");
    return tr;
  }

  function clock(at) {
    const date = new Date(at.replace(/(\.\d{3})\d*/, "$1"));
    const pad = (n, width) => String(n).padStart(width || 2, "0");
    return pad(date.getHours()) + ":" + pad(date.getMinutes()) + ":" + pad(date.getSeconds()) + "." + pad(date.getMilliseconds(), 3);
  }

  function selectRow(event) {
    const tr = event.target.closest("tr[data-id]");
    if (!tr) {
      return;
    }
    const id = Number(tr.dataset.id);
    const row = requests.find((r) => r.id === id);
    const previous = $("#requests tr.selected");
    if (previous) {
      previous.classList.remove("selected");
    }
    tr.classList.add("selected");
    selectedId = id;
    showDetail(row || null);
    loadDetail(id);
  }

  async function loadDetail(id) {
    // The table holds summaries: the headers and bodies come with the request, one by one.
    const mine = generation;
    try {
      const whole = await call("GET", "/sandbox/requests/" + id, { accountId });
      if (mine === generation && selectedId === id) {
        showDetail(whole.request);
      }
    } catch (error) {
      if (mine === generation && selectedId === id && error.status !== 401) {
        notify("Could not load request #" + id + ": " + error.message, "error");
      }
    }
  }

  function element(tag, text, className) {
    const node = document.createElement(tag);
    if (text !== undefined && text !== null) {
      node.textContent = text;
    }
    if (className) {
      node.className = className;
    }
    return node;
  }

  function pretty(body) {
    if (!body) {
      return "";
    }
    try {
      return JSON.stringify(JSON.parse(body), null, 2);
    } catch (error) {
      return body;
    }
  }

  function showDetail(row) {
    const pane = $("#detail");
    if (!row) {
      pane.replaceChildren(element("p", "Click a request to see it here.", "muted"));
      return;
    }
    const title = element("h2", row.method + " " + row.path);
    const facts = element("dl");
    const fact = (name, value) => {
      facts.append(element("dt", name), element("dd", value === null || value === "" ? "—" : String(value)));
    };
    fact("Request", "#" + row.id);
    fact("At", row.at);
    fact("Query", row.query);
    fact("Status", row.status ? row.status : "none (no answer: the connection was dropped)");
    fact("Duration", row.durationMs.toFixed(3) + " ms");
    fact("Error code", row.errorCode);
    fact("Fault", row.fault !== null ? "fault #" + row.fault : null);
    fact("Client", row.clientId);
    fact("User", row.username);
    fact("Accounts", (row.accountIds || []).join(", "));
    if (row.requestBody === undefined) {
      pane.replaceChildren(title, facts, element("p", "Loading the headers and bodies…", "muted"));
      pane.classList.toggle("faulted", row.fault !== null);
      return;
    }
    const headers = element("table", null, "compact headers");
    for (const [name, value] of Object.entries(row.requestHeaders || {})) {
      const tr = headers.insertRow();
      cell(tr, name, "name");
      cell(tr, value);
    }
    pane.replaceChildren(
      title,
      facts,
      element("h3", "Request headers"),
      headers,
      element("h3", "Request body" + (row.requestTruncated ? " (truncated)" : "")),
      element("pre", pretty(row.requestBody) || "(empty)", "body request-body"),
      element("h3", "Response body" + (row.responseTruncated ? " (truncated)" : "")),
      element("pre", pretty(row.responseBody) || "(empty)", "body response-body")
    );
    if (row.fault !== null) {
      pane.classList.add("faulted");
    } else {
      pane.classList.remove("faulted");
    }
  }

  // --- the chart ----------------------------------------------------------------------------

  function svg(tag, attributes) {
    // The chart's <svg> is in the page, so the HTML parser gave it the SVG namespace.
    const node = document.createElementNS($("#chart").namespaceURI, tag);
    for (const [name, value] of Object.entries(attributes || {})) {
      node.setAttribute(name, value);
    }
    return node;
  }

  async function refreshChart(mine) {
    const data = await optional("timeline", () =>
      call("GET", "/sandbox/timeline", { accountId, minutes: 15, step: 10 })
    );
    if (mine !== generation) {
      return;
    }
    $("#chart-note").hidden = data !== null;
    if (data !== null) {
      drawChart($("#chart"), data.buckets, data.step);
    }
  }

  function drawChart(root, buckets, step) {
    const width = 600;
    const height = 150;
    const left = 34;
    const bottom = 18;
    const plot = height - bottom - 6;
    const totals = buckets.map((b) => CLASSES.reduce((sum, c) => sum + (b[c] || 0), 0));
    const peak = Math.max(1, ...totals) / step; // requests per second
    const scale = nice(peak);
    root.replaceChildren();
    root.appendChild(svg("line", { x1: left, y1: 6, x2: width, y2: 6, class: "grid" }));
    root.appendChild(svg("line", { x1: left, y1: 6 + plot, x2: width, y2: 6 + plot, class: "axis" }));
    const label = (x, y, text, anchor) => {
      const node = svg("text", { x, y, "text-anchor": anchor || "start" });
      node.textContent = text;
      root.appendChild(node);
    };
    label(left - 4, 10, formatRate(scale) + "/s", "end");
    label(left - 4, 6 + plot, "0", "end");
    label(left, height - 4, "−15 min");
    label(left + (width - left) / 3, height - 4, "−10 min", "middle");
    label(left + (2 * (width - left)) / 3, height - 4, "−5 min", "middle");
    label(width, height - 4, "now", "end");
    const slot = (width - left) / Math.max(1, buckets.length);
    buckets.forEach((bucket, i) => {
      if (!totals[i]) {
        return;
      }
      const group = svg("g");
      const tip = svg("title");
      tip.textContent =
        clock(bucket.at) + " — " + formatRate(totals[i] / step) + "/s: " +
        CLASSES.filter((c) => bucket[c]).map((c) => c + " " + bucket[c]).join(", ");
      group.appendChild(tip);
      let y = 6 + plot;
      for (const c of CLASSES) {
        const count = bucket[c] || 0;
        if (!count) {
          continue;
        }
        const h = Math.max(1, (count / step / scale) * plot);
        y -= h;
        group.appendChild(svg("rect", { x: left + i * slot + 0.5, y, width: Math.max(1, slot - 1), height: h, class: "bar s" + c }));
      }
      root.appendChild(group);
    });
  }

  function nice(value) {
    const power = Math.pow(10, Math.floor(Math.log10(value)));
    for (const m of [1, 2, 5, 10]) {
      if (value <= m * power) {
        return m * power;
      }
    }
    return 10 * power;
  }

  function formatRate(rate) {
    return rate >= 10 ? rate.toFixed(0) : rate >= 1 ? rate.toFixed(1) : rate.toFixed(2);
  }

  // --- rows per resource --------------------------------------------------------------------

  async function refreshRows(mine) {
    const data = await optional("rows", () => call("GET", "/sandbox/rows", { accountId }));
    if (mine !== generation) {
      return;
    }
    const tbody = $("#rows tbody");
    if (data === null) {
      tbody.replaceChildren();
      $("#rows-empty").textContent = "This server has no /sandbox/rows.";
      $("#rows-empty").hidden = false;
      return;
    }
    const entries = Object.entries(data.rows).sort((a, b) => a[0].localeCompare(b[0]));
    tbody.replaceChildren(
      ...entries.map(([resource, count]) => {
        const tr = document.createElement("tr");
        tr.dataset.resource = resource;
        cell(tr, resource);
        cell(tr, count, "num count");
        if (!count) {
          tr.className = "muted";
        }
        return tr;
      })
    );
    $("#rows-empty").hidden = entries.length > 0;
  }

  // --- fault rules --------------------------------------------------------------------------

  async function refreshFaults(mine) {
    const data = await optional("faults", () => call("GET", "/sandbox/faults", { accountId }));
    if (mine !== generation) {
      return;
    }
    if (data === null) {
      $("#faults tbody").replaceChildren();
      $("#faults-empty").textContent = "This server has no fault rules (/sandbox/faults).";
      $("#faults-empty").hidden = false;
      $("#fault-form").hidden = true;
      return;
    }
    rules = data.faults.length;
    $("#faults tbody").replaceChildren(...data.faults.map(faultRow));
    $("#faults-empty").hidden = data.faults.length > 0;
  }

  function effect(fault) {
    switch (fault.action) {
      case "status":
        return String(fault.status) + (fault.retryAfter !== null && fault.retryAfter !== undefined ? ", Retry-After " + fault.retryAfter + " s" : "");
      case "latency":
        return "+" + fault.latencyMs + " ms" + (fault.jitterMs ? " ± " + fault.jitterMs + " ms" : "");
      case "hang":
        return "hold " + fault.hangS + " s, then drop";
      case "commit-then-fail":
        return fault.dropAfterCommit ? "commit, then drop" : "commit, then 500";
      default:
        return "";
    }
  }

  function ordinal(n) {
    const tens = n % 100;
    const suffix = tens >= 11 && tens <= 13 ? "th" : ["th", "st", "nd", "rd"][n % 10] || "th";
    return n + suffix;
  }

  function fires(fault) {
    const given = (value) => value !== null && value !== undefined;
    if (given(fault.every)) {
      const every = fault.every === 1 ? "every match" : "every " + ordinal(fault.every) + " match";
      return given(fault.times) ? every + ", " + fault.times + "× at most" : every;
    }
    if (given(fault.times)) {
      return "the first " + fault.times;
    }
    if (fault.probability !== null && fault.probability !== undefined) {
      return "p = " + fault.probability + " (seed " + fault.seed + ")";
    }
    return "always";
  }

  function faultRow(fault) {
    const tr = document.createElement("tr");
    tr.dataset.faultId = fault.id;
    cell(tr, "#" + fault.id, "num");
    cell(tr, fault.action);
    cell(tr, fault.method || "any");
    cell(tr, fault.path, "path");
    cell(tr, effect(fault));
    cell(tr, fires(fault));
    cell(tr, fault.matched, "num matched");
    cell(tr, fault.fired, "num fired");
    const button = element("button", "Clear", "small");
    button.type = "button";
    button.dataset.clear = fault.id;
    tr.insertCell().appendChild(button);
    return tr;
  }

  function number(value) {
    // A number, null when empty; anything else as typed, for the server to point at.
    const text = String(value).trim();
    const parsed = Number(text);
    return text === "" ? null : Number.isFinite(parsed) ? parsed : text;
  }

  function faultBody(form) {
    const fields = form.elements;
    const action = fields.action.value;
    const body = { action, path: fields.path.value.trim() || "*" };
    if (fields.method.value) {
      body.method = fields.method.value;
    }
    const numeric = {
      status: ["status", "retryAfter"],
      latency: ["latencyMs", "jitterMs"],
      hang: ["hangS"],
    }[action] || [];
    for (const name of numeric) {
      const value = number(fields[name].value);
      if (value !== null) {
        body[name] = value;
      }
    }
    if (action === "commit-then-fail") {
      body.dropAfterCommit = fields.dropAfterCommit.checked;
    }
    const mode = fields.mode.value;
    if (mode) {
      body[mode] = number(fields.modeValue.value);
      if (mode === "probability" && number(fields.seed.value) !== null) {
        body.seed = number(fields.seed.value);
      }
    }
    return body;
  }

  async function addFault(event) {
    event.preventDefault();
    const form = event.target;
    for (const invalid of form.querySelectorAll(".invalid")) {
      invalid.classList.remove("invalid");
    }
    $("#fault-error").hidden = true;
    const mine = generation;
    try {
      await call("POST", "/sandbox/faults", { accountId }, faultBody(form));
      await refreshFaults(mine);
    } catch (error) {
      if (error.status === 401) {
        return;
      }
      const pointer = error.source && error.source.pointer;
      const name = pointer ? pointer.split("/").pop() : null;
      const field = name && form.elements[name === "times" || name === "every" || name === "probability" ? "modeValue" : name];
      if (field && field.classList) {
        field.classList.add("invalid");
      }
      showError("#fault-error", error.message);
    }
  }

  async function clearFault(event) {
    const button = event.target.closest("button[data-clear]");
    if (!button) {
      return;
    }
    const mine = generation;
    try {
      await call("DELETE", "/sandbox/faults/" + encodeURIComponent(button.dataset.clear), { accountId });
      await refreshFaults(mine);
    } catch (error) {
      if (error.status !== 401) {
        showError("#fault-error", error.message);
      }
    }
  }

  async function clearFaults() {
    const mine = generation;
    try {
      await call("DELETE", "/sandbox/faults", { accountId });
      await refreshFaults(mine);
    } catch (error) {
      if (error.status !== 401) {
        showError("#fault-error", error.message);
      }
    }
  }

  function showFaultFields() {
    const fields = $("#fault-form").elements;
    for (const label of document.querySelectorAll("#fault-form label[data-for]")) {
      label.hidden = label.dataset.for !== fields.action.value;
    }
    for (const label of document.querySelectorAll("#fault-form label[data-mode]")) {
      label.hidden = !label.dataset.mode.split(" ").includes(fields.mode.value);
    }
  }

  // --- settings (rate limit, compat mode) ---------------------------------------------------

  async function loadSettings() {
    const mine = generation;
    const panel = $("#settings-panel");
    try {
      const data = await optional("settings", () => call("GET", "/sandbox/settings", { accountId }));
      if (mine !== generation) {
        return;
      }
      panel.hidden = data === null;
      if (data !== null) {
        fillSettings(data.settings);
      }
    } catch (error) {
      panel.hidden = true;
    }
  }

  function fillSettings(settings) {
    const fields = $("#settings-form").elements;
    fields.rateLimit.value = settings.rateLimit === null ? "" : settings.rateLimit;
    fields.burst.value = settings.burst === null || settings.burst === undefined ? "" : settings.burst;
    fields.compat.value = settings.compat;
  }

  async function saveSettings(event) {
    event.preventDefault();
    const fields = event.target.elements;
    $("#settings-error").hidden = true;
    const body = { rateLimit: number(fields.rateLimit.value), compat: fields.compat.value };
    if (body.rateLimit !== null && number(fields.burst.value) !== null) {
      body.burst = number(fields.burst.value);
    }
    try {
      const data = await call("PATCH", "/sandbox/settings", { accountId }, body);
      fillSettings(data.settings);
    } catch (error) {
      if (error.status !== 401) {
        showError("#settings-error", error.message);
      }
    }
  }

  function showError(selector, message) {
    const node = $(selector);
    node.textContent = message;
    node.hidden = false;
  }

  // --- wiring -------------------------------------------------------------------------------

  function debounce(action, ms) {
    let pending = null;
    return () => {
      clearTimeout(pending);
      pending = setTimeout(action, ms);
    };
  }

  function filtersChanged() {
    if (token === null || accountId === null) {
      return;
    }
    generation += 1;
    requests = [];
    lastId = 0;
    refreshAll();
  }

  document.addEventListener("DOMContentLoaded", () => {
    $("#password-form").addEventListener("submit", signInWithPassword);
    $("#token-form").addEventListener("submit", signInWithToken);
    $("#sign-out").addEventListener("click", () => signOut(""));
    $("#account").addEventListener("change", (event) => chooseAccount(event.target.value));
    $("#requests tbody").addEventListener("click", selectRow);
    $("#faults tbody").addEventListener("click", clearFault);
    $("#faults-clear").addEventListener("click", clearFaults);
    $("#fault-form").addEventListener("submit", addFault);
    $("#fault-form").addEventListener("change", showFaultFields);
    $("#settings-form").addEventListener("submit", saveSettings);
    const filtersForm = $("#filters");
    const later = debounce(filtersChanged, 300);
    filtersForm.addEventListener("submit", (event) => event.preventDefault());
    filtersForm.addEventListener("input", (event) => {
      if (event.target.name !== "paused") {
        later();
      }
    });
    showFaultFields();
    $("#sign-in").hidden = false;
  });
})();
