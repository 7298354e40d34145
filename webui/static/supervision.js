/* Supervision console: the bpmn-js viewer coloured by case state, the replay of the audit trail, the activity
   counts of a process. bpmn-js comes from node_modules through /supervision/vendor/; no other library. */
(function () {
  "use strict";

  var MARKERS = ["state-completed", "state-active", "state-overdue", "state-errored"];

  function showError(container, message) {
    container.textContent = "流程图无法显示：" + message;
    container.classList.add("diagram-error");
  }

  function openDiagram(container, done) {
    if (typeof window.BpmnJS !== "function") {
      showError(container, "bpmn-js 未安装（请在仓库目录运行 npm install）");
      return;
    }
    var viewer = new window.BpmnJS({ container: container });
    fetch(container.getAttribute("data-xml"), { credentials: "same-origin" })
      .then(function (response) {
        if (!response.ok) throw new Error("HTTP " + response.status);
        return response.text();
      })
      .then(function (xml) { return viewer.importXML(xml); })
      .then(function () {
        viewer.get("canvas").zoom("fit-viewport");
        container.setAttribute("data-ready", "1");
        done(viewer);
      })
      .catch(function (error) { showError(container, error.message || String(error)); });
  }

  function paint(viewer, state) {
    var canvas = viewer.get("canvas");
    var registry = viewer.get("elementRegistry");
    registry.getAll().forEach(function (element) {
      MARKERS.forEach(function (marker) { canvas.removeMarker(element.id, marker); });
    });
    function mark(ids, marker) {
      (ids || []).forEach(function (id) { if (registry.get(id)) canvas.addMarker(id, marker); });
    }
    mark(state.completed, "state-completed");
    mark(state.active, "state-active");
    mark(state.overdue, "state-overdue");
    mark(state.errored, "state-errored");
  }

  function casePage(container) {
    var frames = [], now = null, position = 0;
    var label = document.getElementById("replay-label");
    var dataBox = document.getElementById("replay-data");
    openDiagram(container, function (viewer) {
      fetch(container.getAttribute("data-replay"), { credentials: "same-origin" })
        .then(function (response) { return response.json(); })
        .then(function (replay) {
          frames = replay.frames;
          now = replay.now;
          position = frames.length;  // frames.length stands for "now"
          show();
        });

      function show() {
        var live = position >= frames.length;
        var state = live ? now : frames[position];
        paint(viewer, state);
        container.setAttribute("data-frame", live ? "now" : String(position + 1));
        container.setAttribute("data-active", (state.active || []).join(","));
        label.textContent = state.label;  // written by the server: local time, names, the page's language
        dataBox.textContent = JSON.stringify(state.data || {}, null, 2);
        document.querySelectorAll("#trail li").forEach(function (item) {
          item.classList.toggle("replay-current", !live && item.getAttribute("data-seq") === String(state.seq));
        });
      }

      function go(to) {
        position = Math.max(0, Math.min(frames.length, to));
        show();
      }
      document.getElementById("replay-first").addEventListener("click", function () { go(0); });
      document.getElementById("replay-prev").addEventListener("click", function () { go(position - 1); });
      document.getElementById("replay-next").addEventListener("click", function () { go(position + 1); });
      document.getElementById("replay-now").addEventListener("click", function () { go(frames.length); });
    });
  }

  function processPage(container) {
    openDiagram(container, function (viewer) {
      fetch(container.getAttribute("data-counts"), { credentials: "same-origin" })
        .then(function (response) { return response.json(); })
        .then(function (counts) {
          var overlays = viewer.get("overlays");
          var registry = viewer.get("elementRegistry");
          Object.keys(counts.activities).forEach(function (id) {
            var a = counts.activities[id];
            if (!registry.get(id) || (!a.active && !a.overdue)) return;
            var html = document.createElement("div");
            html.className = "count-badges";
            html.innerHTML = '<span class="count-active" title="办理中">' + a.active + "</span>" +
              (a.overdue ? '<span class="count-overdue" title="已超期">' + a.overdue + "</span>" : "");
            overlays.add(id, { position: { top: -12, right: 28 }, html: html });
          });
          container.setAttribute("data-counts-ready", "1");
        });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var diagram = document.getElementById("diagram");
    if (diagram) casePage(diagram);
    var process = document.getElementById("process-diagram");
    if (process) processPage(process);
  });
})();
