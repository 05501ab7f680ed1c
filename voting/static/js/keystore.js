/* WeGO Voting: the device signing key. Created in this browser with WebCrypto (Ed25519, or ECDSA
   P-256 where Ed25519 is missing), private part non-extractable, kept in IndexedDB. Only the public
   key ever leaves the phone. See docs/crypto-formats.md for the exact bytes. */
(function () {
  "use strict";
  var DB_NAME = "wego-voting", STORE = "keys";
  var enc = new TextEncoder();

  /* The page's language (voting/i18n.py): its messages come in a JSON data block, <script
     type="application/json" id="i18n">, which is never executed, so the CSP allows it. A message
     missing there is shown in English, as the scripts write it in their calls of T and P. */
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
    return { lang: lang, t: t, p: p, n: n };
  })();
  var T = i18n.t;

  function b64url(bytes) {
    var s = "", b = new Uint8Array(bytes);
    for (var i = 0; i < b.length; i++) s += String.fromCharCode(b[i]);
    return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }
  function b64urlDecode(text) {
    var s = atob(text.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((text.length + 3) % 4));
    var out = new Uint8Array(s.length);
    for (var i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
    return out;
  }
  function base32lower(bytes) {
    var alphabet = "abcdefghijklmnopqrstuvwxyz234567", b = new Uint8Array(bytes), out = "", bits = 0, value = 0;
    for (var i = 0; i < b.length; i++) {
      value = (value << 8) | b[i]; bits += 8;
      while (bits >= 5) { out += alphabet[(value >>> (bits - 5)) & 31]; bits -= 5; }
    }
    if (bits > 0) out += alphabet[(value << (5 - bits)) & 31];
    return out;
  }
  function hex(bytes) {
    return Array.prototype.map.call(new Uint8Array(bytes), function (x) { return ("0" + x.toString(16)).slice(-2); }).join("");
  }

  /* RFC 8785 canonical JSON: keys sorted by UTF-16 code units, ECMAScript serialization of values. */
  function canonicalize(value) {
    if (value === null || typeof value !== "object") return JSON.stringify(value);
    if (Array.isArray(value)) return "[" + value.map(canonicalize).join(",") + "]";
    return "{" + Object.keys(value).sort().map(function (k) {
      return JSON.stringify(k) + ":" + canonicalize(value[k]);
    }).join(",") + "}";
  }

  function concat(a, b) {
    var out = new Uint8Array(a.length + b.length); out.set(a, 0); out.set(b, a.length); return out;
  }

  function openDb() {
    return new Promise(function (resolve, reject) {
      if (!window.indexedDB) { reject(new Error(T("This browser cannot store keys (no IndexedDB). Try Chrome, Safari or Firefox, not a private window."))); return; }
      var req = indexedDB.open(DB_NAME, 1);
      req.onupgradeneeded = function () { req.result.createObjectStore(STORE, { keyPath: "holder" }); };
      req.onsuccess = function () { resolve(req.result); };
      req.onerror = function () { reject(new Error(T("This browser refused to store the key (private browsing?)."))); };
    });
  }
  function tx(mode, fn) {
    return openDb().then(function (db) {
      return new Promise(function (resolve, reject) {
        var t = db.transaction(STORE, mode), store = t.objectStore(STORE), result;
        var req = fn(store);
        if (req) req.onsuccess = function () { result = req.result; };
        t.oncomplete = function () { db.close(); resolve(result); };
        t.onerror = function () { db.close(); reject(t.error || new Error(T("This browser could not use its key store."))); };
      });
    });
  }

  function generate() {
    var subtle = window.crypto && window.crypto.subtle;
    if (!subtle) return Promise.reject(new Error(T("This page must be opened over https (or on this computer) to create a key.")));
    return subtle.generateKey({ name: "Ed25519" }, false, ["sign", "verify"]).then(function (pair) {
      return { pair: pair, algorithm: "Ed25519" };
    }, function () {
      return subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, false, ["sign", "verify"]).then(function (pair) {
        return { pair: pair, algorithm: "ECDSA-P256" };
      });
    }).then(function (made) {
      return subtle.exportKey("spki", made.pair.publicKey).then(function (spki) {
        return subtle.digest("SHA-256", spki).then(function (digest) {
          return {
            privateKey: made.pair.privateKey, publicKey: made.pair.publicKey, algorithm: made.algorithm,
            spki: b64url(spki), keyId: "k_" + base32lower(digest).slice(0, 26)
          };
        });
      });
    });
  }

  function sign(record, label, messageBytes) {
    var params = record.algorithm === "Ed25519" ? { name: "Ed25519" } : { name: "ECDSA", hash: "SHA-256" };
    return crypto.subtle.sign(params, record.privateKey, concat(enc.encode(label), messageBytes)).then(b64url);
  }

  function deviceLabel() {
    var ua = navigator.userAgent || "", os = "Device", browser = "browser", m;
    if (/Android/.test(ua)) os = "Android"; else if (/iPhone/.test(ua)) os = "iPhone"; else if (/iPad/.test(ua)) os = "iPad";
    else if (/Windows/.test(ua)) os = "Windows"; else if (/Mac OS X/.test(ua)) os = "Mac"; else if (/Linux/.test(ua)) os = "Linux";
    if ((m = ua.match(/Edg\/(\d+)/))) browser = "Edge " + m[1];
    else if ((m = ua.match(/(?:Chrome|Chromium|CriOS)\/(\d+)/))) browser = "Chrome " + m[1];
    else if ((m = ua.match(/(?:Firefox|FxiOS)\/(\d+)/))) browser = "Firefox " + m[1];
    else if ((m = ua.match(/Version\/(\d+).*Safari/))) browser = "Safari " + m[1];
    return os + " · " + browser;
  }

  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  }

  function postJson(url, body) {
    return fetch(url, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "Accept": "application/json", "X-CSRFToken": csrfToken() },
      body: JSON.stringify(body)
    }).then(function (resp) {
      return resp.json().catch(function () { return {}; }).then(function (data) {
        if (!resp.ok) {
          var err = new Error(data.message || T("The server answered %(status)s.", { status: resp.status }));
          err.hint = data.hint || ""; err.status = resp.status; err.data = data; throw err;
        }
        return data;
      });
    }, function () {
      var err = new Error(T("The network is not reachable.")); err.hint = T("Check the Wi-Fi and try again; nothing was lost."); throw err;
    });
  }

  window.WeGO = window.WeGO || {};
  window.WeGO.i18n = i18n;
  window.WeGO.keys = {
    generate: generate,
    sign: sign,
    save: function (record) { return tx("readwrite", function (s) { return s.put(record); }); },
    load: function (holder) { return tx("readonly", function (s) { return s.get(holder); }); },
    all: function () { return tx("readonly", function (s) { return s.getAll(); }); },
    remove: function (holder) { return tx("readwrite", function (s) { return s.delete(holder); }); },
    canonicalize: canonicalize, b64url: b64url, b64urlDecode: b64urlDecode, hex: hex,
    encode: function (text) { return enc.encode(text); },
    deviceLabel: deviceLabel, postJson: postJson
  };
})();
