// The portal's own script. Every page works without it; it only enhances.
(function () {
  "use strict";
  document.body.classList.add("js-enabled", "govuk-frontend-supported");

  // The skip link moves focus to <main>, as GOV.UK Frontend's SkipLink does: a link to a
  // fragment only moves the focus when its target can take focus, and <main> cannot, so
  // give it tabindex="-1" while focused. Delegated from the document, so it keeps working
  // after htmx swaps the page body.
  document.addEventListener("click", function (event) {
    var link = event.target instanceof Element ? event.target.closest(".govuk-skip-link") : null;
    var href = link ? link.getAttribute("href") : null;
    if (!href || href.charAt(0) !== "#" || href.length < 2) {
      return;
    }
    var target = document.getElementById(decodeURIComponent(href.slice(1)));
    if (!target) {
      return;
    }
    if (!target.hasAttribute("tabindex")) {
      target.setAttribute("tabindex", "-1");
      target.addEventListener("blur", function () {
        target.removeAttribute("tabindex");
        target.classList.remove("govuk-skip-link-focused-element");
      }, { once: true });
    }
    target.classList.add("govuk-skip-link-focused-element");
    target.focus();
  });

  // Passkeys (templates/staff/second_factor/_passkey.html): the WebAuthn ceremony needs
  // JavaScript, so its block is hidden until this script finds a browser that can do it.
  // @simplewebauthn/browser is loaded only on a page that has such a block.
  var library = null;

  function loadLibrary(src) {
    if (!library) {
      library = new Promise(function (resolve, reject) {
        var script = document.createElement("script");
        script.src = src;
        script.onload = function () { resolve(window.SimpleWebAuthnBrowser); };
        script.onerror = function () { reject(new Error("The passkey script did not load.")); };
        document.head.appendChild(script);
      });
    }
    return library;
  }

  function post(url, csrf, body) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf },
      body: JSON.stringify(body || {})
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (json) {
        if (!response.ok) {
          throw new Error(json.error || (response.status === 429
            ? "Too many attempts. Wait a few minutes and try again."
            : "Something went wrong. Try again."));
        }
        return json;
      });
    });
  }

  function setUpPasskey(block) {
    if (block.getAttribute("data-passkey-ready")) {
      return;
    }
    block.setAttribute("data-passkey-ready", "true");
    if (!window.PublicKeyCredential || !window.fetch) {
      return;
    }
    var ceremony = block.getAttribute("data-passkey");
    var button = block.querySelector(".portal-passkey__button");
    var errorBox = block.querySelector(".portal-passkey__error");
    var message = block.querySelector(".portal-passkey__message");
    var nameInput = block.querySelector("#passkey-name");
    var csrf = block.getAttribute("data-csrf");
    var unavailable = block.parentNode.querySelector(".portal-passkey__unavailable");
    block.hidden = false;
    if (unavailable) {
      unavailable.hidden = true;
    }

    function fail(text) {
      message.textContent = text;
      errorBox.hidden = false;
      message.focus();
      button.disabled = false;
    }

    button.addEventListener("click", function () {
      errorBox.hidden = true;
      var name = nameInput ? nameInput.value.trim() : "";
      if (nameInput && !name) {
        fail("Enter a name for this passkey, such as the device it is on");
        return;
      }
      button.disabled = true;
      loadLibrary(block.getAttribute("data-library")).then(function (webauthn) {
        return post(block.getAttribute("data-options-url"), csrf).then(function (options) {
          return ceremony === "register"
            ? webauthn.startRegistration({ optionsJSON: options })
            : webauthn.startAuthentication({ optionsJSON: options });
        });
      }).then(function (credential) {
        return post(block.getAttribute("data-url"), csrf, {
          credential: credential, name: name, next: block.getAttribute("data-next")
        });
      }).then(function (answer) {
        window.location.assign(answer.redirect);
      }).catch(function (error) {
        var cancelled = error && (error.name === "NotAllowedError" || error.name === "AbortError");
        fail(cancelled
          ? "The passkey was not used. Try again, or use another way below."
          : (error && error.message) || "Something went wrong. Try again.");
      });
    });
  }

  function findPasskeys(root) {
    var blocks = (root || document).querySelectorAll("[data-passkey]");
    for (var i = 0; i < blocks.length; i += 1) {
      setUpPasskey(blocks[i]);
    }
  }

  findPasskeys(document);
  document.addEventListener("htmx:load", function (event) { findPasskeys(event.target); });

  // Within `root` and `root` itself: the elements matching `selector`.
  function within(root, selector) {
    var found = Array.prototype.slice.call(root.querySelectorAll(selector));
    if (root.matches && root.matches(selector)) {
      found.unshift(root);
    }
    return found;
  }

  // A print button (data-portal-print) needs this script: it is hidden until then, and the
  // page says how to print without it (the browser's Print command).
  function setUpPrint(root) {
    within(root, "[data-portal-print]").forEach(function (button) {
      button.hidden = false;
      if (!button.getAttribute("data-portal-print-ready")) {
        button.setAttribute("data-portal-print-ready", "true");
        button.addEventListener("click", function () { window.print(); });
      }
    });
  }

  // What was just recorded (a success banner with data-portal-focus) takes the focus, as
  // GOV.UK Frontend's notification banner does: it is then in view and read out. After a
  // region's swap that shows errors (data-portal-focus-errors), its error summary does.
  function focusWhatChanged(root) {
    var banner = within(root, "[data-portal-focus]")[0];
    var summary = null;
    within(root, "[data-portal-focus-errors]").forEach(function (region) {
      summary = summary || region.querySelector(".govuk-error-summary");
    });
    var target = banner || summary;
    if (target && !target.getAttribute("data-portal-focused")) {
      target.setAttribute("data-portal-focused", "true");
      if (!target.hasAttribute("tabindex")) {
        target.setAttribute("tabindex", "-1");
      }
      target.focus();
    }
  }

  setUpPrint(document);
  var banner = document.querySelector("[data-portal-focus]");
  if (banner) {
    focusWhatChanged(document);
  }
  document.addEventListener("htmx:load", function (event) {
    setUpPrint(event.target);
    focusWhatChanged(event.target);
  });
})();
