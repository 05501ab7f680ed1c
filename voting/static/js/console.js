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
  // Once the chair has sent a form (close, open the sealed ballots…), its answer is the next page:
  // a reload now would cancel that navigation, and with it the message saying what was done.
  var leaving = false;
  document.addEventListener("submit", function (ev) { if (!ev.defaultPrevented) leaving = true; });
  function tick() {
    if (leaving) return;
    fetch(box.dataset.api, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { if (!r.ok) throw new Error(r.status); return r.json(); })
      .then(function (d) {
        if (leaving) return;
        status("");
        document.getElementById("t-voted").textContent = d.voted;
        document.getElementById("t-present").textContent = d.present;
        var bar = document.getElementById("t-bar"); bar.value = d.voted; bar.max = Math.max(d.present, 1);
        document.getElementById("t-size").textContent = d.checkpoint.size;
        document.getElementById("t-root").textContent = d.checkpoint.root;
        fill("t-waiting", d.waiting_names); fill("t-voted-names", d.voted_names);
        document.getElementById("t-all-voted").hidden = d.waiting_names.length > 0;
        // Once a signed ballot is in, the vote can no longer be taken by a show of hands.
        var hands = document.getElementById("hands-instead");
        if (hands && d.voted > 0) hands.hidden = true;
        if (d.state !== box.dataset.state) { window.location.reload(); return; }
        if (d.state === "open") setTimeout(tick, 2000);
      })
      .catch(function () { if (leaving) return; status("Connection lost; retrying…"); setTimeout(tick, 3000); });
  }
  if (box.dataset.state === "open") tick();

  // Closing cannot be undone: when members present have not voted yet, the chair confirms first.
  var close = document.getElementById("close-form");
  if (close) close.addEventListener("submit", function (ev) {
    var waiting = document.getElementById("t-waiting").children.length;
    if (waiting && !window.confirm(waiting + (waiting === 1 ? " member present has" : " members present have") +
        " not voted yet. Close the vote now? It cannot be reopened.")) ev.preventDefault();
  });
})();

/* Certify: the server builds and organization-signs the certificate; the chair's key (in this
   browser's IndexedDB) signs "wego-certificate/v1\n" + the body's canonical JSON. */
(function () {
  "use strict";
  var box = document.getElementById("certify");
  var button = document.getElementById("certify-button");
  if (!box || !button) return;
  var K = window.WeGO.keys, status = document.getElementById("certify-status");
  function say(text, kind) { status.textContent = text; status.className = "flash flash-" + (kind || "info"); status.hidden = false; }
  button.addEventListener("click", function () {
    button.disabled = true;
    say("Preparing the certificate…");
    var prepared;
    K.postJson(box.dataset.prepare, {}).then(function (p) {
      prepared = p;
      return K.load(p.holder);
    }).then(function (record) {
      if (!record || record.keyId !== prepared.key_id) throw new Error("This browser does not hold your current signing key. Create one on the 'Signing key' page.");
      say("Signing with your key…");
      return K.sign(record, "wego-certificate/v1\n", K.encode(prepared.text));
    }).then(function (signature) {
      return K.postJson(box.dataset.sign, { sha256: prepared.sha256, signature: signature });
    }).then(function (answer) {
      window.location.assign(answer.next);
    }).catch(function (err) {
      say(err.message + (err.hint ? " " + err.hint : ""), "error");
      button.disabled = false;
    });
  });
})();

/* The Secretary General's casting vote: choose among the tied options, sign on this device. */
(function () {
  "use strict";
  var box = document.getElementById("casting");
  if (!box) return;
  var K = window.WeGO.keys, status = document.getElementById("casting-status");
  function say(text, kind) { status.textContent = text; status.className = "flash flash-" + (kind || "info"); status.hidden = false; }
  document.getElementById("casting-form").addEventListener("submit", function (ev) {
    ev.preventDefault();
    var sel = this.querySelector('input[name="choice"]:checked');
    if (!sel) { say("Choose one of the tied options.", "error"); return; }
    var d = box.dataset, record;
    K.load(d.holder).then(function (r) {
      record = r;
      if (!record) throw new Error("This device holds no signing key of yours. Create one on the 'Signing key' page.");
      var ballot = K.canonicalize({ v: 1, vote: d.vote, round: parseInt(d.round, 10), vote_sha256: d.sha, member: d.member,
        delegate: d.holder, key: record.keyId, choice: sel.value, nonce: K.b64url(crypto.getRandomValues(new Uint8Array(18))) });
      return K.sign(record, "wego-ballot/v1\n", K.encode(ballot)).then(function (sig) {
        return K.postJson(d.api, { ballot: ballot, signature: sig });
      });
    }).then(function (answer) { window.location.assign(answer.next); })
      .catch(function (err) { say(err.message + (err.hint ? " " + err.hint : ""), "error"); });
  });
})();
