// The portal's own script. Every page works without it; it only enhances.
(function () {
  "use strict";
  document.body.classList.add("js-enabled", "govuk-frontend-supported");
})();
