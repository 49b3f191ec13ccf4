// Typesets formulas with KaTeX (vendored under /static/vendor/katex). The server sends each as
// <span class="math" data-tex="…"> holding a readable plain form, so pages read well without
// this script; KaTeX is fetched only by pages that have formulas.
(function () {
  "use strict";
  var base = "/static/vendor/katex/";
  var loading = null;

  function load() {
    if (window.katex) return Promise.resolve();
    if (loading) return loading;
    var css = document.createElement("link");
    css.rel = "stylesheet";
    css.href = base + "katex.min.css";
    document.head.appendChild(css);
    loading = new Promise(function (resolve, reject) {
      var script = document.createElement("script");
      script.src = base + "katex.min.js";
      script.onload = resolve;
      script.onerror = reject;
      document.head.appendChild(script);
    });
    return loading;
  }

  function typeset(root) {
    var spans = (root || document).querySelectorAll(".math[data-tex]:not([data-typeset])");
    if (!spans.length) return;
    load().then(function () {
      spans.forEach(function (span) {
        var plain = span.textContent;
        try {
          window.katex.render(span.getAttribute("data-tex"), span, {
            displayMode: span.hasAttribute("data-display"),
            throwOnError: false,
            strict: "ignore",
            trust: false,
            maxExpand: 200,
          });
          span.setAttribute("data-typeset", "1");
          span.setAttribute("title", plain);
        } catch (error) {
          span.textContent = plain; // keep the readable form
        }
      });
    }, function () { /* offline or blocked: the plain forms stay */ });
  }

  document.addEventListener("DOMContentLoaded", function () { typeset(document); });
  document.addEventListener("htmx:afterSwap", function (event) { typeset(event.target); });
})();
