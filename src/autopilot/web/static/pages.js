// Small helpers for the server-rendered pages: the admin page refreshes its
// tables, and times are shown in each project's own time zone.
(function () {
  "use strict";

  var lang = document.documentElement.lang === "nl" ? "nl-NL" : "en-GB";

  function localTimes(root) {
    root.querySelectorAll("time[data-tz]").forEach(function (node) {
      try {
        node.textContent = new Intl.DateTimeFormat(lang, {
          timeZone: node.dataset.tz, day: "numeric", month: "short",
          hour: "2-digit", minute: "2-digit"
        }).format(new Date(node.getAttribute("datetime")));
      } catch (error) { /* an unknown zone keeps the server's text */ }
    });
  }

  localTimes(document);

  var live = document.getElementById("admin-live");
  if (live) {
    window.setInterval(function () {
      fetch(live.dataset.refresh, { credentials: "same-origin" }).then(function (response) {
        if (!response.ok) return null;
        return response.text();
      }).then(function (html) {
        if (html === null) return;
        var holder = document.createElement("div");
        holder.innerHTML = html;
        localTimes(holder);
        live.replaceChildren.apply(live, Array.from(holder.childNodes));
      }, function () { /* try again at the next tick */ });
    }, 5000);
  }
})();
