// labjoin navigator: the little JavaScript the pages need.
// - draws plotly figures embedded as JSON (<script type="application/json">) when they scroll into view
// - figure panels with a drop-down or a slider over several figures
// - the table filter builder (typed inputs per attribute, AND/OR), which builds attribute__op parameters
// - select panels: pick a row, load its figures from the JSON API
"use strict";

(function () {
  const CONFIG = { responsive: true, displaylogo: false };

  function readJSON(id) {
    const el = document.getElementById(id);
    return el ? JSON.parse(el.textContent) : null;
  }

  function draw(div, figure, options) {
    if (!figure || typeof Plotly === "undefined") return;
    const layout = Object.assign({}, figure.layout || {});
    const config = Object.assign({}, CONFIG);
    if (options && options.thumbnail) {
      // A thumbnail keeps the data and drops the words: titles, legends, annotations.
      Object.keys(layout).forEach(function (k) {
        if (/^[xy]axis\d*$/.test(k)) {
          layout[k] = Object.assign({}, layout[k], { title: { text: "" }, tickfont: { size: 8 } });
        }
      });
      Object.assign(layout, { height: 150, width: 220, showlegend: false, annotations: [],
        margin: { t: 6, b: 18, l: 26, r: 6 }, title: { text: "" } });
      config.staticPlot = true;
      config.responsive = false;
      const data = (figure.data || []).map(function (t) { return Object.assign({}, t, { showscale: false }); });
      Plotly.newPlot(div, data, layout, config);
      return;
    } else if (!layout.height) {
      layout.height = 360;
    }
    if (layout.title === undefined) delete layout.title;
    Plotly.newPlot(div, figure.data || [], layout, config);
  }

  // Figures are drawn lazily: a page of thumbnails may hold a hundred of them.
  const observer = "IntersectionObserver" in window ? new IntersectionObserver(function (entries) {
    entries.forEach(function (entry) {
      if (entry.isIntersecting) { observer.unobserve(entry.target); drawEmbedded(entry.target); }
    });
  }, { rootMargin: "200px" }) : null;

  function drawEmbedded(div) {
    const fig = readJSON(div.dataset.figure);
    draw(div, fig, { thumbnail: div.classList.contains("thumb") });
  }

  function setupPlots(root) {
    root.querySelectorAll("div.plot[data-figure]").forEach(function (div) {
      if (observer) observer.observe(div); else drawEmbedded(div);
    });
  }

  // A panel of several figures shown one at a time (display "select" or "slider").
  function setupChoosers(root) {
    root.querySelectorAll("[data-figures]").forEach(function (panel) {
      const figures = readJSON(panel.dataset.figures) || [];
      const target = panel.querySelector("div.plot-target");
      const label = panel.querySelector(".figure-label");
      const control = panel.querySelector("select, input[type=range]");
      if (!control || !target) return;
      function show() {
        const item = figures[Number(control.value)];
        if (!item) return;
        if (label) label.textContent = item.label;
        draw(target, item.figure);
      }
      control.addEventListener("input", show);
      show();
    });
  }

  // ---- the filter builder of table pages ----
  function setupFilterBuilder() {
    const form = document.getElementById("filter-form");
    if (!form) return;
    const attributes = readJSON("attributes-json") || [];
    const byName = {};
    attributes.forEach(function (a) { byName[a.name] = a; });
    const rows = form.querySelector(".filter-rows");
    const template = document.getElementById("filter-row-template");

    function valueInput(attr, op, value) {
      let input;
      if (op === "isnull" || op === "notnull") {
        input = document.createElement("span");
        input.className = "filter-value";
        return input;
      }
      if ((attr.input === "select" || attr.input === "bool") && op !== "in" && op !== "contains" &&
          op !== "startswith" && op !== "endswith") {
        input = document.createElement("select");
        const values = attr.input === "bool" ? ["true", "false"] : attr.values;
        values.forEach(function (v) {
          const o = document.createElement("option");
          o.value = v; o.textContent = v; input.appendChild(o);
        });
      } else {
        input = document.createElement("input");
        input.type = "text";
        if (op !== "in") {
          if (attr.input === "number") { input.type = "number"; input.step = "any"; }
          if (attr.input === "date") input.type = "date";
          if (attr.input === "datetime") { input.type = "datetime-local"; input.step = "1"; }
        }
        if (op === "in") input.placeholder = "a, b, c";
      }
      input.className = "filter-value";
      if (value !== undefined && value !== null) input.value = attr.input === "datetime" ? value.replace(" ", "T") : value;
      return input;
    }

    function addRow(filter) {
      const row = template.content.firstElementChild.cloneNode(true);
      const attrSelect = row.querySelector(".filter-attr");
      const opSelect = row.querySelector(".filter-op");
      attributes.forEach(function (a) {
        if (a.blob) return;
        const o = document.createElement("option");
        o.value = a.name; o.textContent = a.name; attrSelect.appendChild(o);
      });
      if (filter) { attrSelect.value = filter.attribute; opSelect.value = filter.op; }
      function refresh(value) {
        const old = row.querySelector(".filter-value");
        const fresh = valueInput(byName[attrSelect.value], opSelect.value, value);
        old.replaceWith(fresh);
      }
      attrSelect.addEventListener("change", function () { refresh(); });
      opSelect.addEventListener("change", function () { refresh(); });
      row.querySelector(".filter-remove").addEventListener("click", function () { row.remove(); });
      rows.appendChild(row);
      refresh(filter ? filter.value : undefined);
    }

    (readJSON("filters-json") || []).forEach(addRow);
    form.querySelector(".filter-add").addEventListener("click", function () { addRow(); });
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      const params = new URLSearchParams();
      rows.querySelectorAll(".filter-row").forEach(function (row) {
        const attr = row.querySelector(".filter-attr").value;
        const op = row.querySelector(".filter-op").value;
        const input = row.querySelector(".filter-value");
        const name = op === "exact" ? attr : attr + "__" + op;
        if (op === "isnull" || op === "notnull") { params.append(name, "1"); return; }
        let value = input.value;
        if (value === "") return;
        if (input.type === "datetime-local") value = value.replace("T", " ");
        params.append(name, value);
      });
      const combine = form.querySelector("[name=_combine]");
      if (combine && combine.value === "or") params.append("_combine", "or");
      const sort = form.dataset.sort;
      if (sort) params.append("_sort", sort);
      const size = form.dataset.size;
      if (size) params.append("_size", size);
      const query = params.toString();
      window.location.href = form.action + (query ? "?" + query : "");
    });
  }

  // ---- select panels: pick a row, load its figures ----
  function setupSelectPanels() {
    document.querySelectorAll("[data-panel-url]").forEach(function (panel) {
      const target = panel.querySelector(".select-figures");
      const keyNames = JSON.parse(panel.dataset.selectKey);
      panel.querySelectorAll("tr[data-key]").forEach(function (tr) {
        tr.addEventListener("click", function () {
          panel.querySelectorAll("tr.selected").forEach(function (s) { s.classList.remove("selected"); });
          tr.classList.add("selected");
          const key = JSON.parse(tr.dataset.key);
          const url = new URL(panel.dataset.panelUrl, window.location.href);
          keyNames.forEach(function (k) { url.searchParams.set(k, key[k]); });
          target.textContent = "Loading…";
          fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
            .then(function (r) { return r.json(); })
            .then(function (data) {
              target.textContent = "";
              if (data.ok === false) { target.textContent = data.error; return; }
              data.figures.forEach(function (group) {
                const box = document.createElement("div");
                box.className = "figure-box";
                const h = document.createElement("h4");
                h.textContent = group.title;
                box.appendChild(h);
                if (!group.figures.length) {
                  const p = document.createElement("p");
                  p.className = "muted"; p.textContent = "Not computed yet.";
                  box.appendChild(p);
                }
                target.appendChild(box);
                if (group.display === "select" && group.figures.length > 1) {
                  // one plot with a drop-down over the figures (e.g. one per event)
                  const select = document.createElement("select");
                  select.className = "figure-select";
                  group.figures.forEach(function (item, i) {
                    const o = document.createElement("option");
                    o.value = String(i); o.textContent = item.label; select.appendChild(o);
                  });
                  const div = document.createElement("div");
                  div.className = "plot";
                  box.appendChild(select);
                  box.appendChild(div);
                  select.addEventListener("change", function () { draw(div, group.figures[Number(select.value)].figure); });
                  draw(div, group.figures[0].figure);
                  return;
                }
                group.figures.forEach(function (item) {
                  const div = document.createElement("div");
                  div.className = "plot";
                  box.appendChild(div);
                  draw(div, item.figure);
                });
              });
            })
            .catch(function (err) { target.textContent = "Could not load the figures: " + err; });
        });
      });
      const first = panel.querySelector("tr[data-key]");
      if (first) first.click();
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    setupPlots(document);
    setupChoosers(document);
    setupFilterBuilder();
    setupSelectPanels();
  });
})();
