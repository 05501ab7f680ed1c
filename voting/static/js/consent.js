/* Written consent on the phone (docs/secretariat-consent.md).
   The personal link page: a phone that holds the delegate's key signs a one-time challenge to sign
   in; a link that may set up a phone creates the key here (as enrol.js does); any other phone is
   refused. The answer page: consent, object or abstain, shown exactly as signed, signed with the
   device key, sent, and the receipt kept (as vote.js does for a ballot). The server never signs. */
(function () {
  "use strict";
  var K = window.WeGO.keys, T = window.WeGO.i18n.t, N = window.WeGO.i18n.n;

  function show(el, text, kind) {
    el.textContent = text; el.className = "flash flash-" + (kind || "info"); el.hidden = false;
    el.scrollIntoView({ block: "nearest" });
  }

  /* ---- the personal link ---- */
  var link = document.getElementById("consent-link");
  if (link) {
    var d = link.dataset, status = document.getElementById("link-status");
    var enrolBox = document.getElementById("link-enrol"), refused = document.getElementById("link-refused");

    var refuse = function () { status.hidden = true; enrolBox.hidden = true; refused.hidden = false; };

    var signIn = function (record) {
      show(status, T("Signing in with the key on this phone…"));
      var message = K.encode(K.canonicalize({ v: 1, delegate: d.holder, key: record.keyId, challenge: d.challenge }));
      return K.sign(record, "wego-signin/v1\n", message).then(function (signature) {
        return K.postJson(d.signin, { link: d.link, key: record.keyId, signature: signature });
      }).then(function (answer) { window.location.assign(answer.next); });
    };

    var enrol = function () {
      var button = document.getElementById("link-enrol-button"), made;
      button.disabled = true;
      show(status, T("Creating a signing key on this phone…"));
      K.generate().then(function (m) {
        made = m;
        var message = K.encode(K.canonicalize({ v: 1, delegate: d.holder, key: m.keyId, challenge: d.enrolChallenge }));
        return K.sign(m, "wego-enrol/v1\n", message);
      }).then(function (signature) {
        show(status, T("Registering the key…"));
        return K.postJson(d.enrol, { link: d.link, public_key: made.spki, signature: signature, device: K.deviceLabel() });
      }).then(function (answer) {
        return K.save({
          holder: answer.holder, keyId: made.keyId, privateKey: made.privateKey, publicKey: made.publicKey,
          algorithm: made.algorithm, spki: made.spki, createdAt: new Date().toISOString(),
          label: answer.delegate + " · " + answer.member
        }).then(function () { return answer; });
      }).then(function (answer) {
        show(status, T("Done. This phone now holds your signing key."), "success");
        window.location.assign(answer.next);
      }).catch(function (err) {
        show(status, err.message + (err.hint ? " " + err.hint : ""), "error");
        button.disabled = false;
      });
    };
    document.getElementById("link-enrol-button").addEventListener("click", enrol);

    K.load(d.holder).then(function (record) {
      if (record && d.key && record.keyId === d.key) return signIn(record);
      if (d.canEnrol) { status.hidden = true; enrolBox.hidden = false; return null; }
      refuse();
      return null;
    }).catch(function (err) {
      if (err && err.status) { show(status, err.message + (err.hint ? " " + err.hint : ""), "error"); return; }
      if (d.canEnrol) { status.hidden = true; enrolBox.hidden = false; return; }
      show(status, (err && err.message) || T("This browser cannot read its key store (private browsing?)."), "error");
    });
  }

  /* ---- the answer page ---- */
  var root = document.getElementById("consent-answer");
  if (!root) return;
  var form = document.getElementById("answer-form");
  var confirmBox = document.getElementById("confirm");
  var status2 = document.getElementById("send-status");
  var retry = document.getElementById("retry-button");
  var info = null, prepared = null, pendingKey = null;
  var WORDS = { consent: T("You CONSENT to the resolution."), object: T("You OBJECT to the resolution."),
                abstain: T("You ABSTAIN (an answer, not a consent).") };
  var DONE = { consent: T("You consented."), object: T("You objected."), abstain: T("You abstained.") };

  function receiptsDb() {
    return new Promise(function (resolve, reject) {
      var req = indexedDB.open("wego-receipts", 1);
      req.onupgradeneeded = function () { req.result.createObjectStore("receipts", { keyPath: "leaf" }); };
      req.onsuccess = function () { resolve(req.result); };
      req.onerror = function () { reject(req.error); };
    });
  }
  function saveReceipt(answer) {  // the same store as vote.js: "My receipts" lists answers too
    return receiptsDb().then(function (db) {
      return new Promise(function (resolve) {
        var t = db.transaction("receipts", "readwrite");
        t.objectStore("receipts").put({ leaf: answer.receipt.leaf_hash, answer: answer, savedAt: new Date().toISOString() });
        t.oncomplete = function () { db.close(); resolve(); };
        t.onerror = function () { db.close(); resolve(); };
      });
    }).catch(function () { /* the server keeps a copy too */ });
  }
  function download(name, obj) {
    var blob = new Blob([JSON.stringify(obj, null, 2)], { type: "application/json" });
    var a = document.createElement("a");
    a.href = URL.createObjectURL(blob); a.download = name;
    document.body.appendChild(a); a.click(); a.remove();
  }

  function showReceipt(answer, choice) {
    status2.hidden = true;
    if (form) form.hidden = true;
    if (confirmBox) confirmBox.hidden = true;
    document.getElementById("receipt").hidden = false;
    document.getElementById("receipt-code").textContent = answer.short_code;
    document.getElementById("receipt-words").textContent = (DONE[choice] ? DONE[choice] + " " : "") +
      (answer.replay ? T("Answer %(number)s in the log of this resolution (confirmed again).", { number: N(answer.ballot_number) })
                     : T("Answer %(number)s in the log of this resolution.", { number: N(answer.ballot_number) }));
    document.getElementById("receipt-qr").src = answer.qr;
    document.getElementById("receipt-download").onclick = function () { download("receipt-" + answer.short_code + ".json", answer.receipt); };
    document.getElementById("receipt").scrollIntoView({ block: "start" });
  }

  function send(pending) {
    show(status2, T("Sending your signed answer…"));
    retry.hidden = true;
    return K.postJson(info.ballots_url, { ballot: pending.ballot, signature: pending.signature }).then(function (answer) {
      localStorage.removeItem(pendingKey);
      return saveReceipt(answer).then(function () { showReceipt(answer, pending.choice); });
    }, function (err) {
      if (err.status && err.status < 500 && err.status !== 429) {
        localStorage.removeItem(pendingKey);  // refused for good (late, already answered…): say why
        show(status2, err.message + (err.hint ? " " + err.hint : ""), "error");
      } else {
        show(status2, T("Your answer is signed but not confirmed yet: %(reason)s Press 'Send again'.", { reason: err.message + (err.hint ? " " + err.hint : "") }), "error");
        retry.hidden = false;
      }
    });
  }

  retry.addEventListener("click", function () {
    var pending = JSON.parse(localStorage.getItem(pendingKey) || "null");
    if (pending) send(pending);
  });

  fetch(root.dataset.api, { credentials: "same-origin", headers: { Accept: "application/json" } })
    .then(function (r) { if (!r.ok) throw new Error(T("Could not load the resolution (%(status)s). Reload the page.", { status: r.status })); return r.json(); })
    .then(function (data) {
      info = data; pendingKey = "wego-pending-" + data.vote;
      var pending = JSON.parse(localStorage.getItem(pendingKey) || "null");
      if (pending) {  // signed earlier, never confirmed: the same bytes again, never a second answer
        if (form) form.hidden = true;
        send(pending);
      }
    }).catch(function (err) { show(status2, err.message, "error"); });

  if (!form) return;
  var errorBox = document.getElementById("answer-error");
  form.addEventListener("submit", function (ev) {
    ev.preventDefault();
    errorBox.hidden = true;
    var sel = form.querySelector('input[name="choice"]:checked');
    if (!sel) { show(errorBox, T("Choose consent, object or abstain first."), "error"); return; }
    if (!info) { show(errorBox, T("The resolution is still loading; try again in a moment."), "error"); return; }
    prepared = K.canonicalize({ v: 1, vote: info.vote, round: info.round, vote_sha256: info.vote_sha256, member: info.member,
                                delegate: info.delegate, key: info.key, choice: sel.value,
                                nonce: K.b64url(crypto.getRandomValues(new Uint8Array(18))) });
    document.getElementById("confirm-words").textContent = WORDS[sel.value];
    document.getElementById("confirm-json").textContent = prepared;
    confirmBox.dataset.choice = sel.value;
    form.hidden = true; confirmBox.hidden = false;
    document.getElementById("sign-button").focus();
  });
  document.getElementById("back-button").addEventListener("click", function () {
    confirmBox.hidden = true; form.hidden = false; prepared = null;
  });
  document.getElementById("sign-button").addEventListener("click", function () {
    var button = this, choice = confirmBox.dataset.choice;
    button.disabled = true;
    K.load(info.delegate).then(function (record) {
      if (!record) throw new Error(T("This phone does not hold your signing key. Open your personal link again, or ask the Secretariat for a new link."));
      if (record.keyId !== info.key) throw new Error(T("This phone holds an older key of yours that was switched off. Ask the Secretariat for a new link."));
      return K.sign(record, "wego-ballot/v1\n", K.encode(prepared));
    }).then(function (signature) {
      var pending = { ballot: prepared, signature: signature, choice: choice };
      localStorage.setItem(pendingKey, JSON.stringify(pending));
      document.getElementById("confirm-actions").hidden = true;  // signed is final
      return send(pending);
    }).catch(function (err) {
      show(status2, err.message, "error");
    }).then(function () { button.disabled = false; });
  });
})();
