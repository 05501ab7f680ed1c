/* The chair's vote page: turnout every 2 seconds (who has voted, never what), until the vote closes. */
(function () {
  "use strict";
  var box = document.getElementById("turnout");
  if (!box) return;
  function fill(id, names) {
    var ul = document.getElementById(id);
    while (ul.firstChild) ul.removeChild(ul.firstChild);
    names.forEach(function (n) { var li = document.createElement("li"); li.textContent = n; ul.appendChild(li); });
  }
  function status(text) { var el = document.getElementById("live-status"); el.textContent = text; el.hidden = !text; }
  function tick() {
    fetch(box.dataset.api, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { if (!r.ok) throw new Error(r.status); return r.json(); })
      .then(function (d) {
        status("");
        document.getElementById("t-voted").textContent = d.voted;
        document.getElementById("t-present").textContent = d.present;
        var bar = document.getElementById("t-bar"); bar.value = d.voted; bar.max = Math.max(d.present, 1);
        document.getElementById("t-size").textContent = d.checkpoint.size;
        document.getElementById("t-root").textContent = d.checkpoint.root;
        fill("t-waiting", d.waiting_names); fill("t-voted-names", d.voted_names);
        if (d.state !== box.dataset.state) { window.location.reload(); return; }
        if (d.state === "open") setTimeout(tick, 2000);
      })
      .catch(function () { status("Connection lost; retrying…"); setTimeout(tick, 3000); });
  }
  if (box.dataset.state === "open") tick();
})();
