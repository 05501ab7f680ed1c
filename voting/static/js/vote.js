/* The phone's ballot: read the choice, show exactly what will be signed, sign it with the device
   key, send it, keep the receipt. A signed ballot is kept until the server confirms it, so a
   lost answer is retried with the same bytes and gets the same receipt. */
(function () {
  "use strict";
  var K = window.WeGO.keys, T = window.WeGO.i18n.t, P = window.WeGO.i18n.p, N = window.WeGO.i18n.n;
  var RDB = "wego-receipts";

  function receiptsDb() {
    return new Promise(function (resolve, reject) {
      var req = indexedDB.open(RDB, 1);
      req.onupgradeneeded = function () { req.result.createObjectStore("receipts", { keyPath: "leaf" }); };
      req.onsuccess = function () { resolve(req.result); };
      req.onerror = function () { reject(req.error); };
    });
  }
  function saveReceipt(answer) {
    return receiptsDb().then(function (db) {
      return new Promise(function (resolve) {
        var t = db.transaction("receipts", "readwrite");
        t.objectStore("receipts").put({ leaf: answer.receipt.leaf_hash, answer: answer, savedAt: new Date().toISOString() });
        t.oncomplete = function () { db.close(); resolve(); };
        t.onerror = function () { db.close(); resolve(); };
      });
    }).catch(function () { /* the server keeps a copy too */ });
  }
  function storedReceipts() {
    return receiptsDb().then(function (db) {
      return new Promise(function (resolve) {
        var req = db.transaction("receipts").objectStore("receipts").getAll();
        req.onsuccess = function () { db.close(); resolve(req.result || []); };
        req.onerror = function () { db.close(); resolve([]); };
      });
    }).catch(function () { return []; });
  }
  function download(name, obj) {
    var blob = new Blob([JSON.stringify(obj, null, 2)], { type: "application/json" });
    var a = document.createElement("a");
    a.href = URL.createObjectURL(blob); a.download = name;
    document.body.appendChild(a); a.click(); a.remove();
  }
  function show(el, text, kind) {
    el.textContent = text; el.className = "flash flash-" + (kind || "info"); el.hidden = false;
    el.scrollIntoView({ block: "nearest" });  // the delegate may have scrolled down to the button
  }
  function nonce() { return K.b64url(crypto.getRandomValues(new Uint8Array(18))); }
  /* Where a vote is: "Executive Committee, Seoul · Agenda 4 · Round 2". */
  function whereLine(meeting, agendaItem, round) {
    var parts = [meeting, T("Agenda %(number)s", { number: agendaItem })];
    if (round > 1) parts.push(T("Round %(round)s", { round: N(round) }));
    return parts.join(" · ");
  }

  /* ---- the open-votes list on the badge page ---- */
  var list = document.getElementById("open-votes");
  if (list) {
    // An opened vote must show within 2 s: poll every second, counted from the start of the last
    // request, while the page is on screen; a phone that wakes up asks at once.
    var POLL_MS = 1000, shown = null, timer = null, inflight = false;
    var schedule = function (delay) {
      if (timer === null && !inflight && !document.hidden) timer = setTimeout(tick, delay);
    };
    var tick = function () {
      timer = null; inflight = true;
      var started = Date.now();
      fetch(list.dataset.api, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (r) { if (!r.ok) throw new Error(); return r.json(); })
        .then(function (data) {
          var now = JSON.stringify(data.votes);
          if (now === shown) return;
          shown = now;
          while (list.firstChild) list.removeChild(list.firstChild);
          document.getElementById("no-open-votes").hidden = data.votes.length > 0;
          data.votes.forEach(function (v) {
            var li = document.createElement("li"), a = document.createElement("a");
            li.className = "card vote-card";
            a.href = v.url; a.className = "button primary";
            a.textContent = v.voted ? T("See vote") : T("Vote now");
            var h = document.createElement("p"); h.className = "vote-question"; h.textContent = v.question;
            var m = document.createElement("p"); m.className = "muted";
            m.textContent = whereLine(v.meeting, v.agenda_item, v.round) +
              (v.voted ? " · " + (v.voted_by_me ? T("you voted") : T("your city has voted")) : "");
            li.appendChild(h); li.appendChild(m); li.appendChild(a); list.appendChild(li);
          });
        })
        .catch(function () {})
        .then(function () { inflight = false; schedule(Math.max(0, POLL_MS - (Date.now() - started))); });
    };
    document.addEventListener("visibilitychange", function () { schedule(0); });
    tick();
  }

  /* ---- the badge page: does this phone still hold the key? (Safari may clear storage) ---- */
  var keyCheck = document.getElementById("key-check");
  if (keyCheck) {
    K.load(keyCheck.dataset.holder).then(function (record) {
      if (!record || record.keyId !== keyCheck.dataset.key) {
        keyCheck.textContent = T("This browser no longer holds your signing key (it may have been cleared), so it cannot vote. Ask the Secretariat desk for a new code and scan it with this phone.");
        keyCheck.hidden = false;
      }
    }).catch(function () {
      keyCheck.textContent = T("This browser cannot read its key store (private browsing?). Votes need a normal window.");
      keyCheck.hidden = false;
    });
  }

  /* ---- the receipts page ---- */
  var rlist = document.getElementById("receipt-list");
  if (rlist) {
    Promise.all([
      fetch(document.getElementById("receipts").dataset.api, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (r) { return r.ok ? r.json() : null; }).catch(function () { return null; }),
      storedReceipts()
    ]).then(function (both) {
      var byLeaf = {}, when = {};
      both[1].forEach(function (s) { byLeaf[s.leaf] = s.answer; when[s.leaf] = Date.parse(s.savedAt) || 0; });
      (both[0] ? both[0].receipts : []).forEach(function (r) {
        var mine = byLeaf[r.receipt.leaf_hash];  // a secret vote's tracker is on this phone only
        if (mine && mine.tracker) { r.tracker = mine.tracker; r.tracker_code = mine.tracker_code; }
        byLeaf[r.receipt.leaf_hash] = r; when[r.receipt.leaf_hash] = Date.parse(r.received_at) || 0;
      });
      if (!both[0]) show(document.getElementById("live-status"), T("The server could not be reached: these are the receipts kept on this phone."), "info");
      // Newest first (IndexedDB returns them in leaf-hash order, which means nothing to a delegate).
      var items = Object.keys(byLeaf).sort(function (a, b) { return when[b] - when[a]; }).map(function (k) { return byLeaf[k]; });
      document.getElementById("receipts-empty").hidden = items.length > 0;
      items.forEach(function (r) {
        var li = document.createElement("li"); li.className = "card receipt-card";
        var code = document.createElement("p"); code.className = "receipt-code"; code.textContent = r.short_code;
        var what = document.createElement("p"); what.className = "vote-question"; what.textContent = r.vote.question;
        var where = document.createElement("p"); where.className = "muted";
        where.textContent = whereLine(r.vote.meeting, r.vote.agenda_item, r.vote.round) + " · " +
          T("Ballot %(number)s in the vote's log", { number: N(r.ballot_number) });
        var tr = null;
        if (r.tracker || r.secret) {
          tr = document.createElement("p"); tr.className = "muted tracker-line";
          tr.textContent = r.tracker ? T("Secret ballot · your tracker: %(code)s", { code: r.tracker_code || trackerCode(r.tracker) })
                                     : T("Secret ballot · its tracker is kept only on the phone that voted.");
        }
        var b = document.createElement("button"); b.type = "button"; b.className = "button"; b.textContent = T("Download (JSON)");
        code.id = "receipt-code-" + r.short_code;
        b.setAttribute("aria-describedby", code.id);  // which receipt, for a screen reader
        b.addEventListener("click", function () { download("receipt-" + r.short_code + ".json", receiptFile(r)); });
        li.appendChild(code); li.appendChild(what); li.appendChild(where); if (tr) li.appendChild(tr); li.appendChild(b); rlist.appendChild(li);
      });
    });
  }

  /* ---- the ballot page ---- */
  var root = document.getElementById("ballot");
  if (!root) return;
  var form = document.getElementById("ballot-form");
  var confirmBox = document.getElementById("confirm");
  var status = document.getElementById("send-status");
  var retry = document.getElementById("retry-button");
  var errorBox = document.getElementById("ballot-error");
  var kind = root.dataset.kind, seats = parseInt(root.dataset.seats || "0", 10);
  var info = null, prepared = null, pendingKey = null, chosenDone = "", chosenLines = null, signing = false;
  // A secret ballot: the signed envelope says only "this member votes"; the choice is sealed to the
  // tellers' key (hpke.js, ballots/sealed.py) and its SHA-256, the tracker, stays on this phone.
  var secret = root.dataset.secret === "1", sealedChoice = null;

  function trackerCode(hexText) {
    var bytes = new Uint8Array(hexText.match(/../g).map(function (h) { return parseInt(h, 16); }));
    var alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", out = "", bits = 0, value = 0;
    for (var i = 0; i < bytes.length && out.length < 10; i++) {
      value = (value << 8) | bytes[i]; bits += 8;
      while (bits >= 5 && out.length < 10) { out += alphabet[(value >>> (bits - 5)) & 31]; bits -= 5; }
    }
    return out.slice(0, 5) + "-" + out.slice(5, 10);
  }
  function trackerOf(sealedB64) {
    return crypto.subtle.digest("SHA-256", K.b64urlDecode(sealedB64)).then(function (d) { return K.hex(d); });
  }
  /* The padded plaintext (ballots/sealed.py plaintext): canonical JSON, then spaces up to the vote's size. */
  function sealChoice(choice) {
    var s = info.secret, body = K.encode(K.canonicalize({ v: 1, vote: info.vote, round: info.round,
                                                           vote_sha256: info.vote_sha256, choice: choice }));
    if (body.length > s.plaintext_bytes) return Promise.reject(new Error(T("Your choice does not fit this ballot. Reload the page and vote again.")));
    var padded = new Uint8Array(s.plaintext_bytes);
    padded.fill(0x20); padded.set(body);
    var label = K.encode("wego-sealed-ballot/v1\n" + info.vote_sha256);
    return window.WeGO.hpke.seal(K.b64urlDecode(s.teller_key), label, padded).then(function (sealed) { return K.b64url(sealed); });
  }
  /* Words of a choice: plain text, or one line per candidate (an approval ballot of many candidates). */
  function putWords(el, text, lines) {
    while (el.firstChild) el.removeChild(el.firstChild);
    el.classList.toggle("choice-lines", !!lines);
    if (!lines) { el.textContent = text; return; }
    lines.forEach(function (line, i) {
      if (i) el.appendChild(document.createTextNode(" "));
      var span = document.createElement("span"); span.textContent = line; el.appendChild(span);
    });
  }
  function receiptFile(answer) {
    // A secret vote's receipt carries the tracker beside the envelope's receipt (docs/record-format.md).
    if (!answer.tracker) return answer.receipt;
    var out = {};
    for (var k in answer.receipt) out[k] = answer.receipt[k];
    out.tracker = answer.tracker;
    return out;
  }

  /* The choice, what the confirmation says ("words") and what the receipt says of it ("done"). */
  function readChoice() {
    if (kind === "excom-block") {
      var picked = Array.prototype.filter.call(form.querySelectorAll('input[name="candidate"]'), function (i) { return i.checked; });
      if (picked.length > seats) {
        throw new Error(P("Choose at most %(num)s candidate; you chose %(chosen)s.", "Choose at most %(num)s candidates; you chose %(chosen)s.", seats, { chosen: N(picked.length) }));
      }
      var names = picked.map(function (i) { return i.dataset.label; }).join(", ");
      return {
        choice: picked.map(function (i) { return i.value; }),
        words: picked.length ? T("You vote for: %(names)s.", { names: names }) : T("You abstain (no candidate chosen)."),
        done: picked.length ? T("You voted for: %(names)s.", { names: names }) : T("You abstained (no candidate chosen).")
      };
    }
    if (kind === "excom-approval") {
      var choice = {}, words = [], said = { yes: T("yes"), no: T("no"), abstain: T("abstain") };
      Array.prototype.forEach.call(form.querySelectorAll("fieldset.approval"), function (fs) {
        var sel = fs.querySelector("input:checked");
        if (!sel) throw new Error(T("Answer yes, no or abstain for %(name)s.", { name: fs.dataset.label }));
        choice[fs.dataset.candidate] = sel.value; words.push(fs.dataset.label + ": " + said[sel.value]);
      });
      // Shown one candidate a line (the text, read aloud or copied, stays "A: yes; B: no.").
      var lines = words.map(function (w, i) { return w + (i < words.length - 1 ? ";" : "."); });
      return { choice: choice, words: words.join("; ") + ".", done: words.join("; ") + ".", lines: lines };
    }
    var sel = form.querySelector('input[name="choice"]:checked');
    if (!sel) throw new Error(T("Choose one answer first."));
    if (sel.value === "abstain") return { choice: "abstain", words: T("You abstain."), done: T("You abstained.") };
    if (sel.dataset.label) {  // an option
      return { choice: sel.value, words: T("You vote for %(name)s.", { name: sel.dataset.label }),
               done: T("You voted for %(name)s.", { name: sel.dataset.label }) };
    }
    if (sel.value === "yes") return { choice: "yes", words: T("You vote YES (in favour)."), done: T("You voted YES (in favour).") };
    return { choice: sel.value, words: T("You vote NO (against)."), done: T("You voted NO (against).") };
  }

  function loadInfo() {
    return fetch(root.dataset.api, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { if (!r.ok) throw new Error(T("Could not load the vote (%(status)s). Reload the page.", { status: r.status })); return r.json(); })
      .then(function (d) {
        info = d; pendingKey = "wego-pending-" + d.vote;
        if (!secret) return d;
        if (!d.secret) throw new Error(T("Could not load the vote (%(status)s). Reload the page.", { status: "secret" }));
        var hpke = window.WeGO.hpke;
        return (hpke ? hpke.supported() : Promise.resolve(false)).then(function (ok) {
          if (!ok) {
            if (form) form.hidden = true;
            document.getElementById("secret-unsupported").hidden = false;
          }
          return d;
        });
      });
  }

  function send(pending) {
    show(status, T("Sending your signed vote…"));
    retry.hidden = true;
    return K.postJson(info.ballots_url, pending).then(function (answer) {
      if (!pending.sealed) return answer;
      // The server answers the tracker it stored; it must be the hash of what this phone sealed.
      return trackerOf(pending.sealed).then(function (mine) {
        if (answer.tracker !== mine) {
          var e = new Error(T("The server's tracker does not match your sealed vote. Tell the Secretariat desk at once and keep this phone as it is."));
          e.status = 400;
          throw e;
        }
        return answer;
      });
    }).then(function (answer) {
      localStorage.removeItem(pendingKey);
      return saveReceipt(answer).then(function () { showReceipt(answer); });
    }, function (err) {
      if (err.status && err.status < 500 && err.status !== 429) {
        localStorage.removeItem(pendingKey);
        show(status, err.message + (err.hint ? " " + err.hint : ""), "error");
        status.focus();  // the buttons are gone: the keyboard's place is the reason
      } else {
        show(status, T("Your vote is signed but not confirmed yet: %(reason)s Press 'Send again'.", { reason: err.message + " " + (err.hint || "") }), "error");
        retry.hidden = false;
        retry.scrollIntoView({ block: "nearest" });
        retry.focus();
      }
    });
  }

  function showReceipt(answer) {
    status.hidden = true;
    if (form) form.hidden = true;
    confirmBox.hidden = true;
    document.getElementById("receipt").hidden = false;
    document.getElementById("receipt-code").textContent = answer.short_code;
    // What was chosen, when this page still shows it (not after a reload that re-sent a pending ballot).
    var where = answer.replay ? T("Ballot %(number)s in the log of this vote (confirmed again).", { number: N(answer.ballot_number) })
                              : T("Ballot %(number)s in the log of this vote.", { number: N(answer.ballot_number) });
    if (chosenDone && chosenLines) putWords(document.getElementById("receipt-words"), "", chosenLines.concat([where]));
    else putWords(document.getElementById("receipt-words"), (chosenDone ? chosenDone + " " : "") + where, null);
    document.getElementById("receipt-qr").src = answer.qr;
    if (answer.tracker) {
      document.getElementById("tracker-code").textContent = answer.tracker_code || trackerCode(answer.tracker);
      document.getElementById("tracker-box").hidden = false;
    }
    document.getElementById("receipt-download").onclick = function () { download("receipt-" + answer.short_code + ".json", receiptFile(answer)); };
    document.getElementById("receipt-title").focus();  // a screen reader reads the new step; Tab goes on from there
  }

  retry.addEventListener("click", function () {
    var pending = JSON.parse(localStorage.getItem(pendingKey) || "null");
    if (pending) send(pending);
  });

  loadInfo().then(function () {
    var pending = JSON.parse(localStorage.getItem(pendingKey) || "null");
    if (pending) {  // signed earlier, never confirmed: the same bytes again, and no second ballot
      if (form) form.hidden = true;
      send(pending);
    }
  }).catch(function (err) { show(status, err.message, "error"); });

  if (!form) return;
  form.addEventListener("submit", function (ev) {
    ev.preventDefault();
    errorBox.hidden = true;
    try {
      var picked = readChoice();
      sealedChoice = secret ? picked.choice : null;
      var ballot = { v: 1, vote: info.vote, round: info.round, vote_sha256: info.vote_sha256, member: info.member,
                     delegate: info.delegate, key: info.key, choice: secret ? "sealed" : picked.choice, nonce: nonce() };
      prepared = K.canonicalize(ballot);
      chosenDone = picked.done; chosenLines = picked.lines || null;
      putWords(document.getElementById("confirm-words"), picked.words, chosenLines);
      document.getElementById("confirm-json").textContent = prepared;
      form.hidden = true; confirmBox.hidden = false;
      document.getElementById("confirm-title").focus();  // the next step is read out; Tab reaches the buttons
    } catch (err) {
      show(errorBox, err.message, "error");
    }
  });
  document.getElementById("back-button").addEventListener("click", function () {
    confirmBox.hidden = true; form.hidden = false; prepared = null; chosenDone = ""; chosenLines = null;
    var back = form.querySelector("input:checked") || form.querySelector("input");
    if (back) back.focus();
  });
  // While signing, the button stays focusable (a disabled one would drop the focus) and a second
  // press does nothing.
  document.getElementById("sign-button").addEventListener("click", function () {
    var button = this;
    if (signing) return;
    signing = true;
    button.setAttribute("aria-disabled", "true");
    var sealed = null;
    K.load(info.delegate).then(function (record) {
      if (!record) throw new Error(T("This phone does not hold your signing key. Ask the Secretariat desk for a new code to set it up again."));
      if (record.keyId !== info.key) throw new Error(T("This phone holds an older key of yours that was switched off. Ask the Secretariat desk for a new code."));
      if (!secret) return record;
      return sealChoice(sealedChoice).then(function (s) { sealed = s; return record; });
    }).then(function (record) {
      return K.sign(record, "wego-ballot/v1\n", K.encode(prepared));
    }).then(function (signature) {
      var pending = { ballot: prepared, signature: signature };
      if (sealed) pending.sealed = sealed;
      localStorage.setItem(pendingKey, JSON.stringify(pending));
      // Signed is final: from here the phone only sends these bytes (again), never a changed vote.
      document.getElementById("confirm-actions").hidden = true;
      return send(pending);
    }).catch(function (err) {
      show(status, err.message, "error");
    }).then(function () { signing = false; button.removeAttribute("aria-disabled"); });
  });
})();
