// The Autopilot page: the Run-now button and the live list of runs.
// The server is the only judge of a run's state: this script shows what the
// API and the event stream say, and never decides a status itself.
(function () {
  "use strict";

  var bootNode = document.getElementById("boot");
  if (!bootNode) return;
  var boot = JSON.parse(bootNode.textContent);
  var M = boot.i18n.messages;
  var ERR = boot.i18n.errors;
  var project = boot.project;
  var API = "/api/client/autopilot";
  var csrf = document.querySelector('meta[name="csrf-token"]').content;
  var locale = boot.i18n.language === "nl" ? "nl-NL" : "en-GB";
  var clock = new Intl.DateTimeFormat(locale, {
    timeZone: project.timezone, hour: "2-digit", minute: "2-digit"
  });
  var clockSeconds = new Intl.DateTimeFormat(locale, {
    timeZone: project.timezone, hour: "2-digit", minute: "2-digit", second: "2-digit"
  });
  var dateTime = new Intl.DateTimeFormat(locale, {
    timeZone: project.timezone, day: "numeric", month: "short",
    hour: "2-digit", minute: "2-digit"
  });
  var FINISHED = ["completed", "failed", "cancelled"];

  var jobs = new Map();
  var nextCursor = boot.nextCursor;
  var lastEventId = boot.lastEventId;
  boot.jobs.forEach(function (job) { jobs.set(job.id, job); });

  var $ = function (id) { return document.getElementById(id); };
  var list = $("job-list");
  var runButton = $("run-now");
  var runState = $("run-state");
  var runActions = $("run-actions");
  var runMessage = $("run-message");
  var announcer = $("announcer");
  var live = $("live-indicator");
  var dialog = $("confirm-dialog");

  // Words -------------------------------------------------------------------

  function t(key, values) {
    var text = M[key] || key;
    Object.keys(values || {}).forEach(function (name) {
      text = text.split("{" + name + "}").join(String(values[name]));
    });
    return text;
  }
  function statusWord(status) { return M["status_" + status] || status; }
  function stageWord(status) { return M["stage_" + status] || status; }
  function errorWords(code) {
    if (!code) return "";
    return ERR[code] || ERR[code.split("_")[0]] || ERR.other;
  }
  function isFinished(job) { return FINISHED.indexOf(job.status) >= 0; }
  function isRunning(job) { return job.status !== "pending" && !isFinished(job); }
  function when(iso, format) { return iso ? (format || clock).format(new Date(iso)) : ""; }

  function duration(job) {
    if (!job.startedAt) return "";
    var end = job.completedAt ? new Date(job.completedAt) : (isRunning(job) ? new Date() : null);
    if (!end) return "";
    var s = Math.max(0, Math.round((end - new Date(job.startedAt)) / 1000));
    if (s < 60) return s + " s";
    var m = Math.floor(s / 60);
    if (m < 60) return m + " min " + String(s % 60).padStart(2, "0") + " s";
    return Math.floor(m / 60) + " u " + String(m % 60).padStart(2, "0") + " min";
  }

  function el(tag, attrs) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (name) {
      if (name === "text") node.textContent = attrs[name];
      else if (name === "className") node.className = attrs[name];
      else node.setAttribute(name, attrs[name]);
    });
    for (var i = 2; i < arguments.length; i++) {
      var child = arguments[i];
      if (child === null || child === undefined || child === "") continue;
      node.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
    }
    return node;
  }

  // Changes that arrive together are announced together, none dropped.
  var toAnnounce = [];
  function announce(text) {
    toAnnounce.push(text);
    if (toAnnounce.length > 1) return;
    announcer.textContent = "";
    window.setTimeout(function () {
      announcer.textContent = toAnnounce.join(" ");
      toAnnounce = [];
    }, 50);
  }

  // Rendering ---------------------------------------------------------------

  function jobItem(job) {
    var running = isRunning(job);
    var item = el("li", {
      className: "job" + (running ? " is-running" : ""),
      "data-job-id": job.id, "data-status": job.status
    });
    var label = t("run_label", { id: job.id });
    item.appendChild(el("div", { className: "job-head" },
      el("span", { className: "badge badge-" + job.status, "data-role": "status", text: statusWord(job.status) }),
      el("span", { className: "job-name", text: label }),
      el("span", { className: "muted small", text: t("attempt_of", { attempt: job.attempt, max: job.maxAttempts }) })
    ));

    var meta = el("div", { className: "job-meta" });
    if (job.startedAt) {
      meta.appendChild(el("span", {}, M.started + " ",
        el("time", { datetime: job.startedAt, text: when(job.startedAt, dateTime) })));
      meta.appendChild(el("span", {}, M.duration + " ", el("span", { "data-role": "duration", text: duration(job) })));
    } else if (job.status === "pending") {
      meta.appendChild(el("span", { text: t("retry_at", { time: when(job.runAt, clockSeconds) }) }));
    }
    item.appendChild(meta);

    if (running) {
      var bar = el("progress", { max: "100", value: String(job.progress), "aria-label": stageWord(job.status) + " " + job.progress + "%" });
      item.appendChild(el("div", { className: "job-progress" }, bar,
        el("span", { text: stageWord(job.status) + " " + job.progress + "%" + (job.progressMessage ? " · " + job.progressMessage : "") })));
    }

    if (job.errorCode && job.status !== "completed") {
      var box = el("div", { className: "job-error" + (job.status === "pending" ? " retrying" : ""), "data-role": "error" },
        el("strong", { text: errorWords(job.errorCode) }));
      if (job.error) {
        box.appendChild(el("details", {}, el("summary", { text: M.details }), el("span", { text: job.error })));
      }
      item.appendChild(box);
    }

    if (job.article) {
      var title = job.article.url
        ? el("a", { href: job.article.url, text: job.article.title, rel: "noopener", target: "_blank" })
        : el("span", { text: job.article.title });
      item.appendChild(el("p", { className: "job-article" }, M.article + ": ", title));
    }

    var actions = el("div", { className: "job-actions" });
    if (!isFinished(job) && !job.cancelRequested) {
      actions.appendChild(actionButton(job, "cancel", M.cancel_job, "small-button danger"));
    } else if (job.cancelRequested && !isFinished(job)) {
      actions.appendChild(el("span", { className: "muted small", text: M.cancel_requested }));
    }
    if (job.status === "failed" || job.status === "cancelled") {
      actions.appendChild(actionButton(job, "retry", M.retry_job, "small-button"));
    }
    if (isFinished(job)) {
      actions.appendChild(actionButton(job, "delete", M.delete_job, "small-button"));
    }
    item.appendChild(actions);
    return item;
  }

  function actionButton(job, action, text, className) {
    var button = el("button", { type: "button", className: className, "data-action": action, "data-job": job.id, text: text });
    button.setAttribute("aria-label", text + " · #" + job.id);
    return button;
  }

  function sortedJobs() {
    return Array.from(jobs.values()).sort(function (a, b) { return b.id - a.id; });
  }

  function render() {
    var focused = document.activeElement;
    var focusKey = focused && focused.dataset && focused.dataset.action
      ? focused.dataset.job + ":" + focused.dataset.action : null;
    var wanted = sortedJobs();
    var existing = new Map();
    Array.prototype.forEach.call(list.children, function (node) { existing.set(Number(node.dataset.jobId), node); });
    var previous = null;
    wanted.forEach(function (job) {
      var json = JSON.stringify(job);
      var node = existing.get(job.id);
      if (!node || node.__json !== json) {
        var fresh = jobItem(job);
        fresh.__json = json;
        if (node) list.replaceChild(fresh, node); else list.insertBefore(fresh, previous ? previous.nextSibling : list.firstChild);
        node = fresh;
      } else if ((previous ? previous.nextSibling : list.firstChild) !== node) {
        list.insertBefore(node, previous ? previous.nextSibling : list.firstChild);
      }
      existing.delete(job.id);
      previous = node;
    });
    existing.forEach(function (node) { node.remove(); });
    $("jobs-empty").hidden = wanted.length > 0;
    $("load-more").hidden = !nextCursor;
    if (focusKey && !document.activeElement.dataset.action) {
      var parts = focusKey.split(":");
      var again = list.querySelector('[data-job="' + parts[0] + '"][data-action="' + parts[1] + '"]');
      if (again) again.focus();
    }
    renderRunPanel(wanted);
    renderLastResult(wanted);
  }

  function renderRunPanel(all) {
    var running = all.find(isRunning);
    var pending = all.find(function (job) { return job.status === "pending"; });
    var active = running || pending;
    runButton.disabled = !!running;
    if (running) {
      runButton.setAttribute("aria-describedby", "run-state");
      runState.className = "run-state busy";
      runState.textContent = t("busy_since", {
        time: when(running.startedAt || running.createdAt),
        stage: stageWord(running.status), progress: running.progress
      });
    } else {
      runButton.removeAttribute("aria-describedby");
      runState.className = "run-state";
      runState.textContent = pending ? t("pending_hint", { time: when(pending.runAt, clockSeconds) }) : "";
    }
    var key = active ? active.id + ":" + active.cancelRequested : "";
    if (runActions.dataset.key === key) return;
    runActions.dataset.key = key;
    runActions.textContent = "";
    if (active && !active.cancelRequested) {
      runActions.appendChild(actionButton(active, "cancel", M.cancel_job, "danger-outline"));
    } else if (active) {
      runActions.appendChild(el("span", { className: "muted small", text: M.cancel_requested }));
    }
  }

  function renderLastResult(all) {
    var last = all.find(isFinished);
    var target = $("last-result");
    if (!last) { if (!project.lastJob) target.textContent = M.no_result; return; }
    target.textContent = "";
    target.appendChild(el("span", { className: "badge badge-" + last.status, text: statusWord(last.status) }));
    target.appendChild(document.createTextNode(" " + when(last.completedAt, dateTime)));
    if (last.status === "completed" && last.article) {
      target.appendChild(document.createTextNode(" · "));
      target.appendChild(last.article.url
        ? el("a", { href: last.article.url, text: last.article.title, rel: "noopener", target: "_blank" })
        : el("span", { text: last.article.title }));
    } else if (last.errorCode) {
      target.appendChild(document.createTextNode(" · " + errorWords(last.errorCode)));
    }
  }

  function tick() {
    list.querySelectorAll('.is-running [data-role="duration"]').forEach(function (span) {
      var job = jobs.get(Number(span.closest(".job").dataset.jobId));
      if (job) span.textContent = duration(job);
    });
  }

  // The server ----------------------------------------------------------------

  function request(method, path, body) {
    var headers = { "X-CSRF-Token": csrf, "Accept": "application/json" };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    return fetch(API + path, {
      method: method, headers: headers, credentials: "same-origin",
      body: body === undefined ? undefined : JSON.stringify(body)
    }).then(function (response) {
      if (response.status === 204) return { status: 204, data: null };
      return response.json().then(function (data) { return { status: response.status, data: data }; },
        function () { return { status: response.status, data: null }; });
    });
  }

  function say(text, isError) {
    runMessage.className = "run-message" + (isError ? " error" : "");
    runMessage.textContent = text;
  }

  function upsert(job) { if (job && job.projectId === project.id) jobs.set(job.id, job); }

  function confirmDialog(title, body) {
    $("confirm-title").textContent = title;
    $("confirm-body").textContent = body;
    dialog.returnValue = "";
    return new Promise(function (resolve) {
      dialog.addEventListener("close", function onClose() {
        dialog.removeEventListener("close", onClose);
        resolve(dialog.returnValue === "confirm");
      });
      dialog.showModal();
      $("confirm-no").focus();
    });
  }

  function runNow() {
    confirmDialog(M.run_confirm_title, t("run_confirm_body", { project: project.name })).then(function (ok) {
      if (!ok) { runButton.focus(); return; }
      runButton.disabled = true;
      request("POST", "/run", { projectId: project.id }).then(function (answer) {
        if (answer.status === 202) {
          upsert(answer.data);
          say(t("run_started", { id: answer.data.id }), false);
        } else if (answer.status === 409) {
          upsert(answer.data.job);
          say(t("run_conflict", { message: answer.data.message }), true);
        } else {
          say((answer.data && answer.data.message) || "HTTP " + answer.status, true);
        }
        render();
      }, function () { say(M.reconnecting, true); render(); });
    });
  }

  function act(action, jobId) {
    var job = jobs.get(jobId);
    if (!job) return;
    var asks = {
      cancel: [t("cancel_confirm_title", { id: jobId }), M.cancel_confirm_body],
      delete: [t("delete_confirm_title", { id: jobId }), M.delete_confirm_body]
    }[action];
    var go = asks ? confirmDialog(asks[0], asks[1]) : Promise.resolve(true);
    go.then(function (ok) {
      if (!ok) return;
      var call = action === "delete" ? request("DELETE", "/jobs/" + jobId)
        : request("PATCH", "/jobs/" + jobId, action === "cancel" ? { status: "cancelled" } : { action: "retry" });
      call.then(function (answer) {
        if (answer.status === 204) jobs.delete(jobId);
        else if (answer.status < 300) upsert(answer.data);
        else {
          if (answer.data && answer.data.job) upsert(answer.data.job);
          say((answer.data && answer.data.message) || "HTTP " + answer.status, true);
        }
        render();
        if (action !== "delete") {
          var again = list.querySelector('[data-job="' + jobId + '"][data-action]');
          if (again) again.focus(); else runButton.focus();
        } else runButton.focus();
      });
    });
  }

  function loadJobs(cursor) {
    var query = "?projectId=" + project.id + "&limit=20" + (cursor ? "&cursor=" + cursor : "");
    return request("GET", "/jobs" + query).then(function (answer) {
      if (answer.status !== 200) return;
      if (!cursor) jobs.clear();
      answer.data.jobs.forEach(upsert);
      nextCursor = answer.data.nextCursor;
      render();
    });
  }

  // Live events ---------------------------------------------------------------

  function belongsOnPage(jobId) {
    // Older jobs than the oldest shown arrive with "load more", not here.
    var shown = sortedJobs();
    return !nextCursor || !shown.length || jobId > shown[shown.length - 1].id;
  }

  var source = null;
  function connect() {
    source = new EventSource(API + "/events?projectId=" + project.id + "&after=" + lastEventId);
    source.addEventListener("open", function () { live.dataset.state = "open"; live.querySelector(".live-text").textContent = M.live; });
    source.addEventListener("error", function () {
      live.dataset.state = "closed";
      live.querySelector(".live-text").textContent = M.reconnecting;
      if (source.readyState === EventSource.CLOSED) {
        window.setTimeout(connect, 3000);
      }
    });
    source.addEventListener("reset", function (message) {
      lastEventId = Number(message.lastEventId) || lastEventId;
      loadJobs(null);
    });
    source.addEventListener("job", function (message) {
      var data = JSON.parse(message.data);
      lastEventId = Math.max(lastEventId, Number(message.lastEventId) || 0);
      if (data.projectId !== project.id) return;
      var known = jobs.get(data.jobId);
      if (data.job === null) jobs.delete(data.jobId);
      else if (known || belongsOnPage(data.jobId)) upsert(data.job);
      if (data.from !== data.to && data.event !== "progress") {
        var words = t("announce_status", { id: data.jobId, status: statusWord(data.to) });
        if (data.code && data.event !== "claimed") words += ". " + errorWords(data.code);
        announce(words);
      }
      render();
    });
  }

  // Wiring --------------------------------------------------------------------

  runButton.addEventListener("click", runNow);
  document.addEventListener("click", function (event) {
    var button = event.target.closest("button[data-action]");
    if (button) act(button.dataset.action, Number(button.dataset.job));
  });
  $("load-more").addEventListener("click", function () { loadJobs(nextCursor); });
  window.setInterval(tick, 1000);
  render();
  connect();
})();
