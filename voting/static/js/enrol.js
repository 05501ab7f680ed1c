/* The enrolment page (delegates: /e/TOKEN; staff: /account/device): create the key on this phone,
   prove possession by signing the one-time challenge, register the public key, keep the key. */
(function () {
  "use strict";
  var root = document.getElementById("enrol");
  if (!root) return;
  var button = document.getElementById("enrol-button");
  var status = document.getElementById("enrol-status");
  var K = window.WeGO.keys, T = window.WeGO.i18n.t;
  var busy = false;

  function say(text, kind) {
    status.textContent = text;
    status.className = "flash flash-" + (kind || "info");
    status.hidden = false;
  }

  // The button stays enabled while the key is made (a disabled button would drop the keyboard
  // focus to the page's start): it says it is busy, and a second press does nothing.
  button.addEventListener("click", function () {
    if (busy) return;
    busy = true;
    button.setAttribute("aria-disabled", "true");
    say(T("Creating a signing key on this phone…"));
    var holder = root.dataset.holder, challenge = root.dataset.challenge, record;
    K.generate().then(function (made) {
      record = made;
      var message = K.encode(K.canonicalize({ v: 1, delegate: holder, key: made.keyId, challenge: challenge }));
      return K.sign(made, "wego-enrol/v1\n", message);
    }).then(function (signature) {
      say(T("Registering the key…"));
      return K.postJson(root.dataset.endpoint, {
        token: root.dataset.token || undefined, public_key: record.spki, signature: signature, device: K.deviceLabel()
      });
    }).then(function (answer) {
      return K.save({
        holder: answer.holder, keyId: record.keyId, privateKey: record.privateKey, publicKey: record.publicKey,
        algorithm: record.algorithm, spki: record.spki, createdAt: new Date().toISOString(),
        label: answer.delegate ? answer.delegate + " · " + answer.member : ""
      }).then(function () { return answer; });
    }).then(function (answer) {
      say(T("Done. This phone now holds your signing key."), "success");
      window.location.assign(answer.next);
    }).catch(function (err) {
      say(err.message + (err.hint ? " " + err.hint : ""), "error");
      busy = false;
      button.removeAttribute("aria-disabled");  // the focus is still on it: press again to retry
    });
  });
})();
