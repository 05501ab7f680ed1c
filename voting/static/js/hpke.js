/* WeGO Voting: seal a secret ballot to the tellers' public key with HPKE (RFC 9180), base mode,
   suite DHKEM(X25519, HKDF-SHA256) / HKDF-SHA256 / AES-128-GCM (kem 0x0020, kdf 0x0001, aead 0x0001).
   (The design: CRYPTO_DESIGN.md, "Secret ballots".) The tellers open it with `cryptography`'s HPKE
   (Suite.decrypt), so seal() returns exactly what the single-shot Suite.encrypt returns:
   enc (32 bytes) || AES-GCM ciphertext and tag, empty aad, sequence number 0.

   Only WebCrypto does cryptography here: X25519 (deriveBits), HMAC-SHA256 and AES-GCM. This file
   only composes them as RFC 9180 says; tests/browser/test_hpke.py checks every intermediate value
   against RFC 9180 Appendix A.1.1 and opens seal()'s output with `cryptography` in Python. */
(function () {
  "use strict";
  var utf8 = new TextEncoder();

  // RFC 9180 §7: the identifiers of this suite, and the sizes they fix.
  var KEM_ID = 0x0020, KDF_ID = 0x0001, AEAD_ID = 0x0001, MODE_BASE = 0x00;
  var N_SECRET = 32, N_PK = 32, N_SK = 32, N_H = 32, N_K = 16, N_N = 12;
  // RFC 8410: PKCS#8 PrivateKeyInfo for X25519 (OID 1.3.101.110) up to the 32-byte key, the only way
  // WebCrypto imports a raw X25519 private key.
  var PKCS8_X25519_PREFIX = new Uint8Array([0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65,
    0x6e, 0x04, 0x22, 0x04, 0x20]);
  var NO_X25519 = "This browser cannot seal a secret ballot (no X25519 in WebCrypto); update the browser.";
  var NO_SUBTLE = "This page must be opened over https (or on this computer) to seal a secret ballot.";

  function fail(message, code, cause) {
    var err = new Error(message);
    err.code = code;  // stable, for a page that shows its own (translated) words
    if (cause) err.cause = cause;
    return err;
  }
  function subtle() {
    var s = window.crypto && window.crypto.subtle;
    if (!s) throw fail(NO_SUBTLE, "no-webcrypto");
    return s;
  }

  function concat() {
    var total = 0, i, out, at = 0;
    for (i = 0; i < arguments.length; i++) total += arguments[i].length;
    out = new Uint8Array(total);
    for (i = 0; i < arguments.length; i++) { out.set(arguments[i], at); at += arguments[i].length; }
    return out;
  }
  // RFC 9180 §3: I2OSP(n, w), big-endian in w bytes (here n is at most 2^16).
  function i2osp(n, w) {
    var out = new Uint8Array(w);
    for (var i = w - 1; i >= 0 && n > 0; i--) { out[i] = n & 0xff; n = Math.floor(n / 256); }
    return out;
  }
  function bytes(value, what, length) {
    if (value instanceof ArrayBuffer) value = new Uint8Array(value);
    else if (ArrayBuffer.isView(value)) value = new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
    else throw fail("HPKE: " + what + " must be bytes (a Uint8Array).", "bad-input");
    if (length !== undefined && value.length !== length) {
      throw fail("HPKE: " + what + " must be " + length + " bytes, not " + value.length + ".", "bad-input");
    }
    return value;
  }

  // RFC 9180 §4 and §4.1: suite_id is "KEM" || I2OSP(kem_id, 2) inside the KEM, and
  // "HPKE" || I2OSP(kem_id, 2) || I2OSP(kdf_id, 2) || I2OSP(aead_id, 2) in the key schedule (§5.1).
  var KEM_SUITE = concat(utf8.encode("KEM"), i2osp(KEM_ID, 2));
  var HPKE_SUITE = concat(utf8.encode("HPKE"), i2osp(KEM_ID, 2), i2osp(KDF_ID, 2), i2osp(AEAD_ID, 2));
  var HPKE_V1 = utf8.encode("HPKE-v1");
  var EMPTY = new Uint8Array(0);

  // HKDF (RFC 5869) on WebCrypto's HMAC-SHA256. WebCrypto's own "HKDF" always runs Extract and Expand
  // together, but RFC 9180's labeled steps need each alone, with different inputs.
  function hmac(key, data) {
    return subtle().importKey("raw", key, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]).then(function (k) {
      return subtle().sign("HMAC", k, data);
    }).then(function (mac) { return new Uint8Array(mac); });
  }
  function extract(salt, ikm) {
    // RFC 5869 §2.2: an absent salt is HashLen zero bytes. HMAC pads its key with zeros, so that is the
    // same as the empty salt RFC 9180 passes, and WebCrypto refuses an empty HMAC key.
    return hmac(salt.length ? salt : new Uint8Array(N_H), ikm);
  }
  function expand(prk, info, length) {
    // RFC 5869 §2.3: T(i) = HMAC(PRK, T(i-1) || info || i), output the first `length` bytes.
    if (length > 255 * N_H) return Promise.reject(fail("HPKE: HKDF-Expand cannot give " + length + " bytes.", "bad-input"));
    var out = new Uint8Array(0), previous = EMPTY, counter = 0;
    function step() {
      if (out.length >= length) return Promise.resolve(out.slice(0, length));
      counter += 1;
      return hmac(prk, concat(previous, info, new Uint8Array([counter]))).then(function (t) {
        previous = t; out = concat(out, t); return step();
      });
    }
    return step();
  }
  // RFC 9180 §4: LabeledExtract(salt, label, ikm) = Extract(salt, "HPKE-v1" || suite_id || label || ikm)
  function labeledExtract(suite, salt, label, ikm) {
    return extract(salt, concat(HPKE_V1, suite, utf8.encode(label), ikm));
  }
  // RFC 9180 §4: LabeledExpand(prk, label, info, L) = Expand(prk, I2OSP(L, 2) || "HPKE-v1" || suite_id ||
  // label || info, L)
  function labeledExpand(suite, prk, label, info, length) {
    return expand(prk, concat(i2osp(length, 2), HPKE_V1, suite, utf8.encode(label), info), length);
  }

  // -- X25519 through WebCrypto
  function importPublic(pk) {
    return subtle().importKey("raw", pk, { name: "X25519" }, true, []).catch(function (e) {
      throw fail(NO_X25519, "no-x25519", e);
    });
  }
  function importPrivate(sk, extractable) {
    return subtle().importKey("pkcs8", concat(PKCS8_X25519_PREFIX, sk), { name: "X25519" }, extractable, ["deriveBits"])
      .catch(function (e) { throw fail(NO_X25519, "no-x25519", e); });
  }
  function b64urlDecode(text) {
    var s = atob(text.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((text.length + 3) % 4));
    var out = new Uint8Array(s.length);
    for (var i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
    return out;
  }

  // A fresh ephemeral key pair; the private half never leaves WebCrypto (non-extractable).
  function generateEphemeral() {
    return subtle().generateKey({ name: "X25519" }, false, ["deriveBits"]).catch(function (e) {
      throw fail(NO_X25519, "no-x25519", e);
    }).then(function (pair) {
      return subtle().exportKey("raw", pair.publicKey).then(function (pk) {
        return { privateKey: pair.privateKey, publicKey: new Uint8Array(pk) };
      });
    });
  }
  // RFC 9180 §7.1.3, DeriveKeyPair for X25519 (tests only: a known ephemeral key gives known answers):
  // dkp_prk = LabeledExtract("", "dkp_prk", ikm); sk = LabeledExpand(dkp_prk, "sk", "", Nsk).
  // The public key is read from the private key's JWK ("x", RFC 8037), so WebCrypto computes it.
  function deriveEphemeral(ikm) {
    return labeledExtract(KEM_SUITE, EMPTY, "dkp_prk", ikm).then(function (prk) {
      return labeledExpand(KEM_SUITE, prk, "sk", EMPTY, N_SK);
    }).then(function (sk) {
      return importPrivate(sk, true).then(function (key) {
        return subtle().exportKey("jwk", key).then(function (jwk) {
          return importPrivate(sk, false).then(function (privateKey) {
            return { privateKey: privateKey, publicKey: b64urlDecode(jwk.x) };
          });
        });
      });
    });
  }

  // RFC 9180 §4.1, DHKEM Encap: dh = DH(skE, pkR); enc = pkE; kem_context = enc || pkR;
  // shared_secret = ExtractAndExpand(dh, kem_context).
  function encap(pkR, ephemeral) {
    return importPublic(pkR).then(function (publicKey) {
      return subtle().deriveBits({ name: "X25519", public: publicKey }, ephemeral.privateKey, 256).catch(function (e) {
        // WebCrypto itself refuses an all-zero result (a small-order public key).
        throw fail("The tellers' public key is not a usable X25519 key; the ballot was not sealed.", "bad-public-key", e);
      });
    }).then(function (bits) {
      var dh = new Uint8Array(bits), zero = 0;
      // RFC 9180 §7.1.4: X25519 DH output that is all zero must be rejected (checked here as well, so
      // the refusal does not rest on the browser alone).
      for (var i = 0; i < dh.length; i++) zero |= dh[i];
      if (zero === 0) throw fail("The tellers' public key is not a usable X25519 key; the ballot was not sealed.", "bad-public-key");
      var enc = ephemeral.publicKey, kemContext = concat(enc, pkR);
      // RFC 9180 §4.1, ExtractAndExpand: eae_prk = LabeledExtract("", "eae_prk", dh);
      // shared_secret = LabeledExpand(eae_prk, "shared_secret", kem_context, Nsecret).
      return labeledExtract(KEM_SUITE, EMPTY, "eae_prk", dh).then(function (prk) {
        return labeledExpand(KEM_SUITE, prk, "shared_secret", kemContext, N_SECRET);
      }).then(function (sharedSecret) { return { enc: enc, sharedSecret: sharedSecret }; });
    });
  }

  // RFC 9180 §5.1, KeySchedule for mode_base (psk and psk_id empty, §5.1.1).
  function keySchedule(sharedSecret, info) {
    var out = {};
    return labeledExtract(HPKE_SUITE, EMPTY, "psk_id_hash", EMPTY).then(function (pskIdHash) {
      out.pskIdHash = pskIdHash;
      return labeledExtract(HPKE_SUITE, EMPTY, "info_hash", info);
    }).then(function (infoHash) {
      out.keyScheduleContext = concat(new Uint8Array([MODE_BASE]), out.pskIdHash, infoHash);
      return labeledExtract(HPKE_SUITE, sharedSecret, "secret", EMPTY);  // psk = default_psk = ""
    }).then(function (secret) {
      out.secret = secret;
      return labeledExpand(HPKE_SUITE, secret, "key", out.keyScheduleContext, N_K);
    }).then(function (key) {
      out.key = key;
      return labeledExpand(HPKE_SUITE, out.secret, "base_nonce", out.keyScheduleContext, N_N);
    }).then(function (baseNonce) {
      out.baseNonce = baseNonce;
      return labeledExpand(HPKE_SUITE, out.secret, "exp", out.keyScheduleContext, N_H);
    }).then(function (exporterSecret) {
      out.exporterSecret = exporterSecret;
      return out;
    });
  }

  // RFC 9180 §5.2, ContextS.Seal at sequence number 0: nonce = base_nonce XOR I2OSP(seq, Nn), which for
  // seq 0 is base_nonce. A ballot is one message, so no context outlives one seal and no nonce repeats.
  function aeadSeal(key, baseNonce, aad, plaintext) {
    var nonce = new Uint8Array(baseNonce), seq = i2osp(0, N_N);
    for (var i = 0; i < N_N; i++) nonce[i] ^= seq[i];
    return subtle().importKey("raw", key, { name: "AES-GCM" }, false, ["encrypt"]).then(function (k) {
      return subtle().encrypt({ name: "AES-GCM", iv: nonce, additionalData: aad, tagLength: 128 }, k, plaintext);
    }).then(function (ct) { return new Uint8Array(ct); });
  }

  // RFC 9180 §5.1.1 and §5.2: SetupBaseS then one Seal, returning every intermediate value.
  function sealWithEphemeral(pkR, info, aad, plaintext, ephemeral) {
    return encap(pkR, ephemeral).then(function (kem) {
      return keySchedule(kem.sharedSecret, info).then(function (ks) {
        return aeadSeal(ks.key, ks.baseNonce, aad, plaintext).then(function (ciphertext) {
          return {
            enc: kem.enc, sharedSecret: kem.sharedSecret, keyScheduleContext: ks.keyScheduleContext,
            secret: ks.secret, key: ks.key, baseNonce: ks.baseNonce, exporterSecret: ks.exporterSecret,
            ciphertext: ciphertext
          };
        });
      });
    });
  }

  var support = null;
  // Whether this browser's WebCrypto does X25519 (Chrome 133+, Firefox 130+, Safari 17+). Never rejects.
  function supported() {
    if (!support) {
      support = Promise.resolve().then(function () {
        return subtle().generateKey({ name: "X25519" }, false, ["deriveBits"]);
      }).then(function (pair) {
        return subtle().exportKey("raw", pair.publicKey).then(function (pk) {
          return subtle().importKey("raw", pk, { name: "X25519" }, true, []);
        });
      }).then(function () { return true; }, function () { return false; });
    }
    return support;
  }

  // seal(pkR, info, plaintext) -> Promise<Uint8Array>: enc || ciphertext, what `cryptography`'s
  // Suite(X25519, HKDF_SHA256, AES_128_GCM).encrypt(plaintext, pkR, info=info) gives (empty aad, seq 0).
  function seal(pkR, info, plaintext) {
    return Promise.resolve().then(function () {
      pkR = bytes(pkR, "the public key", N_PK); info = bytes(info, "info"); plaintext = bytes(plaintext, "the plaintext");
      return supported();
    }).then(function (ok) {
      if (!ok) throw fail(NO_X25519, "no-x25519");
      return generateEphemeral();
    }).then(function (ephemeral) {
      return sealWithEphemeral(pkR, info, EMPTY, plaintext, ephemeral);
    }).then(function (sealed) { return concat(sealed.enc, sealed.ciphertext); });
  }

  // For tests: the ephemeral key from DeriveKeyPair(ikmE) and a chosen aad, as in RFC 9180 Appendix A;
  // resolves to {enc, sharedSecret, keyScheduleContext, secret, key, baseNonce, exporterSecret, ciphertext}.
  // Never use it for a real ballot: a known ikmE makes the ballot readable by whoever knows it.
  function sealWith(pkR, info, aad, plaintext, ikmE) {
    return Promise.resolve().then(function () {
      pkR = bytes(pkR, "the public key", N_PK); info = bytes(info, "info"); aad = bytes(aad, "aad");
      plaintext = bytes(plaintext, "the plaintext"); ikmE = bytes(ikmE, "ikmE");
      // RFC 9180 §7.1.3: ikm must carry at least Nsk bytes of entropy.
      if (ikmE.length < N_SK) throw fail("HPKE: ikmE must be at least " + N_SK + " bytes.", "bad-input");
      return deriveEphemeral(ikmE);
    }).then(function (ephemeral) {
      return sealWithEphemeral(pkR, info, aad, plaintext, ephemeral);
    });
  }

  window.WeGO = window.WeGO || {};
  window.WeGO.hpke = {
    supported: supported, seal: seal, sealWith: sealWith,
    suite: { kemId: KEM_ID, kdfId: KDF_ID, aeadId: AEAD_ID, mode: MODE_BASE, nEnc: N_PK, nTag: 16 }
  };
})();
