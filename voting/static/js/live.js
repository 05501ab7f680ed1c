/* Live pages without reload: the roll of members present and the rotating venue code. Polls JSON
   (every 2 s for the roll) so that every app server, not only the one holding a socket, can answer. */
(function () {
  "use strict";
  function poll(url, every, render) {
    function tick() {
      fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
        .then(function (r) { if (!r.ok) throw new Error(r.status); return r.json(); })
        .then(function (data) { render(data); setStatus(""); })
        .catch(function () { setStatus("Connection lost; retrying…"); })
        .then(function () { setTimeout(tick, every); });
    }
    tick();
  }
  function setStatus(text) {
    var el = document.getElementById("live-status");
    if (el) { el.textContent = text; el.hidden = !text; }
  }
  function text(id, value) { var el = document.getElementById(id); if (el) el.textContent = value; }

  var roll = document.getElementById("roll");
  if (roll) {
    poll(roll.dataset.api, 2000, function (d) {
      text("roll-present", d.present);
      text("roll-total", d.total);
      text("roll-required", d.quorum.required);
      text("roll-attendees", d.attendees_present);
      var q = document.getElementById("roll-quorum");
      if (q) { q.textContent = d.quorum.met ? "Quorum present" : "No quorum"; q.className = "badge " + (d.quorum.met ? "ok" : "bad"); }
      var bar = document.getElementById("roll-bar");
      if (bar) { bar.value = d.present; bar.max = Math.max(d.total, 1); }
      var body = document.getElementById("roll-members");
      if (body) {
        while (body.firstChild) body.removeChild(body.firstChild);
        d.members.forEach(function (m) {
          var tr = document.createElement("tr"), a = document.createElement("td"), b = document.createElement("td"), c = document.createElement("td");
          a.textContent = m.name;
          var badge = document.createElement("span"); badge.className = "badge " + (m.present ? "ok" : ""); badge.textContent = m.present ? "Present" : "Absent";
          b.appendChild(badge);
          c.textContent = m.delegates_in.join(", ");
          tr.appendChild(a); tr.appendChild(b); tr.appendChild(c); body.appendChild(tr);
        });
      }
    });
  }

  var venue = document.getElementById("venue-code");
  if (venue) {
    var img = document.getElementById("venue-qr"), shown = null;
    poll(venue.dataset.api, 1000, function (d) {
      if (d.window !== shown) { img.src = d.image; shown = d.window; text("venue-text", d.code); }
      text("venue-left", d.seconds_left);
    });
  }
})();
