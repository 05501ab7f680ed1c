/* WeGO Voting: check a receipt in the browser against the published election record.

   The server only says which meeting's record holds a vote (/api/public/votes/<id>/where) and
   serves the record; every verdict here is computed with WebCrypto from that record and the
   receipt. Byte formats: docs/crypto-formats.md ("Merkle log", "Checkpoint", "Receipt");
   the Python reference is ballots/record.py verify_receipt and ballots/log.py verify_inclusion. */
(function () {
  "use strict";
  var root = document.getElementById("receipt-check");
  if (!root) return;

  var subtle = window.crypto && window.crypto.subtle;
  var enc = new TextEncoder();
  var ENTRY_LABEL = enc.encode("wego-ballot-entry/v1\n");
  var CHECKPOINT_LABEL = enc.encode("wego-checkpoint/v1\n");
  var CERTIFICATE_LABEL = enc.encode("wego-certificate/v1\n");
  var HEX64 = /^[0-9a-f]{64}$/;
  var RECEIPT_KEYS = ["checkpoint", "index", "leaf_hash", "proof", "v", "vote"];
  var CHECKPOINT_KEYS = ["origin", "root", "signature", "size"];
  var ED25519_SPKI_PREFIX = "302a300506032b6570032100";
  var P256_SPKI_PREFIX = "3059301306072a8648ce3d020106082a8648ce3d030107034200";
  var RECEIPTS_DB = "wego-receipts";
  var MAX_FILE = 1024 * 1024;

  /* The page's language (voting/i18n.py; as keystore.js, which this page does not load): messages
     from the JSON data block #i18n, English where one is missing. */
  var i18n = (function () {
    var data = {}, el = document.getElementById("i18n");
    try { data = el ? JSON.parse(el.textContent) : {}; } catch (e) { data = {}; }
    var lang = data.lang || document.documentElement.lang || "en";
    var messages = data.messages || {}, plurals = data.plurals || {}, rules = null, numbers = null;
    try { rules = new Intl.PluralRules(lang); numbers = new Intl.NumberFormat(lang); } catch (e) { /* English forms */ }
    function fill(text, values) {
      return values ? text.replace(/%\((\w+)\)s/g, function (all, name) { return name in values ? String(values[name]) : all; }) : text;
    }
    function n(value) { return numbers ? numbers.format(value) : String(value); }
    function t(message, values) { return fill(typeof messages[message] === "string" ? messages[message] : message, values); }
    function p(singular, plural, count, values) {
      var forms = plurals[singular], category = rules ? rules.select(count) : (count === 1 ? "one" : "other");
      var text = forms ? (forms[category] || forms.other) : (count === 1 ? singular : plural);
      var all = { num: n(count) };
      for (var k in values || {}) all[k] = values[k];
      return fill(text, all);
    }
    return { t: t, p: p, n: n };
  })();
  var T = i18n.t, P = i18n.p, N = i18n.n;

  /* ------------------------------------------------------------------ bytes */

  function concat(parts) {
    var n = 0, i, out, at = 0;
    for (i = 0; i < parts.length; i++) n += parts[i].length;
    out = new Uint8Array(n);
    for (i = 0; i < parts.length; i++) { out.set(parts[i], at); at += parts[i].length; }
    return out;
  }
  function u32(n) {
    var b = new Uint8Array(4);
    new DataView(b.buffer).setUint32(0, n, false);  // big-endian
    return b;
  }
  function fromHex(text) {
    var out = new Uint8Array(text.length / 2);
    for (var i = 0; i < out.length; i++) out[i] = parseInt(text.substr(i * 2, 2), 16);
    return out;
  }
  function toHex(bytes) {
    var s = "";
    for (var i = 0; i < bytes.length; i++) s += (bytes[i] < 16 ? "0" : "") + bytes[i].toString(16);
    return s;
  }
  function sameBytes(a, b) {
    if (!a || !b || a.length !== b.length) return false;
    var d = 0;
    for (var i = 0; i < a.length; i++) d |= a[i] ^ b[i];
    return d === 0;
  }
  function binary(text) {
    var out = new Uint8Array(text.length);
    for (var i = 0; i < text.length; i++) out[i] = text.charCodeAt(i);
    return out;
  }
  function toBinary(bytes) {
    var s = "";
    for (var i = 0; i < bytes.length; i++) s += String.fromCharCode(bytes[i]);
    return s;
  }
  /* Strict base64 (RFC 4648 §4, padded): one value, one spelling; null when not. */
  function b64Decode(text) {
    if (typeof text !== "string" || text.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(text)) return null;
    var bytes;
    try { bytes = binary(atob(text)); } catch (e) { return null; }
    return btoa(toBinary(bytes)) === text ? bytes : null;
  }
  function b64Encode(bytes) { return btoa(toBinary(bytes)); }
  /* Strict base64url without padding (RFC 4648 §5); null when not. */
  function b64urlDecode(text) {
    if (typeof text !== "string" || !/^[A-Za-z0-9_-]*$/.test(text) || text.length % 4 === 1) return null;
    var std = text.replace(/-/g, "+").replace(/_/g, "/");
    var bytes;
    try { bytes = binary(atob(std + "===".slice((std.length + 3) % 4))); } catch (e) { return null; }
    var again = btoa(toBinary(bytes)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
    return again === text ? bytes : null;
  }
  function base32lower(bytes) {
    var alphabet = "abcdefghijklmnopqrstuvwxyz234567", out = "", bits = 0, value = 0;
    for (var i = 0; i < bytes.length; i++) {
      value = ((value << 8) | bytes[i]) & 0xffff; bits += 8;
      while (bits >= 5) { out += alphabet[(value >>> (bits - 5)) & 31]; bits -= 5; }
    }
    if (bits > 0) out += alphabet[(value << (5 - bits)) & 31];
    return out;
  }
  function shortCode(leaf) {
    var code = base32lower(leaf).toUpperCase().slice(0, 10);
    return code.slice(0, 5) + "-" + code.slice(5);
  }
  /* RFC 8785 canonical JSON: keys sorted by UTF-16 code units, ECMAScript serialization of values. */
  function canonicalize(value) {
    if (value === null || typeof value !== "object") return JSON.stringify(value);
    if (Array.isArray(value)) return "[" + value.map(canonicalize).join(",") + "]";
    return "{" + Object.keys(value).sort().map(function (k) {
      return JSON.stringify(k) + ":" + canonicalize(value[k]);
    }).join(",") + "}";
  }

  /* ------------------------------------------------------------------ RFC 6962 Merkle tree */

  function sha256(bytes) {
    return subtle.digest("SHA-256", bytes).then(function (d) { return new Uint8Array(d); });
  }
  function leafHash(entry) { return sha256(concat([new Uint8Array([0]), entry])); }
  function nodeHash(left, right) { return sha256(concat([new Uint8Array([1]), left, right])); }
  function isHash(h) { return h instanceof Uint8Array && h.length === 32; }
  function isSize(n) { return typeof n === "number" && Number.isSafeInteger(n) && n >= 0; }
  function half(n) { return Math.floor(n / 2); }   // not >>: sizes may exceed 32 bits
  function odd(n) { return n % 2 === 1; }

  /* The entry of a signed ballot: label || u32(len B) || B || u32(len S) || S || u32(len K) || K. */
  function ballotEntry(ballotBytes, signature, keyId) {
    var key = enc.encode(keyId);
    return concat([ENTRY_LABEL, u32(ballotBytes.length), ballotBytes, u32(signature.length), signature,
                   u32(key.length), key]);
  }

  /* RFC 6962 MTH of leaves[lo..hi-1]; the root of no leaves is SHA-256(""). */
  function treeHash(leaves, lo, hi) {
    var n = hi - lo;
    if (n === 0) return sha256(new Uint8Array(0));
    if (n === 1) return Promise.resolve(leaves[lo]);
    var k = 1;
    while (k * 2 < n) k *= 2;   // the largest power of two smaller than n
    return Promise.all([treeHash(leaves, lo, lo + k), treeHash(leaves, lo + k, hi)]).then(function (lr) {
      return nodeHash(lr[0], lr[1]);
    });
  }

  /* RFC 9162 §2.1.3.2, as ballots/log.py verify_inclusion: whether proof leads from leaf at index
     in a tree of size leaves to rootHash. */
  async function verifyInclusion(leaf, index, size, proof, rootHash) {
    if (!(isHash(leaf) && isHash(rootHash) && isSize(index) && isSize(size))) return false;
    if (index >= size || !proof.every(isHash)) return false;
    var fn = index, sn = size - 1, r = leaf;
    for (var i = 0; i < proof.length; i++) {
      var p = proof[i];
      if (sn === 0) return false;
      if (odd(fn) || fn === sn) {
        r = await nodeHash(p, r);
        if (!odd(fn)) {
          while (fn !== 0 && !odd(fn)) { fn = half(fn); sn = half(sn); }
        }
      } else {
        r = await nodeHash(r, p);
      }
      fn = half(fn); sn = half(sn);
    }
    return sn === 0 && sameBytes(r, rootHash);
  }

  /* ------------------------------------------------------------------ signatures */

  // RFC 8032 §7.1 test 1 and its signature of "wego-ballot/v1\n" || "{}" (docs/crypto-formats.md):
  // a browser that verifies this can check Ed25519.
  var PROBE_KEY = "MCowBQYDK2VwAyEA11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo";
  var PROBE_SIG = "82877922e34a79478a88a5793fb161d3829fbc22fa63d011a8400fd79c6aa3cb" +
                  "defc0876e460ef326f6c14b6cdb43c88eadbaff140399fa1b38b2acddda47801";
  var ed25519Probe = null;
  function canEd25519() {
    if (!ed25519Probe) {
      ed25519Probe = (async function () {
        try {
          var key = await subtle.importKey("spki", b64urlDecode(PROBE_KEY), { name: "Ed25519" }, false, ["verify"]);
          return await subtle.verify({ name: "Ed25519" }, key, fromHex(PROBE_SIG), enc.encode("wego-ballot/v1\n{}"));
        } catch (e) {
          return false;
        }
      })();
    }
    return ed25519Probe;
  }

  /* true, false, or null when this browser cannot check the signature (no Ed25519). */
  async function verifySignature(spki, label, message, signature) {
    if (!spki || !signature) return false;
    var prefix = toHex(spki.slice(0, 26));
    var data = concat([label, message]);
    try {
      if (spki.length === 44 && prefix.indexOf(ED25519_SPKI_PREFIX) === 0) {
        if (!(await canEd25519())) return null;
        if (signature.length !== 64) return false;
        var ed = await subtle.importKey("spki", spki, { name: "Ed25519" }, false, ["verify"]);
        return await subtle.verify({ name: "Ed25519" }, ed, signature, data);
      }
      if (spki.length === 91 && toHex(spki.slice(0, 27)) === P256_SPKI_PREFIX + "04") {
        if (signature.length !== 64) return false;
        var ec = await subtle.importKey("spki", spki, { name: "ECDSA", namedCurve: "P-256" }, false, ["verify"]);
        return await subtle.verify({ name: "ECDSA", hash: "SHA-256" }, ec, signature, data);
      }
    } catch (e) {
      return false;
    }
    return false;
  }
  async function keyIdOf(spki) { return "k_" + base32lower(await sha256(spki)).slice(0, 26); }

  function checkpointBody(cp) {
    return enc.encode(cp.origin + "\n" + cp.size + "\n" + b64Encode(cp.rootBytes) + "\n");
  }
  function both(a, b) {   // two signature results: false wins, then null (not checked)
    if (a === false || b === false) return false;
    if (a === null || b === null) return null;
    return true;
  }

  /* ------------------------------------------------------------------ reading a receipt */

  function NotAReceipt(message) { this.message = message; }

  function sameKeys(obj, keys) {
    var got = Object.keys(obj).sort();
    return got.length === keys.length && got.every(function (k, i) { return k === keys[i]; });
  }
  /* A receipt's checkpoint (or a certificate's, whose reasons are not shown: it just fails). */
  function readCheckpoint(cp) {
    if (!cp || typeof cp !== "object" || Array.isArray(cp) || !sameKeys(cp, CHECKPOINT_KEYS)) {
      throw new NotAReceipt(T("its checkpoint must have exactly origin, size, root and signature."));
    }
    if (typeof cp.origin !== "string" || !/^[^\s+\x00-\x1f\x7f]+$/.test(cp.origin)) {
      throw new NotAReceipt(T("its checkpoint's origin is not a log's name."));
    }
    if (!isSize(cp.size)) throw new NotAReceipt(T("its checkpoint's size is not a whole number."));
    if (typeof cp.root !== "string" || !HEX64.test(cp.root)) throw new NotAReceipt(T("its checkpoint's root is not 64 hex characters."));
    var sig = b64Decode(cp.signature);
    if (!sig || sig.length !== 64) throw new NotAReceipt(T("its checkpoint's signature is not 64 bytes of base64."));
    return { origin: cp.origin, size: cp.size, root: cp.root, rootBytes: fromHex(cp.root), signature: sig, json: cp };
  }
  /* As ballots/receipts.py Receipt.from_json: exactly the receipt's keys and shapes. */
  function readReceipt(obj) {
    if (!obj || typeof obj !== "object" || Array.isArray(obj)) throw new NotAReceipt(T("a receipt is a JSON object."));
    if (!sameKeys(obj, RECEIPT_KEYS)) {
      throw new NotAReceipt(T("a receipt has exactly the keys %(keys)s.", { keys: RECEIPT_KEYS.join(", ") }));
    }
    if (obj.v !== 1) throw new NotAReceipt(T("this page reads receipts of version 1 only."));
    if (typeof obj.vote !== "string" || !obj.vote) throw new NotAReceipt(T("its vote is missing."));
    if (!isSize(obj.index)) throw new NotAReceipt(T("its ballot number (index) is not a whole number."));
    if (typeof obj.leaf_hash !== "string" || !HEX64.test(obj.leaf_hash)) {
      throw new NotAReceipt(T("its leaf hash is not 64 lowercase hex characters."));
    }
    if (!Array.isArray(obj.proof) || !obj.proof.every(function (p) { return typeof p === "string" && HEX64.test(p); })) {
      throw new NotAReceipt(T("its proof is not a list of 64-character hex hashes."));
    }
    return {
      vote: obj.vote, index: obj.index, leafHex: obj.leaf_hash, leaf: fromHex(obj.leaf_hash),
      proof: obj.proof.map(fromHex), checkpoint: readCheckpoint(obj.checkpoint)
    };
  }
  /* A secret vote's tracker, where one is given: 64 lowercase hex characters (SHA-256 of the sealed
     ballot, ballots/sealed.py tracker). */
  function readTracker(value) {
    if (value === undefined) return null;
    if (typeof value !== "string" || !HEX64.test(value)) throw new NotAReceipt(T("its tracker is not 64 lowercase hex characters."));
    return value;
  }
  /* What the person gave: a receipt (alone, or as the phone keeps it; a secret vote's with its
     "tracker"), a receipt QR's address (a secret vote's ends in #t=<tracker>), or a tracker alone. */
  function readInput(text) {
    text = (text || "").trim();
    if (!text) throw new NotAReceipt(T("paste a receipt first, or open a receipt file."));
    var qr = text.match(/\/r\/([1-9][0-9]*)\/([0-9a-f]{64})(?:\.png)?\/?(?:#t=([0-9a-f]{64}))?$/);
    if (qr && text.charAt(0) !== "{") {
      return { kind: "leaf", voteRef: "v" + qr[1], leafHex: qr[2], leaf: fromHex(qr[2]), tracker: qr[3] || null };
    }
    if (HEX64.test(text.toLowerCase())) {
      // A tracker alone names no vote: it is looked for among the secret votes of one meeting's record.
      if (!root.dataset.scopeRecord) {
        throw new NotAReceipt(T("a tracker alone can only be looked for in one meeting's record. Open this page from the meeting's results page, or paste the whole receipt file."));
      }
      return { kind: "tracker", voteRef: null, tracker: text.toLowerCase() };
    }
    var typed = text.toUpperCase().replace(/[\s-]/g, "");
    if (/^[A-Z2-7]{10}$/.test(typed)) {
      // The tracker code the phone shows (the first 10 base32 characters of the tracker): looked for
      // the same way, then checked as the whole tracker it names.
      if (!root.dataset.scopeRecord) {
        throw new NotAReceipt(T("a tracker code alone can only be looked for in one meeting's record. Open this page from the meeting's results page, or paste the whole receipt file."));
      }
      return { kind: "tracker", voteRef: null, tracker: null, code: typed.slice(0, 5) + "-" + typed.slice(5) };
    }
    if (text.charAt(0) !== "{") {
      throw new NotAReceipt(T("paste the receipt's JSON text (it starts with {), or the address in its QR code."));
    }
    var obj;
    try { obj = JSON.parse(text); } catch (e) { throw new NotAReceipt(T("the text is not complete JSON.")); }
    var tracker = null;
    if (obj && typeof obj === "object" && obj.receipt && typeof obj.receipt === "object" && !("leaf_hash" in obj)) {
      tracker = readTracker(obj.tracker);   // the phone's copy or the ballot API's answer: {receipt, short_code, tracker, ...}
      obj = obj.receipt;
    }
    if (obj && typeof obj === "object" && !Array.isArray(obj) && "tracker" in obj) {
      // A secret vote's receipt file: the envelope's receipt and, beside it, the tracker.
      var copy = {};
      for (var k in obj) if (k !== "tracker") copy[k] = obj[k];
      tracker = readTracker(obj.tracker);
      obj = copy;
    }
    var receipt = readReceipt(obj);
    receipt.kind = "receipt";
    receipt.voteRef = receipt.vote;
    receipt.tracker = tracker;
    return receipt;
  }

  /* ------------------------------------------------------------------ the record */

  var records = {};
  function fetchJson(url) {
    return fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } }).then(function (resp) {
      return resp.json().catch(function () { return null; }).then(function (data) {
        if (!resp.ok) {
          var err = new Error((data && data.message) || T("The server answered %(status)s.", { status: resp.status }));
          err.status = resp.status; throw err;
        }
        return data;
      });
    }, function () { throw new Error(T("The network is not reachable.")); });
  }
  function loadRecord(url) {
    if (!records[url]) {
      records[url] = fetchJson(url).catch(function (err) { delete records[url]; throw err; });
    }
    return records[url];
  }
  function findVote(record, ref) {
    var items = Array.isArray(record.items) ? record.items : [];
    for (var i = 0; i < items.length; i++) {
      var votes = items[i] && Array.isArray(items[i].votes) ? items[i].votes : [];
      for (var j = 0; j < votes.length; j++) {
        var d = null;
        try { d = JSON.parse(votes[j].definition); } catch (e) { d = null; }
        if (d && d.vote === ref) return { entry: votes[j], definition: d };
      }
    }
    return null;
  }
  async function recordLeaves(ballots) {
    if (!Array.isArray(ballots)) throw new Error(T("the vote's ballots are not a list"));
    return Promise.all(ballots.map(function (b, i) {
      var sig = b && b64urlDecode(b.signature);
      if (!b || typeof b.ballot !== "string" || !sig || typeof b.key !== "string" || !/^[\x20-\x7e]*$/.test(b.key)) {
        return Promise.reject(new Error(T("ballot %(number)s cannot be read", { number: N(i + 1) })));
      }
      return leafHash(ballotEntry(enc.encode(b.ballot), sig, b.key));
    }));
  }
  function meetingName(record) {
    var m = record && record.meeting;
    return m && m.title ? m.title : T("this meeting");
  }
  /* "Agenda 4" or "Agenda 4, round 2". */
  function agendaWords(number, round) {
    return round > 1 ? T("Agenda %(number)s, round %(round)s", { number: number, round: N(round) }) : T("Agenda %(number)s", { number: number });
  }
  function whereWords(def) {
    return agendaWords((def.agenda_item || {}).number, def.round);
  }

  /* ------------------------------------------------------------------ the check */

  function Check(ok, text) { this.ok = ok; this.text = text; }

  /* Where the record of a vote is: the page's meeting, or the one the server names for the vote id. */
  async function recordFor(voteRef) {
    if (root.dataset.scopeRecord) return { url: root.dataset.scopeRecord, scoped: true };
    var m = /^v([1-9][0-9]{0,15})$/.exec(voteRef);
    if (!m) {
      throw new Verdict("bad", T("This receipt is not of a vote on this server."),
        T("Its vote is named “%(ref)s”; votes here are named v1, v2, …", { ref: voteRef }));
    }
    var where;
    try {
      where = await fetchJson(root.dataset.where.replace("{id}", m[1]));
    } catch (err) {
      if (err.status === 404) {
        throw new Verdict("bad", T("This server has no vote %(ref)s.", { ref: voteRef }),
          T("The receipt comes from another server, or its vote was changed."));
      }
      throw new Verdict("bad", T("The published record could not be found: %(reason)s", { reason: err.message }), T("Try again in a moment."));
    }
    return { url: where.record_url, scoped: false };
  }
  /* What the page says: title (its lead in bold, then rest in plain type), detail and the checks;
     secret: a secret vote's ballot was found, so the page says why it cannot show the choice. */
  function Verdict(tone, title, detail, checks, rest, secret) {
    this.tone = tone; this.title = title; this.detail = detail || ""; this.checks = checks || []; this.rest = rest || "";
    this.secret = !!secret;
  }

  async function check(input) {
    if (!subtle) {
      return new Verdict("bad", T("This browser cannot compute hashes here."),
        T("Open this page over https (or on this computer) in a current browser."));
    }
    var checks = [];
    var ref = input.voteRef;
    progress(T("Fetching the published record…"));
    var at = await recordFor(ref);
    var record;
    try {
      record = await loadRecord(at.url);
    } catch (err) {
      return new Verdict("bad", T("The published record could not be loaded: %(reason)s", { reason: err.message }), T("Try again in a moment."));
    }
    if (!record || record.type !== "wego-election-record" || record.v !== 1) {
      return new Verdict("bad", T("The published record is not an election record this page can read."));
    }
    var meeting = meetingName(record);
    var source = { url: at.url, meeting: meeting };
    progress(T("Checking in this browser…"));

    var byTracker = input.kind === "tracker";
    if (byTracker) {
      // A tracker alone: which secret vote of this record has its sealed ballot.
      if (input.code) {
        var named = await trackersOfCode(record, input.code);
        if (named.length > 1) {
          return done(new Verdict("bad", T("More than one sealed ballot of %(meeting)s has the tracker code %(code)s.", { meeting: meeting, code: input.code }),
            T("Paste the whole receipt file, or its tracker of 64 characters: the short code does not tell them apart."),
            checks), source);
        }
        if (!named.length) {
          checks.push(new Check(false, T("A secret vote of %(meeting)s has a sealed ballot with tracker %(code)s", { meeting: meeting, code: input.code })));
          return done(new Verdict("bad", T("No sealed vote with this tracker is in the published record of %(meeting)s.", { meeting: meeting }),
            T("Check that it is the tracker code your phone showed for your sealed vote (not the receipt code), or paste the receipt file. If it is, keep it and show it to the Secretariat and the observers."),
            checks), source);
        }
        input.tracker = named[0];
      }
      ref = await voteOfTracker(record, input.tracker);
      if (!ref) {
        checks.push(new Check(false, T("A secret vote of %(meeting)s has a sealed ballot with tracker %(code)s", { meeting: meeting, code: shortCode(fromHex(input.tracker)) })));
        return done(new Verdict("bad", T("No sealed vote with this tracker is in the published record of %(meeting)s.", { meeting: meeting }),
          T("Check that it is the tracker your phone showed when you voted, all 64 characters (the receipt file holds it). If it is, keep it and show it to the Secretariat and the observers."),
          checks), source);
      }
    }

    var found = findVote(record, ref);
    if (!found) {
      checks.push(new Check(false, T("Vote %(ref)s is in the published record of %(meeting)s", { ref: ref, meeting: meeting })));
      if (at.scoped) {
        return done(new Verdict("bad", T("This receipt belongs to another meeting's record."),
          T("The record of %(meeting)s holds no vote %(ref)s.", { ref: ref, meeting: meeting }), checks), source);
      }
      return done(new Verdict("bad", T("The published record of %(meeting)s holds no certified result of vote %(ref)s yet.", { ref: ref, meeting: meeting }),
        T("Results are published once the chair certifies them."), checks), source);
    }
    var def = found.definition, entry = found.entry, cert = entry.certificate;
    checks.push(new Check(true, T("Vote %(ref)s is in the published record of %(meeting)s", { ref: ref, meeting: meeting })));
    if (!cert || !cert.body) {
      return done(new Verdict("bad", T("Vote %(ref)s has no certified result yet.", { ref: ref }), "", checks), source);
    }

    var leaves;
    try {
      leaves = await recordLeaves(entry.ballots);
    } catch (err) {
      return done(new Verdict("bad", T("The published record of vote %(ref)s cannot be read: %(reason)s.", { ref: ref, reason: err.message }), "", checks), source);
    }
    var total = leaves.length;
    var leafHex = input.leafHex;
    var position = -1;
    if (!byTracker) for (var i = 0; i < total; i++) if (toHex(leaves[i]) === leafHex) { position = i; break; }

    var orgSpki = b64urlDecode(record.organization && record.organization.public_key);
    var sigUnchecked = false;

    // -- the receipt on its own: WeGO's signed checkpoint and the proof to it
    var receiptProblems = [], recordLog = true;
    if (input.kind === "receipt") {
      var cp = input.checkpoint;
      var cpSig = await verifySignature(orgSpki, CHECKPOINT_LABEL, checkpointBody(cp), cp.signature);
      if (cpSig === null) {
        sigUnchecked = true;
        checks.push(new Check(null, T("WeGO's signature on the receipt's checkpoint could not be checked in this browser")));
      } else {
        checks.push(new Check(cpSig, P("The receipt's checkpoint (%(num)s ballot) is signed by WeGO", "The receipt's checkpoint (%(num)s ballots) is signed by WeGO", cp.size)));
        if (!cpSig) receiptProblems.push(T("its checkpoint does not carry WeGO's signature"));
      }
      var ownLog = cp.origin.slice(-("/vote/" + input.vote).length) === "/vote/" + input.vote &&
                   cp.origin.length > ("/vote/" + input.vote).length;
      recordLog = cp.origin === def.origin;
      checks.push(new Check(ownLog && recordLog, T("The receipt's checkpoint is of vote %(ref)s's log", { ref: ref })));
      if (!ownLog) receiptProblems.push(T("its checkpoint is of another vote's log"));
      var included = await verifyInclusion(input.leaf, input.index, cp.size, input.proof, cp.rootBytes);
      checks.push(new Check(included, T("The receipt's proof leads from its ballot to that checkpoint")));
      if (!included) receiptProblems.push(T("its proof no longer leads from its ballot to the checkpoint WeGO signed"));
    }

    // -- the receipt against the record
    var index = input.kind === "receipt" ? input.index : position;
    var atIndex = index >= 0 && index < total && toHex(leaves[index]) === leafHex;
    if (input.kind === "receipt") {
      checks.push(new Check(atIndex, T("Ballot %(number)s of the record is this receipt's ballot", { number: N(index + 1) })));
    } else if (input.kind === "leaf") {
      checks.push(new Check(position >= 0, position >= 0 ? T("This ballot is in the record as ballot %(number)s", { number: N(position + 1) })
                                                          : T("This ballot is in the record")));
      checks.push(new Check(null, T("The QR code does not hold WeGO's signed checkpoint; open the receipt file to check it too")));
    } else {
      checks.push(new Check(null, T("Your signed envelope was not checked: a tracker alone does not name it. Paste the whole receipt file to check it too")));
    }
    var misplaced = position >= 0 && position !== index;

    var consistent = true;
    if (input.kind === "receipt") {
      var rc = input.checkpoint;
      var sameSize = (Array.isArray(entry.checkpoints) ? entry.checkpoints : []).filter(function (c) { return c && c.size === rc.size; })[0];
      var sameCheckpoint = !!sameSize && canonicalize(sameSize) === canonicalize(rc.json);
      consistent = rc.size <= total && sameCheckpoint &&
                   sameBytes(await treeHash(leaves, 0, rc.size), rc.rootBytes);
      checks.push(new Check(consistent, rc.size === 1 ? T("The receipt's checkpoint matches the first ballot of the record")
        : P("The receipt's checkpoint matches the first %(num)s ballot of the record", "The receipt's checkpoint matches the first %(num)s ballots of the record", rc.size)));
    }

    var final = cert.body.checkpoint || {};
    var certRoot = final.size === total && typeof final.root === "string" && HEX64.test(final.root) &&
                   sameBytes(await treeHash(leaves, 0, total), fromHex(final.root)) && final.origin === def.origin;
    checks.push(new Check(certRoot, P("The record's %(num)s ballot gives the root the chair certified", "The record's %(num)s ballots give the root the chair certified", total)));

    var certSigned = await certificateSigned(record, cert, orgSpki, ref);
    if (certSigned === null) {
      sigUnchecked = true;
      checks.push(new Check(null, T("The certificate's signatures could not be checked in this browser")));
    } else {
      checks.push(new Check(certSigned, T("The certificate is signed by WeGO and by the chair")));
    }

    // -- a secret vote: the sealed ballots, the tracker among them, and the count of them
    var secret = !!(def.secret && typeof def.secret === "object");
    var sealed = null;
    if (secret || input.tracker) {
      sealed = await checkSealed(record, ref, def, cert, total, input.tracker, orgSpki, checks);
      if (sealed.signed === null) sigUnchecked = true;
    }

    // -- the verdict, the most telling failure first
    var number = N((input.kind === "receipt" ? index : position) + 1);
    var headline = T("Included as ballot %(number)s of %(total)s in the certified result of %(where)s",
                     { number: number, total: N(total), where: whereWords(def) });
    var question = " (" + def.question + ").";
    if (receiptProblems.length) {
      var reasons = [];
      if (misplaced) {
        reasons.push(T("it names ballot %(named)s, but its ballot is ballot %(number)s of the record", { named: N(index + 1), number: N(position + 1) }));
      } else if (position < 0) {
        reasons.push(T("its ballot is not in the published record of vote %(ref)s", { ref: ref }));
      }
      return done(new Verdict("bad", T("The receipt was changed:"),
        T("A receipt as WeGO issued it always passes these checks. Use the file saved on the phone that voted."), checks,
        " " + reasons.concat(receiptProblems).join("; ") + "."), source);
    }
    if (!recordLog) {
      return done(new Verdict("bad", T("This receipt is of another log than the record's vote %(ref)s.", { ref: ref }),
        T("Its checkpoint names the log “%(origin)s”; the record's vote is logged as “%(logged)s”. The receipt may come from another server.",
          { origin: input.checkpoint.origin, logged: def.origin }), checks), source);
    }
    if (position < 0 && !byTracker) {
      return done(new Verdict("bad", T("This receipt's ballot is not in the published record of vote %(ref)s.", { ref: ref }), input.kind === "receipt"
        ? T("WeGO signed that this ballot was logged, yet the published record lacks it. Keep this receipt and show it to the Secretariat and the observers.")
        : T("Check that the QR code is of a receipt of this vote."), checks), source);
    }
    if (input.kind === "receipt" && !atIndex) {
      return done(new Verdict("bad", T("The published record does not match this receipt: it has this receipt's ballot as ballot %(number)s, not ballot %(named)s.",
        { number: N(position + 1), named: N(index + 1) }),
        T("Keep this receipt and show it to the Secretariat and the observers."), checks), source);
    }
    if (!consistent) {
      return done(new Verdict("bad", T("The published record of vote %(ref)s does not match the checkpoint WeGO signed for this receipt.", { ref: ref }),
        T("Ballots logged before this one were changed or removed after the receipt was given. Keep this receipt and show it to the observers."),
        checks), source);
    }
    if (!certRoot) {
      return done(new Verdict("bad", T("The certified result of vote %(ref)s does not match the ballots in the published record.", { ref: ref }), "", checks), source);
    }
    if (certSigned === false) {
      return done(new Verdict("bad", T("The certificate of vote %(ref)s is not validly signed.", { ref: ref }), "", checks), source);
    }
    if (sealed) {
      var failed = sealedVerdict(sealed, ref, input, def, question);
      if (failed) { failed.checks = checks; return done(failed, source); }
    }
    var code = input.kind === "receipt" ? shortCode(input.leaf) : "";
    if (sealed && sealed.found !== null && sealed.found >= 0) {
      // A secret vote whose sealed ballot was found: what a delegate wants to know, in their words.
      var sealedHeadline = T("Your sealed vote is in the count of %(where)s", { where: whereWords(def) });
      var words = byTracker
        ? P("Tracker %(tracker)s is the only sealed ballot, %(num)s in all, that the tellers opened and counted.",
            "Tracker %(tracker)s is one of the %(num)s sealed ballots that the tellers opened and counted.",
            sealed.size, { tracker: shortCode(fromHex(input.tracker)) })
        : P("Your sealed vote, tracker %(tracker)s, is the only sealed ballot, %(num)s in all, that the tellers opened and counted, and your signed envelope is ballot %(number)s of %(total)s.",
            "Your sealed vote, tracker %(tracker)s, is one of the %(num)s sealed ballots that the tellers opened and counted, and your signed envelope is ballot %(number)s of %(total)s.",
            sealed.size, { number: number, total: N(total), tracker: shortCode(fromHex(input.tracker)) });
      if (code) words += " " + T("Receipt %(code)s.", { code: code });
      return done(new Verdict(sigUnchecked ? "warn" : "ok", sealedHeadline, sigUnchecked
        ? words + " " + T("This browser cannot check Ed25519 signatures, so WeGO's signatures were not checked. The checks marked ✓ passed. For a full check, open this page in a current Chrome, Safari or Firefox, or run the verifier below.")
        : words + " " + T("Every check below was done in this browser."), checks, question, true), source);
    }
    if (secret) {
      // The envelope holds, but no tracker was given: the sealed vote itself was not looked for.
      return done(new Verdict("warn", T("Your envelope is included as ballot %(number)s of %(total)s in the certified result of %(where)s",
        { number: number, total: N(total), where: whereWords(def) }),
        T("This is a secret vote: your choice was sealed apart from your envelope. To check that your sealed vote is in the count, open the receipt file saved on the phone that voted, or check the receipt under “Receipts on this phone”: they hold your tracker."),
        checks, question, true), source);
    }
    if (sigUnchecked) {
      return done(new Verdict("warn", headline,
        T("This browser cannot check Ed25519 signatures, so WeGO's signatures were not checked. The checks marked ✓ passed. For a full check, open this page in a current Chrome, Safari or Firefox, or run the verifier below."), checks, question),
        source);
    }
    return done(new Verdict("ok", headline, input.kind === "receipt"
      ? T("Receipt %(code)s. Every check below was done in this browser.", { code: code }) : T("Every check below was done in this browser."),
      checks, question), source);
  }

  /* ------------------------------------------------------------------ secret votes: the sealed ballots */

  /* The record's sealed ballots of a vote, as bytes; null where the record has none or one is garbled. */
  function sealedOf(record, ref) {
    var votes = record.secret && typeof record.secret === "object" ? record.secret.votes : null;
    var part = votes && typeof votes === "object" && Object.prototype.hasOwnProperty.call(votes, ref) ? votes[ref] : null;
    if (!part || typeof part !== "object" || !Array.isArray(part.sealed)) return null;
    var bytes = part.sealed.map(b64urlDecode);
    if (bytes.some(function (b) { return !b || !b.length; })) return null;
    return { part: part, bytes: bytes };
  }
  /* The trackers of the record's sealed ballots whose tracker code is the one given. */
  async function trackersOfCode(record, code) {
    var votes = record.secret && typeof record.secret === "object" && record.secret.votes;
    if (!votes || typeof votes !== "object") return [];
    var out = [];
    var refs = Object.keys(votes);
    for (var i = 0; i < refs.length; i++) {
      var s = sealedOf(record, refs[i]);
      if (!s) continue;
      var hashes = await Promise.all(s.bytes.map(sha256));
      hashes.forEach(function (h) { if (shortCode(h) === code && out.indexOf(toHex(h)) < 0) out.push(toHex(h)); });
    }
    return out;
  }
  /* Which secret vote of the record holds the sealed ballot whose SHA-256 is the tracker. */
  async function voteOfTracker(record, trackerHex) {
    var votes = record.secret && typeof record.secret === "object" && record.secret.votes;
    if (!votes || typeof votes !== "object") return null;
    var refs = Object.keys(votes);
    for (var i = 0; i < refs.length; i++) {
      var s = sealedOf(record, refs[i]);
      if (!s) continue;
      var hashes = await Promise.all(s.bytes.map(sha256));
      if (hashes.some(function (h) { return toHex(h) === trackerHex; })) return refs[i];
    }
    return null;
  }

  /* A secret vote's sealed ballots against its definition and certificate (CRYPTO_DESIGN.md "Secret
     ballots"): the tracker's sealed ballot is there, the sealed log's root and WeGO's checkpoint of
     it, as many sealed ballots as signed envelopes, and the certificate says the same. Pushes the
     checks; what it found, for the verdict. Never reads or shows any choice beside a tracker. */
  async function checkSealed(record, ref, def, cert, envelopes, trackerHex, orgSpki, checks) {
    var out = { secret: !!(def.secret && typeof def.secret === "object"), missing: false, found: null, size: 0,
                logOk: false, signed: false, countOk: false, certOk: false, openedOk: false, tracker: trackerHex };
    var code = trackerHex ? shortCode(fromHex(trackerHex)) : "";
    if (!out.secret) {
      checks.push(new Check(false, T("Vote %(ref)s is a secret ballot, as the receipt's tracker says", { ref: ref })));
      return out;
    }
    var s = sealedOf(record, ref);
    if (!s) {
      out.missing = true;
      checks.push(new Check(false, T("The record holds the sealed ballots of secret vote %(ref)s", { ref: ref })));
      return out;
    }
    var n = out.size = s.bytes.length;
    var leaves = await Promise.all(s.bytes.map(leafHash));   // RFC 6962: SHA-256(0x00 || sealed)
    if (trackerHex) {
      var trackers = await Promise.all(s.bytes.map(sha256));
      out.found = -1;
      for (var i = 0; i < n; i++) if (toHex(trackers[i]) === trackerHex) { out.found = i; break; }
      checks.push(new Check(out.found >= 0, P("Your sealed vote (tracker %(code)s) is among the record's %(num)s sealed ballot",
        "Your sealed vote (tracker %(code)s) is among the record's %(num)s sealed ballots", n, { code: code })));
    } else {
      checks.push(new Check(null, T("Your sealed vote was not looked for: this receipt holds no tracker. The receipt file saved on the phone that voted holds it")));
    }

    // The sealed log WeGO signed at the close: its origin, size and root, from the sealed ballots.
    var cp = null;
    try { cp = readCheckpoint(s.part.checkpoint); } catch (e) { cp = null; }
    out.logOk = !!cp && cp.origin === def.origin + "/sealed" && cp.size === n &&
                sameBytes(await treeHash(leaves, 0, n), cp.rootBytes);
    checks.push(new Check(out.logOk, P("The record's %(num)s sealed ballot gives the root of the sealed log's checkpoint",
      "The record's %(num)s sealed ballots give the root of the sealed log's checkpoint", n)));
    out.signed = cp ? await verifySignature(orgSpki, CHECKPOINT_LABEL, checkpointBody(cp), cp.signature) : false;
    if (out.signed === null) {
      checks.push(new Check(null, T("WeGO's signature on the sealed log's checkpoint could not be checked in this browser")));
    } else {
      checks.push(new Check(out.signed, T("The sealed log's checkpoint is signed by WeGO")));
    }

    // One sealed ballot per signed envelope: no sealed ballot added or dropped.
    out.countOk = n === envelopes;
    checks.push(new Check(out.countOk, T("There are as many sealed ballots (%(sealed)s) as signed envelopes (%(envelopes)s)",
      { sealed: N(n), envelopes: N(envelopes) })));

    // The certificate counts these very sealed ballots.
    var body = cert.body, said = body.sealed && typeof body.sealed === "object" ? body.sealed : null;
    out.certOk = body.method === "sealed-ballots" && !!said && said.sealed === n && said.envelopes === envelopes &&
                 !!s.part.checkpoint && canonicalize(said.checkpoint) === canonicalize(s.part.checkpoint);
    checks.push(new Check(out.certOk, P("The certificate counts the same %(num)s sealed ballot, of the same sealed log",
      "The certificate counts the same %(num)s sealed ballots, of the same sealed log", n)));

    // What the tellers opened covers every sealed ballot, as certified (only how many: never which).
    var opening = s.part.opening;
    out.openedOk = !!opening && typeof opening === "object" && Array.isArray(opening.choices) && isSize(opening.invalid) &&
                   opening.choices.length + opening.invalid === n && !!said && said.invalid === opening.invalid &&
                   said.choices_sha256 === toHex(await sha256(enc.encode(canonicalize(opening.choices))));
    checks.push(new Check(out.openedOk, P("The tellers opened all %(num)s sealed ballot, as the certificate says",
      "The tellers opened all %(num)s sealed ballots, as the certificate says", n)));
    return out;
  }

  /* The verdict of a failed sealed-ballot check, the most telling failure first; null when all held. */
  function sealedVerdict(s, ref, input, def, question) {
    var code = s.tracker ? shortCode(fromHex(s.tracker)) : "";
    if (!s.secret) {
      return new Verdict("bad", T("This receipt names a tracker, but vote %(ref)s is not a secret ballot.", { ref: ref }),
        T("Only receipts of secret votes hold a tracker: this receipt was changed. Use the file saved on the phone that voted."));
    }
    if (s.missing) {
      return new Verdict("bad", T("The published record lacks the sealed ballots of secret vote %(ref)s.", { ref: ref }),
        T("Without them no sealed vote can be checked. Tell the Secretariat and the observers."));
    }
    if (s.found !== null && s.found < 0) {
      return new Verdict("bad", T("Your sealed vote is not in the published record of %(where)s", { where: whereWords(def) }),
        (input.kind === "tracker" ? "" : T("Your signed envelope is there, so your vote was received, but no sealed ballot of this vote has your tracker %(code)s.", { code: code }) + " ") +
        T("Check that the tracker is the one your phone showed when you voted: use the receipt file saved on that phone. If it is, keep this receipt and show it to the Secretariat and the observers."),
        [], question);
    }
    if (!s.logOk) {
      return new Verdict("bad", T("The sealed ballots in the published record do not match the sealed log WeGO signed for vote %(ref)s.", { ref: ref }),
        T("Sealed ballots were changed, added or removed after the close. Keep this receipt and show it to the observers."));
    }
    if (s.signed === false) {
      return new Verdict("bad", T("The sealed log's checkpoint of vote %(ref)s does not carry WeGO's signature.", { ref: ref }));
    }
    if (!s.countOk) {
      return new Verdict("bad", T("The published record of vote %(ref)s does not have one sealed ballot per signed envelope.", { ref: ref }),
        T("A count is right only when each member who voted has exactly one sealed ballot in it. Tell the Secretariat and the observers."));
    }
    if (!s.certOk) {
      return new Verdict("bad", T("The certificate of vote %(ref)s does not count the sealed ballots of the published record.", { ref: ref }));
    }
    if (!s.openedOk) {
      return new Verdict("bad", T("What the tellers opened does not match the certificate of vote %(ref)s.", { ref: ref }));
    }
    return null;
  }

  /* The certificate's organization and chair signatures over "wego-certificate/v1\n" || JCS(body). */
  async function certificateSigned(record, cert, orgSpki, ref) {
    var sigs = cert.signatures || {}, body = cert.body;
    var org = sigs.organization || {}, chair = sigs.chair || {};
    if (body.vote !== ref || !orgSpki || (await keyIdOf(orgSpki)) !== (record.organization || {}).key_id ||
        org.key_id !== record.organization.key_id || !body.chair || chair.key_id !== body.chair.key_id) {
      return false;
    }
    var enrol = (Array.isArray(record.registry) ? record.registry : []).filter(function (e) {
      return e && e.kind === "enrol" && e.key_id === chair.key_id;
    })[0];
    var chairSpki = enrol ? b64urlDecode(enrol.public_key) : null;
    if (!chairSpki || (await keyIdOf(chairSpki)) !== chair.key_id) return false;
    var message = enc.encode(canonicalize(body));
    var cpJson;
    try { cpJson = readCheckpoint(body.checkpoint); } catch (e) { return false; }
    return both(both(await verifySignature(orgSpki, CERTIFICATE_LABEL, message, b64urlDecode(org.signature)),
                     await verifySignature(chairSpki, CERTIFICATE_LABEL, message, b64urlDecode(chair.signature))),
                await verifySignature(orgSpki, CHECKPOINT_LABEL, checkpointBody(cpJson), cpJson.signature));
  }

  /* ------------------------------------------------------------------ showing it */

  var result = document.getElementById("rc-result");
  var verdictEl = document.getElementById("rc-verdict");
  var detailEl = document.getElementById("rc-detail");
  var checksEl = document.getElementById("rc-checks");
  var sourceEl = document.getElementById("rc-source");
  var secretEl = document.getElementById("rc-secret");
  var progressEl = document.getElementById("rc-progress");
  var inputError = document.getElementById("rc-input-error");
  var checkButton = document.getElementById("rc-check");

  function progress(text) { progressEl.textContent = text; }
  function done(verdict, source) { verdict.source = source; return verdict; }

  function show(verdict) {
    progress("");
    result.hidden = false;
    result.className = "card rc-result rc-" + verdict.tone;
    verdictEl.textContent = "";
    var words = document.createElement("span"), lead = document.createElement("strong");
    lead.textContent = verdict.title;
    words.appendChild(lead);
    if (verdict.rest) {
      var rest = document.createElement("span");
      rest.className = "rc-rest"; rest.textContent = verdict.rest;
      words.appendChild(rest);
    }
    verdictEl.appendChild(words);
    detailEl.textContent = verdict.detail;
    detailEl.hidden = !verdict.detail;
    secretEl.hidden = !verdict.secret;   // its words are in the page (verify.html): no choice is ever shown
    while (checksEl.firstChild) checksEl.removeChild(checksEl.firstChild);
    verdict.checks.forEach(function (c) {
      var li = document.createElement("li"), mark = document.createElement("span");
      var text = document.createElement("span"), said = document.createElement("span");
      li.className = c.ok === true ? "rc-pass" : c.ok === false ? "rc-fail" : "rc-skip";
      mark.className = "rc-mark"; mark.setAttribute("aria-hidden", "true");
      mark.textContent = c.ok === true ? "✓" : c.ok === false ? "✗" : "–";
      said.className = "visually-hidden";   // what the mark says, for screen readers
      said.textContent = (c.ok === true ? T("Passed:") : c.ok === false ? T("Failed:") : T("Not checked:")) + " ";
      text.className = "rc-text";
      text.appendChild(said); text.appendChild(document.createTextNode(c.text));
      li.appendChild(mark); li.appendChild(text);
      checksEl.appendChild(li);
    });
    checksEl.previousElementSibling.hidden = verdict.checks.length === 0;
    while (sourceEl.firstChild) sourceEl.removeChild(sourceEl.firstChild);
    if (verdict.source) {
      sourceEl.appendChild(document.createTextNode(T("Checked against the published record of %(meeting)s.", { meeting: verdict.source.meeting }) + " "));
      var a = document.createElement("a");
      a.href = verdict.source.url; a.textContent = T("Download the record (JSON)");
      sourceEl.appendChild(a);
    }
    verdictEl.focus();
  }

  var busy = false;
  function run(text) {
    if (busy) return;
    inputError.hidden = true;
    var input;
    try {
      input = readInput(text);
    } catch (err) {
      if (!(err instanceof NotAReceipt)) throw err;
      result.hidden = true;
      inputError.textContent = T("This is not a receipt: %(reason)s", { reason: err.message });
      inputError.hidden = false;
      return;
    }
    busy = true; checkButton.disabled = true;
    result.hidden = true;   // never show an earlier verdict beside a new receipt
    check(input).catch(function (err) {
      if (err instanceof Verdict) return err;
      return new Verdict("bad", T("The check could not be finished: %(reason)s", { reason: err && err.message ? err.message : err }), T("Try again in a moment."));
    }).then(function (verdict) {
      show(verdict);
    }).then(function () { busy = false; checkButton.disabled = false; });
  }

  /* ------------------------------------------------------------------ paste, file, drop */

  var form = document.getElementById("rc-form");
  var textarea = document.getElementById("rc-text");
  var fileInput = document.getElementById("rc-file");
  var drop = document.getElementById("rc-drop");
  form.addEventListener("submit", function (ev) { ev.preventDefault(); run(textarea.value); });

  function readFile(file) {
    if (!file) return;
    if (file.size > MAX_FILE) {
      inputError.textContent = T("This file is too large to be a receipt."); inputError.hidden = false; return;
    }
    file.text().then(function (text) { textarea.value = text; run(text); }, function () {
      inputError.textContent = T("The file could not be read."); inputError.hidden = false;
    });
  }
  fileInput.addEventListener("change", function () { readFile(fileInput.files[0]); });
  ["dragenter", "dragover"].forEach(function (name) {
    form.addEventListener(name, function (ev) { ev.preventDefault(); drop.classList.add("rc-dragging"); });
  });
  ["dragleave", "drop"].forEach(function (name) {
    form.addEventListener(name, function () { drop.classList.remove("rc-dragging"); });
  });
  form.addEventListener("drop", function (ev) {
    ev.preventDefault();
    var files = ev.dataTransfer && ev.dataTransfer.files;
    if (files && files.length) readFile(files[0]);
  });

  /* ------------------------------------------------------------------ receipts kept on this phone */

  function storedReceipts() {
    if (!window.indexedDB) return Promise.resolve([]);
    // Do not create the phone's receipt store where it does not exist yet.
    var exists = indexedDB.databases ? indexedDB.databases().then(function (list) {
      return list.some(function (d) { return d.name === RECEIPTS_DB; });
    }, function () { return true; }) : Promise.resolve(true);
    return exists.then(function (yes) {
      if (!yes) return [];
      return new Promise(function (resolve) {
        var req = indexedDB.open(RECEIPTS_DB, 1);
        // As vote.js creates it, so that the ballot page still finds its store.
        req.onupgradeneeded = function () { req.result.createObjectStore("receipts", { keyPath: "leaf" }); };
        req.onerror = function () { resolve([]); };
        req.onsuccess = function () {
          var db = req.result;
          try {
            var all = db.transaction("receipts").objectStore("receipts").getAll();
            all.onsuccess = function () { db.close(); resolve(all.result || []); };
            all.onerror = function () { db.close(); resolve([]); };
          } catch (e) { db.close(); resolve([]); }
        };
      });
    }).catch(function () { return []; });
  }

  storedReceipts().then(function (rows) {
    rows = rows.filter(function (r) { return r && r.answer && r.answer.receipt; });
    if (!rows.length) return;
    rows.sort(function (a, b) { return (Date.parse(b.savedAt) || 0) - (Date.parse(a.savedAt) || 0); });
    var list = document.getElementById("rc-stored-list");
    rows.forEach(function (row) {
      var a = row.answer, v = a.vote || {};
      var li = document.createElement("li"), text = document.createElement("div");
      li.className = "rc-stored-item"; text.className = "rc-stored-text";
      var code = document.createElement("p"); code.className = "rc-stored-code"; code.textContent = a.short_code || "";
      var q = document.createElement("p"); q.className = "rc-stored-question"; q.textContent = v.question || T("Vote %(ref)s", { ref: v.ref || "" });
      var where = document.createElement("p"); where.className = "muted";
      where.textContent = [v.meeting, v.agenda_item ? agendaWords(v.agenda_item, v.round) : "",
                           a.ballot_number ? T("Ballot %(number)s", { number: N(a.ballot_number) }) : ""].filter(Boolean).join(" · ");
      var tracker = typeof a.tracker === "string" && HEX64.test(a.tracker) ? a.tracker : null, secretLine = null;
      if (tracker || a.secret) {
        secretLine = document.createElement("p"); secretLine.className = "muted rc-stored-tracker";
        secretLine.textContent = tracker ? T("Secret ballot · your tracker: %(code)s", { code: shortCode(fromHex(tracker)) })
                                         : T("Secret ballot · no tracker kept with this receipt");
      }
      var b = document.createElement("button");
      b.type = "button"; b.className = "button"; b.textContent = T("Check");
      b.setAttribute("aria-label", T("Check receipt %(code)s: %(question)s", { code: a.short_code || "", question: v.question || "" }));
      b.addEventListener("click", function () {
        // As vote.js writes a receipt file: a secret vote's with its tracker beside the receipt.
        var file = {};
        for (var k in a.receipt) file[k] = a.receipt[k];
        if (tracker) file.tracker = tracker;
        textarea.value = JSON.stringify(file, null, 1);
        run(textarea.value);
      });
      text.appendChild(code); text.appendChild(q); text.appendChild(where);
      if (secretLine) text.appendChild(secretLine);
      li.appendChild(text); li.appendChild(b); list.appendChild(li);
    });
    document.getElementById("rc-stored").hidden = false;
  });

  /* ------------------------------------------------------------------ scanning a receipt's QR code */

  var scanButton = document.getElementById("rc-scan");
  var camera = document.getElementById("rc-camera");
  var video = document.getElementById("rc-video");
  var cameraHelp = document.getElementById("rc-camera-help");
  var stream = null, scanning = false;

  function stopCamera() {
    scanning = false;
    if (stream) stream.getTracks().forEach(function (t) { t.stop(); });
    stream = null; video.srcObject = null;
    camera.hidden = true;
  }
  async function scan() {
    var detector = new window.BarcodeDetector({ formats: ["qr_code"] });
    result.hidden = true;
    camera.hidden = false;
    camera.scrollIntoView({ block: "start" });
    cameraHelp.textContent = T("Point the camera at the QR code of the receipt.");
    try {
      stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" }, audio: false });
    } catch (err) {
      camera.hidden = true;
      inputError.textContent = err && err.name === "NotAllowedError"
        ? T("The camera was not allowed. Paste the receipt or open its file instead.")
        : T("The camera could not be started. Paste the receipt or open its file instead.");
      inputError.hidden = false;
      return;
    }
    video.srcObject = stream;
    await video.play().catch(function () {});
    camera.scrollIntoView({ block: "start" });   // now that the video has its height
    document.getElementById("rc-scan-stop").focus({ preventScroll: true });
    scanning = true;
    while (scanning) {
      var codes = [];
      try { codes = await detector.detect(video); } catch (e) { codes = []; }
      if (!scanning) return;
      if (codes.length && codes[0].rawValue) {
        stopCamera();
        textarea.value = codes[0].rawValue;
        run(codes[0].rawValue);
        return;
      }
      await new Promise(function (r) { setTimeout(r, 200); });
    }
  }
  if ("BarcodeDetector" in window && navigator.mediaDevices && navigator.mediaDevices.getUserMedia) {
    Promise.resolve(window.BarcodeDetector.getSupportedFormats ? window.BarcodeDetector.getSupportedFormats() : [])
      .then(function (formats) { scanButton.hidden = formats.indexOf("qr_code") < 0; }, function () {});
  }
  scanButton.addEventListener("click", function () { inputError.hidden = true; scan(); });
  document.getElementById("rc-scan-stop").addEventListener("click", function () { stopCamera(); scanButton.focus(); });
  camera.addEventListener("keydown", function (ev) { if (ev.key === "Escape") { stopCamera(); scanButton.focus(); } });

  /* The pure functions, for the tests that compare them with ballots/log.py (hex in, verdicts out). */
  window.WeGO = window.WeGO || {};
  window.WeGO.receiptCheck = {
    verifyInclusion: function (leafHex, index, size, proofHex, rootHex) {
      return verifyInclusion(fromHex(leafHex), index, size, proofHex.map(fromHex), fromHex(rootHex));
    },
    merkleRoot: function (leavesHex) {
      return treeHash(leavesHex.map(fromHex), 0, leavesHex.length).then(toHex);
    },
    ballotLeaf: function (ballotText, signatureB64url, keyId) {
      return leafHash(ballotEntry(enc.encode(ballotText), b64urlDecode(signatureB64url), keyId)).then(toHex);
    }
  };

  /* ------------------------------------------------------------------ a receipt QR's address, opened here */

  /* A secret vote's QR address ends in #t=<tracker>: a fragment, which the browser never sends to
     the server (the redirect from /r/... keeps it). */
  function fromAddress() {
    var params = new URLSearchParams(location.search);
    var fragment = /^#t=([0-9a-f]{64})$/.exec(location.hash);
    if (/^[1-9][0-9]*$/.test(params.get("vote") || "") && HEX64.test(params.get("leaf") || "")) {
      textarea.value = location.origin + "/r/" + params.get("vote") + "/" + params.get("leaf") + (fragment ? "#t=" + fragment[1] : "");
      run(textarea.value);
    } else if (fragment && root.dataset.scopeRecord) {
      textarea.value = fragment[1];
      run(textarea.value);
    }
  }
  fromAddress();
  window.addEventListener("hashchange", function () { if (/^#t=/.test(location.hash)) fromAddress(); });
})();
