/* The projector (1920×1080): question, live turnout bar, the latest checkpoint; after certification
   the result. It never shows partial results: the server sends none while a vote is open. */
(function () {
  "use strict";
  var root = document.getElementById("projector");
  if (!root) return;
  var STATE_WORDS = { open: "Voting is open", closed: "Voting is closed; the result will be certified",
                      certified: "Certified result" };
  // Colour of the headline: passed or elected, failed, or neither (another round, a tie).
  var DECISION_TONE = { adopted: "yes", elected: "yes", winner: "yes", not_adopted: "no", no_quorum: "no",
                        no_decision: "no" };
  function $(id) { return document.getElementById(id); }
  // Everything on one screen: if a long question, headline or list of counts would make the page
  // scroll, the type shrinks in steps (the --fit factor in app.css), never below half size.
  var shown = "";
  function fit() {
    var f = 1;
    root.style.setProperty("--fit", "1");
    while (document.documentElement.scrollHeight > window.innerHeight && f > 0.5) {
      f = Math.round((f - 0.05) * 100) / 100;
      root.style.setProperty("--fit", String(f));
    }
  }
  function refit() {
    var now = root.dataset.state + "|" + root.textContent;
    if (now !== shown) { shown = now; fit(); }
  }
  window.addEventListener("resize", fit);
  // "3 of 12" very large, the words after it smaller, in one line from the back of the hall.
  function figure(number, words) {
    var el = $("p-figure"), num = document.createElement("span");
    num.className = "p-num"; num.textContent = number;
    while (el.firstChild) el.removeChild(el.firstChild);
    el.appendChild(num); el.appendChild(document.createTextNode(" " + words));
  }
  function render(s) {
    var v = s.vote;
    $("p-meeting").textContent = s.meeting;
    if (!v) {
      root.dataset.state = "roll";
      $("p-question").textContent = "Members present";
      $("p-item").textContent = "";
      figure(s.present + " of " + s.total, "members present · quorum " + s.quorum_required);
      $("p-bar-fill").style.width = (100 * s.present / Math.max(s.total, 1)) + "%";
      $("p-sub").textContent = "No vote is open";
      $("p-result").hidden = true; $("p-log").textContent = ""; $("p-qr").hidden = true; $("p-qr-box").hidden = true;
      return;
    }
    root.dataset.state = v.state;
    $("p-question").textContent = v.question;
    $("p-item").textContent = "Agenda " + v.agenda_item + " · " + v.agenda_title + (v.round > 1 ? " · Round " + v.round : "");
    figure(v.voted + " of " + v.present, "members present have voted");
    $("p-bar-fill").style.width = (100 * v.voted / Math.max(v.present, 1)) + "%";
    $("p-sub").textContent = STATE_WORDS[v.state] || "";
    $("p-log").textContent = "Ballot log: " + v.checkpoint.size + " ballots · root " + v.checkpoint.root;
    var r = v.result;
    if (r) {
      $("p-result").hidden = false;
      $("p-decision").textContent = r.headline || r.words;
      $("p-decision").dataset.tone = DECISION_TONE[r.decision] || "other";
      var words = $("p-decision").textContent.length;
      $("p-decision").dataset.length = words > 48 ? "long" : (words > 20 ? "medium" : "short");
      var ul = $("p-counts");
      while (ul.firstChild) ul.removeChild(ul.firstChild);
      var lines = r.count_lines || [];
      lines.forEach(function (line) { var li = document.createElement("li"); li.textContent = line; ul.appendChild(li); });
      ul.dataset.many = lines.length > 5 ? "yes" : "no";  // many candidates: smaller type, still one screen
      $("p-rule").textContent = r.rule || "";
      if (r.qr) {
        if ($("p-qr").getAttribute("src") !== r.qr) $("p-qr").src = r.qr;
        $("p-qr").hidden = false; $("p-qr-box").hidden = false;
      }
    } else {
      $("p-result").hidden = true; $("p-qr").hidden = true; $("p-qr-box").hidden = true;
    }
  }
  function tick() {
    fetch(root.dataset.api, { headers: { Accept: "application/json" } })
      .then(function (r) { return r.json(); })
      .then(render)
      .then(refit)
      .catch(function () {})
      .then(function () { setTimeout(tick, 1500); });
  }
  tick();
})();
