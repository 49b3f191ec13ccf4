// Small conveniences on top of htmx: a failed in-place request says why, comment drafts
// survive a failed post or a log-in in between, and time-zone fields start at the browser's zone.
// Pages work without this script.
(function () {
  "use strict";

  // --- failed htmx requests: one visible sentence instead of nothing ---------------------------
  function showMessage(text) {
    var box = document.getElementById("client-message");
    if (!box) return;
    box.querySelector(".client-message-text").textContent = text;
    box.hidden = false;
  }

  function messageOf(xhr) {
    // Error pages carry their sentence in .error-message; anything else gets a generic line.
    try {
      var page = new DOMParser().parseFromString(xhr.responseText || "", "text/html");
      var line = page.querySelector(".error-message");
      if (line && line.textContent.trim()) return line.textContent.trim();
    } catch (error) { /* fall through */ }
    return "That did not work (error " + xhr.status + "). Reload the page and try again.";
  }

  document.addEventListener("htmx:responseError", function (event) {
    showMessage(messageOf(event.detail.xhr));
  });
  document.addEventListener("htmx:sendError", function () {
    showMessage("paperfeed cannot be reached right now. Check your connection and try again.");
  });
  document.addEventListener("click", function (event) {
    var close = event.target.closest && event.target.closest(".client-message-close");
    if (close) close.closest("#client-message").hidden = true;
  });

  // --- comment drafts: kept in this browser until the comment is posted ------------------------
  function draftKey(field) {
    return "paperfeed-draft:" + location.pathname + ":" + field.getAttribute("data-draft");
  }

  function storage() {
    try { return window.localStorage; } catch (error) { return null; }
  }

  document.addEventListener("input", function (event) {
    var field = event.target;
    var store = storage();
    if (!store || !field.matches || !field.matches("textarea[data-draft]")) return;
    if (field.value.trim()) store.setItem(draftKey(field), field.value);
    else store.removeItem(draftKey(field));
  });

  document.addEventListener("htmx:beforeOnLoad", function (event) {
    var store = storage();
    if (!store || event.detail.xhr.status >= 400) return;
    event.detail.elt.querySelectorAll("textarea[data-draft]").forEach(function (field) {
      store.removeItem(draftKey(field));
    });
  });

  // --- time zones: a field nobody has chosen for yet starts at the browser's zone --------------
  function browserTimeZone() {
    try { return Intl.DateTimeFormat().resolvedOptions().timeZone || ""; } catch (error) { return ""; }
  }

  document.addEventListener("DOMContentLoaded", function () {
    var guess = browserTimeZone();
    if (!guess) return;
    document.querySelectorAll("input[data-guess-timezone]").forEach(function (field) {
      // Only names the server knows (those it suggests): anything else would be refused.
      var known = field.list ? field.list.querySelector('option[value="' + CSS.escape(guess) + '"]') : true;
      if (known) field.value = guess;
    });
  });

  document.addEventListener("DOMContentLoaded", function () {
    var store = storage();
    if (!store) return;
    document.querySelectorAll("textarea[data-draft]").forEach(function (field) {
      var draft = store.getItem(draftKey(field));
      if (!draft || field.value) return;
      field.value = draft;
      var fold = field.closest("details");
      if (fold) fold.open = true;
    });
  });
})();
