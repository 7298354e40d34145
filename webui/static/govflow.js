/* govflow pages: refresh the inbox list in place, print buttons, add rows to table fields. No third-party code. */
(function () {
  "use strict";

  // The inbox list reloads itself with the same URL (filters, sort and page stay), keeping the scroll position,
  // and waits while the user is typing, choosing a colleague or has the window in the background.
  function startInboxRefresh() {
    var live = document.getElementById("inbox-live");
    if (!live) return;
    var seconds = parseInt(live.getAttribute("data-refresh"), 10) || 60;
    function busy() {
      if (document.hidden) return true;
      if (live.querySelector("details[open]")) return true;
      var active = document.activeElement;
      return !!(active && active !== document.body && live.contains(active) && active.tagName !== "A");
    }
    function refresh() {
      if (busy()) return;
      fetch(window.location.href, { headers: { "X-Govflow-Partial": "inbox" }, credentials: "same-origin" })
        .then(function (response) {
          if (!response.ok || response.redirected) throw new Error("refresh " + response.status);
          return response.text();
        })
        .then(function (html) {
          if (busy()) return;
          var x = window.scrollX, y = window.scrollY;
          live.innerHTML = html;
          window.scrollTo(x, y);
          live.setAttribute("data-refreshed-at", String(Date.now()));
        })
        .catch(function () { /* keep the page as it is; the next round tries again */ });
    }
    window.setInterval(refresh, seconds * 1000);
    live.govflowRefresh = refresh;
  }

  function wirePrintButtons() {
    document.querySelectorAll("[data-print]").forEach(function (button) {
      button.addEventListener("click", function () { window.print(); });
    });
  }

  // A table field (array of objects) gets one more row by copying the blank template row and renumbering it.
  function wireTableFields() {
    document.querySelectorAll("[data-add-row]").forEach(function (button) {
      button.addEventListener("click", function () {
        var table = document.getElementById(button.getAttribute("data-add-row"));
        var body = table.querySelector("tbody");
        var template = table.querySelector("template");
        var index = body.querySelectorAll("tr").length;
        var row = template.content.firstElementChild.cloneNode(true);
        row.querySelectorAll("[name]").forEach(function (input) {
          input.name = input.name.replace("__index__", String(index));
          if (input.id) input.id = input.id.replace("__index__", String(index));
        });
        body.appendChild(row);
      });
    });
  }

  // Radio choices that reveal extra fields (acceptance outcome: refusal needs the competent agency).
  function wireRevealers() {
    document.querySelectorAll("[data-reveal-for]").forEach(function (block) {
      var name = block.getAttribute("data-reveal-for");
      var value = block.getAttribute("data-reveal-value");
      var inputs = document.querySelectorAll('input[name="' + name + '"]');
      function update() {
        var checked = document.querySelector('input[name="' + name + '"]:checked');
        block.hidden = !(checked && checked.value === value);
      }
      inputs.forEach(function (input) { input.addEventListener("change", update); });
      update();
    });
  }

  // A "select all" box ticks or clears every box of its form on the page (data-select-all: the form's id; the
  // boxes may stand outside the form, joined to it by their form attribute).
  function wireSelectAll() {
    document.querySelectorAll("[data-select-all]").forEach(function (all) {
      var form = all.getAttribute("data-select-all");
      var boxes = document.querySelectorAll('input[type=checkbox][form="' + form + '"]');
      all.addEventListener("change", function () {
        boxes.forEach(function (box) { box.checked = all.checked; });
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    startInboxRefresh();
    wireSelectAll();
    wirePrintButtons();
    wireTableFields();
    wireRevealers();
  });
})();
