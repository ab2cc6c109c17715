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
})();
