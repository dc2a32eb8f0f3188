// Script of the generated report (automl/report/_html.py inlines it once).
// Expects REPORT = {template, config, figures: {divId: {data, layout}}, hover: {trial: text}} defined before it.
// No network, no library other than the inlined plotly.js (absent when there is no figure).
(function () {
  "use strict";

  function showError(message) {
    var box = document.getElementById("js-errors");
    if (box) {
      box.hidden = false;
      box.textContent += message + "\n";
    }
    if (window.console) { console.error(message); }
  }

  // ---- selecting a trial: open its detail section, else its table row ----
  function clearSelection() {
    var old = document.querySelectorAll(".selected");
    for (var i = 0; i < old.length; i++) { old[i].classList.remove("selected"); }
  }

  function selectTrial(number) {
    clearSelection();
    var label = document.getElementById("selected-trial");
    if (label) { label.textContent = "selected: trial " + number; }
    var detail = document.getElementById("trial-" + number);
    if (detail) {
      detail.open = true;
      detail.classList.add("selected");
      detail.scrollIntoView({behavior: "smooth", block: "start"});
      return;
    }
    var row = document.getElementById("row-" + number);
    if (row) {
      resetFilter();
      row.classList.add("selected");
      row.scrollIntoView({behavior: "smooth", block: "center"});
    }
  }
  window.selectTrial = selectTrial;

  function pointNumber(point) {
    var c = point && point.customdata;
    if (Array.isArray(c)) { c = c[0]; }
    return (c === undefined || c === null) ? null : Number(c);
  }

  // ---- figures ----
  function draw() {
    if (typeof Plotly === "undefined") { return; }
    var ids = Object.keys(REPORT.figures);
    for (var i = 0; i < ids.length; i++) {
      var id = ids[i];
      var div = document.getElementById(id);
      if (!div) { showError("figure container #" + id + " is missing"); continue; }
      var fig = REPORT.figures[id];
      fig.layout.template = REPORT.template;
      // Hover texts are sent once per trial (REPORT.hover) and looked up by trial number.
      for (var t = 0; t < fig.data.length; t++) {
        var tr = fig.data[t];
        if (tr.meta === "trial-hover" && Array.isArray(tr.customdata)) {
          tr.hovertext = tr.customdata.map(function (n) { return REPORT.hover[n] || ("trial " + n); });
        }
      }
      try {
        Plotly.newPlot(div, fig.data, fig.layout, REPORT.config);
      } catch (err) {
        showError("figure " + id + " could not be drawn: " + err);
        continue;
      }
      if (div.classList.contains("clickable")) {
        div.on("plotly_click", function (ev) {
          var n = pointNumber(ev && ev.points && ev.points[0]);
          if (n !== null && !isNaN(n)) { selectTrial(n); }
        });
      }
    }
  }

  // ---- the table of all trials: sort by a column, filter by text and set ----
  var table = document.getElementById("trials-table");

  function cellKey(row, col, numeric) {
    var cell = row.cells[col];
    if (!cell) { return numeric ? null : ""; }
    var v = cell.getAttribute("data-v");
    if (numeric) {
      if (v === null || v === "") { return null; }
      return parseFloat(v);
    }
    return (v !== null ? v : cell.textContent).toLowerCase();
  }

  function sortBy(th) {
    var col = th.cellIndex;
    var numeric = th.getAttribute("data-sort") === "num";
    var dir = th.getAttribute("aria-sort") === "ascending" ? -1 : 1;
    var heads = table.tHead.rows[0].cells;
    for (var i = 0; i < heads.length; i++) { heads[i].removeAttribute("aria-sort"); }
    th.setAttribute("aria-sort", dir === 1 ? "ascending" : "descending");
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (a, b) {
      var x = cellKey(a, col, numeric), y = cellKey(b, col, numeric);
      if (x === null && y === null) { return 0; }
      if (x === null) { return 1; }   // missing values last, both directions
      if (y === null) { return -1; }
      return x < y ? -dir : (x > y ? dir : 0);
    });
    for (var j = 0; j < rows.length; j++) { body.appendChild(rows[j]); }
  }

  function applyFilter() {
    var text = document.getElementById("trial-filter");
    var set = document.getElementById("trial-set");
    var needle = text ? text.value.trim().toLowerCase() : "";
    var which = set ? set.value : "all";
    var rows = table.tBodies[0].rows;
    var shown = 0;
    for (var i = 0; i < rows.length; i++) {
      var r = rows[i];
      var okSet = which === "all" || r.classList.contains(which);
      var okText = !needle || r.textContent.toLowerCase().indexOf(needle) >= 0;
      r.hidden = !(okSet && okText);
      if (!r.hidden) { shown++; }
    }
    var count = document.getElementById("trial-count");
    if (count) { count.textContent = shown + " of " + rows.length + " trials shown"; }
  }

  function resetFilter() {
    var text = document.getElementById("trial-filter");
    var set = document.getElementById("trial-set");
    if (text) { text.value = ""; }
    if (set) { set.value = "all"; }
    if (table) { applyFilter(); }
  }

  if (table) {
    var heads = table.tHead.rows[0].cells;
    for (var h = 0; h < heads.length; h++) {
      if (heads[h].hasAttribute("data-sort")) {
        heads[h].addEventListener("click", function () { sortBy(this); });
        heads[h].title = "sort";
      }
    }
    var text = document.getElementById("trial-filter");
    var set = document.getElementById("trial-set");
    if (text) { text.addEventListener("input", applyFilter); }
    if (set) { set.addEventListener("change", applyFilter); }
    applyFilter();
  }

  // Links to a trial (#trial-N) select it the same way as a click on a point.
  document.addEventListener("click", function (ev) {
    var a = ev.target.closest ? ev.target.closest("a[data-trial]") : null;
    if (a) {
      ev.preventDefault();
      selectTrial(Number(a.getAttribute("data-trial")));
    }
  });

  try {
    draw();
  } catch (err) {
    showError("the figures could not be drawn: " + err);
  }

  // A link to #trial-N (e.g. shared by a colleague) selects that trial.
  function selectFromHash() {
    var m = /^#trial-(\d+)$/.exec(window.location.hash);
    if (m) { selectTrial(Number(m[1])); }
  }
  window.addEventListener("hashchange", selectFromHash);
  selectFromHash();
  document.body.setAttribute("data-report-ready", "1");
})();
