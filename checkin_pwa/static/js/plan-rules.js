// R6 on the phone's clock. A page the phone kept is a copy of the moment it was loaded; this
// script judges again, now and every few seconds, whether check-in and check-out are allowed,
// with the same checks in the same order as domain/rules.py (may_check_in, may_check_out),
// from what the server wrote into the page: each plan's facts (data-plan-facts, from
// domain.rules.phone_facts) and, in #plan-rules (data-rules), the rules' constants and the words. It also
// counts what waits in the outbox (R17): a check-in kept on the phone is done-but-unsent, so
// the plan says "已签到（待发送）", the check-in is not offered again, and check-out counts
// from it. An action made "together" (R7) counts for each plan the server listed on the
// plan's element (data-together) whose own rule allowed it at that time. A to-do item for an
// action not yet allowed (data-opens) is shown once the phone's clock allows it.
// The server still judges every action when it arrives.
(function (global) {
  "use strict";

  // --- The rules: pure, the same order as domain/rules.py -------------------------------------
  // facts: domain.rules.phone_facts; now: ms on the server's clock; constants: phone_constants;
  // waiting: {in: ms, out: ms} of the actions done on this phone and not yet on the server.
  // null: not for the phone to judge (remote, cancelled: the server's answer stands).
  function decide(facts, kind, now, constants, waiting) {
    if (!facts || !facts.needs_check_in) return null;
    waiting = waiting || {};
    var refuse = function (reason, params) { return { allowed: false, reason: reason, params: params || {} }; };
    if (kind === "in") {
      if (facts.checked_in_at != null) return refuse("already_checked_in");
      if (waiting["in"] != null) return refuse("waiting", { at: waiting["in"] });
      if (now < facts.first_day_start) return refuse("not_started", { first_day: facts.first_day });
      if (now > facts.end) return refuse("audit_ended");
      return { allowed: true, reason: "ok", params: {} };
    }
    if (facts.checked_out_at != null) return refuse("already_checked_out");
    if (waiting.out != null) return refuse("waiting", { at: waiting.out });
    var checkedIn = facts.checked_in_at != null ? facts.checked_in_at : waiting["in"];
    if (checkedIn == null) return refuse("not_checked_in");
    if (now < facts.last_day_start) return refuse("not_last_day", { last_day: facts.last_day });
    if (now >= facts.last_day_end) return refuse("audit_ended");
    var readyAt = checkedIn + constants.checkout_min_after_checkin_ms;
    if (now < readyAt) return refuse("too_soon_after_check_in", { minutes: Math.ceil((readyAt - now) / 60000) });
    return { allowed: true, reason: "ok", params: {} };
  }
  global.PlanRules = { decide: decide };

  var source = typeof document !== "undefined" && document.getElementById("plan-rules");
  if (!source) return;
  var config;
  try { config = JSON.parse(source.getAttribute("data-rules")); } catch (e) { return; }

  // The phone's clock, corrected by how far off the server's it was when last online: the
  // server corrects an action sent later the same way (domain.offline).
  var SKEW_KEY = "checkin-clock-skew";
  var skew = 0;
  try {
    if (!document.documentElement.hasAttribute("data-offline-copy") && config.server_now) {
      skew = Date.now() - config.server_now;
      global.localStorage.setItem(SKEW_KEY, String(skew));
    } else {
      skew = parseFloat(global.localStorage.getItem(SKEW_KEY)) || 0;
    }
  } catch (e) { skew = 0; }
  function now() { return Date.now() - skew; }

  function fill(text, params) {
    return String(text || "").replace(/\{(\w+)\}/g, function (all, name) {
      return params && params[name] != null ? String(params[name]) : all;
    });
  }
  function clock(ms) {
    var when = new Date(ms);
    var pad = function (n) { return (n < 10 ? "0" : "") + n; };
    return pad(when.getHours()) + ":" + pad(when.getMinutes());
  }
  // The words for a refusal the phone made; "" leaves the server's own sentence. `done`: the
  // waiting action has been sent since this page was loaded.
  function words(decision, kind, done) {
    if (decision.reason === "waiting") {
      return (done ? config.sent[kind] : config.queued[kind]) + " · "
        + fill(config.queued.at, { time: clock(decision.params.at + skew) });
    }
    return config.reasons[decision.reason] ? fill(config.reasons[decision.reason], decision.params) : "";
  }

  // --- What the outbox holds, by plan ----------------------------------------------------------
  // Entries sent while this page is open stay counted (as done): the page's facts predate them.
  var sent = {};
  function byPlan(entries) {
    var found = {};
    var note = function (plan, kind, at, done, together) {
      found[plan] = found[plan] || {};
      if (found[plan][kind] == null) found[plan][kind] = at;
      if (done) (found[plan].done = found[plan].done || {})[kind] = true;
      if (together) (found[plan].together = found[plan].together || {})[kind] = at;
    };
    Object.keys(sent).forEach(function (key) {
      note(sent[key].plan, sent[key].kind, sent[key].at, true, sent[key].together);
    });
    (entries || []).forEach(function (entry) {
      var match = /\/plans\/(\d+)\/check(in|out)$/.exec(entry.url || "");
      if (!match || entry.state === "refused") return;
      var at = (entry.device_time || entry.created_at) - skew;
      var together = (entry.fields || []).some(function (f) { return f[0] === "together" && f[1] === "on"; });
      known[entry.key] = { plan: match[1], kind: match[2] === "in" ? "in" : "out", at: at, together: together };
      note(match[1], known[entry.key].kind, at, false, together);
    });
    return found;
  }
  var known = {};

  // --- The page --------------------------------------------------------------------------------
  function planFacts(el) {
    try { return JSON.parse(el.getAttribute("data-plan-facts")); } catch (e) { return null; }
  }

  // What waits for one plan: its own actions, and those made "together" from a plan the
  // server listed in data-together that this plan's own rule allowed at their time (R7).
  function waitingFor(facts, el, waiting) {
    var mine = Object.assign({}, waiting[facts.plan] || {});
    var partners;
    try { partners = JSON.parse(el.getAttribute("data-together") || "[]"); } catch (e) { partners = []; }
    partners.forEach(function (other) {
      var theirs = waiting[other];
      if (!theirs || !theirs.together) return;
      ["in", "out"].forEach(function (kind) {
        var at = theirs.together[kind];
        if (at == null || mine[kind] != null) return;
        var decision = decide(facts, kind, at, config.constants, { "in": mine["in"] });
        if (!decision || !decision.allowed) return;
        mine[kind] = at;
        if (theirs.done && theirs.done[kind]) (mine.done = Object.assign({}, mine.done))[kind] = true;
      });
    });
    return mine;
  }

  function showState(card, facts, waiting) {
    var state = card.querySelector(".team-state .state");
    var kind = facts.checked_in_at == null && waiting["in"] != null ? "in"
      : facts.checked_in_at != null && facts.checked_out_at == null && waiting.out != null ? "out" : null;
    if (!state || !kind) return;
    var done = waiting.done && waiting.done[kind];
    state.textContent = done ? config.sent[kind] : config.queued[kind];
    state.className = "state " + (done ? (kind === "in" ? "state-checked_in" : "state-checked_out") : "state-queued");
    var line = card.querySelector(".team-state .record-waiting");
    if (!line) {
      line = document.createElement("span");
      line.className = "record record-waiting";
      state.insertAdjacentElement("afterend", line);
    }
    line.textContent = fill(config.queued.at, { time: clock(waiting[kind] + skew) });
  }

  function showAction(el, decision, kind) {
    if (!decision) return;
    var text = words(decision, kind);
    if (el.tagName === "A") {  // the plan page: a link shown only when allowed
      el.hidden = !decision.allowed;
      var row = el.parentElement;
      row.hidden = !row.querySelector("a[data-action]:not([hidden])");
      return;
    }
    if (decision.allowed && !el.hasAttribute("data-href")) return;  // the server's refusal stands
    el.hidden = decision.reason === "waiting";  // done on this phone: not offered again
    var link = el.querySelector("a.button");
    var grey = el.querySelector("span.button");
    var why = el.querySelector(".why");
    var label = (link || grey).textContent;
    if (decision.allowed && !link) {
      link = document.createElement("a");
      link.className = "button block";
      link.href = el.getAttribute("data-href");
      link.textContent = label;
      el.prepend(link);
    }
    if (!decision.allowed && !grey) {
      grey = document.createElement("span");
      grey.className = "button block disabled";
      grey.setAttribute("aria-disabled", "true");
      grey.textContent = label;
      el.prepend(grey);
    }
    if (!decision.allowed && !why) {
      why = document.createElement("p");
      why.className = "why";
      el.append(why);
    }
    if (link) link.hidden = !decision.allowed;
    if (grey) grey.hidden = decision.allowed;
    if (why) {
      why.hidden = decision.allowed;
      if (text) why.textContent = text;
    }
  }

  function showForm(form, decision, kind, done) {
    if (!decision) return;
    var why = form.querySelector("[data-rule-why]");
    var button = form.querySelector("button[type=submit]");
    var text = words(decision, kind, done);
    form.toggleAttribute("data-closed", !decision.allowed);
    if (why) {
      why.hidden = decision.allowed;
      if (text) why.textContent = text;
    }
    if (button) button.hidden = decision.reason === "waiting";
    document.dispatchEvent(new CustomEvent("plan-rules:change", { detail: { form: form } }));
  }

  // A to-do item whose action is done on this phone moves on to the next step (photos).
  function showTodo(item, waiting) {
    var then;
    try { then = JSON.parse(item.getAttribute("data-then")); } catch (e) { return; }
    if (!then || waiting[then.kind] == null) return;
    var link = item.querySelector("a");
    var title = item.querySelector("strong");
    item.className = "todo-item todo-" + (then.kind === "in" ? "first_photos" : "last_photos");
    item.removeAttribute("data-then");
    if (link) link.href = then.href;
    if (title) title.textContent = then.label;
  }

  function render(entries) {
    var waiting = byPlan(entries);
    var moment = now();
    var factsOf = {};
    var waitingOf = {};
    document.querySelectorAll("[data-plan-facts]").forEach(function (card) {
      var facts = planFacts(card);
      if (!facts) return;
      factsOf[facts.plan] = facts;
      var mine = waitingOf[facts.plan] = waitingFor(facts, card, waiting);
      showState(card, facts, mine);
      card.querySelectorAll("[data-action]").forEach(function (el) {
        var kind = el.getAttribute("data-action");
        showAction(el, decide(facts, kind, moment, config.constants, mine), kind);
      });
    });
    document.querySelectorAll("form[data-check-form][data-plan]").forEach(function (form) {
      var plan = form.getAttribute("data-plan");
      var kind = form.getAttribute("data-kind");
      var mine = waitingOf[plan] || waiting[plan] || {};
      showForm(form, decide(factsOf[plan], kind, moment, config.constants, mine), kind, mine.done && mine.done[kind]);
    });
    // An action not allowed when the page was made is listed once the phone's clock allows it
    // (or it waits to be sent: then it has moved on to photos below).
    document.querySelectorAll(".todo-item[data-opens]").forEach(function (item) {
      var plan = item.getAttribute("data-plan");
      var decision = decide(factsOf[plan], item.getAttribute("data-opens"), moment, config.constants,
                            waitingOf[plan] || waiting[plan] || {});
      item.hidden = !decision || !(decision.allowed || decision.reason === "waiting");
    });
    document.querySelectorAll(".todo-item[data-then]").forEach(function (item) {
      var plan = item.getAttribute("data-plan");
      showTodo(item, waitingOf[plan] || waiting[plan] || {});
    });
    var todo = document.getElementById("todo");
    if (todo) todo.hidden = !todo.querySelector(".todo-item:not([hidden])");
  }

  // Only this auditor's entries count (a shared phone may hold another's, waiting for them).
  function refresh() {
    var outbox = global.Outbox;
    var me = outbox && outbox.pageAuditor ? outbox.pageAuditor() : null;
    var mine = function (entry) { return !outbox.isOwn || (me && outbox.isOwn(entry, me.id)); };
    var listed = outbox ? outbox.list().then(function (entries) { return entries.filter(mine); })
      .catch(function () { return []; }) : Promise.resolve([]);
    return listed.then(render);
  }
  global.PlanRules.refresh = refresh;

  if (global.Outbox && global.Outbox.listen) {
    global.Outbox.listen(function (message) {
      if (message && message.type === "sent" && known[message.key]) sent[message.key] = known[message.key];
      refresh();
    });
  }
  document.addEventListener("htmx:afterSettle", refresh);
  document.addEventListener("visibilitychange", function () { if (!document.hidden) refresh(); });
  setInterval(refresh, 15000);
  refresh();
})(typeof self !== "undefined" ? self : this);
