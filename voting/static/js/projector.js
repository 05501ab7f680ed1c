/* The projector (1920×1080): question, live turnout bar, the latest checkpoint; after certification
   the result. It never shows partial results: the server sends none while a vote is open. */
(function () {
  "use strict";
  var root = document.getElementById("projector");
  if (!root) return;
  function $(id) { return document.getElementById(id); }
  function render(s) {
    var v = s.vote;
    $("p-meeting").textContent = s.meeting;
    if (!v) {
      $("p-question").textContent = "Members present";
      $("p-item").textContent = "";
      $("p-figure").textContent = s.present + " of " + s.total + " members present";
      $("p-bar-fill").style.width = (100 * s.present / Math.max(s.total, 1)) + "%";
      $("p-sub").textContent = "Quorum: " + s.quorum_required;
      $("p-result").hidden = true; $("p-log").textContent = ""; $("p-qr").hidden = true;
      return;
    }
    $("p-question").textContent = v.question;
    $("p-item").textContent = "Agenda " + v.agenda_item + " · " + v.agenda_title + (v.round > 1 ? " · Round " + v.round : "");
    $("p-figure").textContent = v.voted + " of " + v.present + " members present have voted";
    $("p-bar-fill").style.width = (100 * v.voted / Math.max(v.present, 1)) + "%";
    $("p-sub").textContent = v.state === "open" ? "Voting is open" : (v.state === "closed" ? "Voting is closed; the result will be certified" : "Certified result");
    $("p-log").textContent = "Ballot log: " + v.checkpoint.size + " ballots · root " + v.checkpoint.root;
    var r = v.result;
    if (r) {
      $("p-result").hidden = false;
      $("p-decision").textContent = r.headline || r.words;
      var ul = $("p-counts");
      while (ul.firstChild) ul.removeChild(ul.firstChild);
      (r.count_lines || []).forEach(function (line) { var li = document.createElement("li"); li.textContent = line; ul.appendChild(li); });
      $("p-rule").textContent = r.rule || "";
      if (r.qr) { $("p-qr").src = r.qr; $("p-qr").hidden = false; }
    } else {
      $("p-result").hidden = true; $("p-qr").hidden = true;
    }
  }
  function tick() {
    fetch(root.dataset.api, { headers: { Accept: "application/json" } })
      .then(function (r) { return r.json(); })
      .then(render)
      .catch(function () {})
      .then(function () { setTimeout(tick, 1500); });
  }
  tick();
})();
