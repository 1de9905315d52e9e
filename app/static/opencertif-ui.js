/* OpenCertif (issue 16 item 8): on narrow screens the CSS shows each table row as a card; each
 * cell then needs its column's name, written here as data-label from the table's header.
 * A cell whose header is empty (check boxes, action buttons) gets none. */
(function () {
    "use strict";
    function label(table) {
        var rows = table.querySelectorAll("thead tr");
        if (rows.length > 1) { return; }  // a cross-table stays a table (scrolls in its box)
        var first = table.querySelector("tr");
        if (!rows.length && first && first.querySelector("td")) {
            table.classList.add("oc-cartes");  // label/value rows: each row is already a card
            return;
        }
        if (!rows.length && first) {  // header row without <thead>: hidden on phones
            first.classList.add("oc-entete");
            rows = [first];
        }
        var heads = rows.length ? rows[0].querySelectorAll("th") : [];
        if (!heads.length) { return; }
        table.classList.add("oc-cartes");
        var names = Array.prototype.map.call(heads, function (th) {
            return (th.innerText || th.textContent || "").replace(/\s+/g, " ").trim();
        });
        table.querySelectorAll("tbody > tr:not(.oc-entete)").forEach(function (tr) {
            var col = 0;
            Array.prototype.forEach.call(tr.children, function (cell) {
                var name = names[col];
                if (name && cell.tagName === "TD" && !cell.hasAttribute("data-label")) {
                    cell.setAttribute("data-label", name);
                }
                col += cell.colSpan || 1;
            });
        });
    }
    /* Select2 replaces a <select> by a combobox whose name is only the chosen value: give it the
     * original field's label (RGAA 11.1, WCAG 4.1.2). Runs at load, after FAB's ab.js built them. */
    function nameComboboxes() {
        document.querySelectorAll("select").forEach(function (select) {
            var box = select.nextElementSibling;
            if (!box || !box.classList.contains("select2")) { return; }
            var combo = box.querySelector(".select2-selection");
            if (!combo || combo.getAttribute("data-oc-named")) { return; }
            var lab = select.id && document.querySelector('label[for="' + select.id + '"]');
            // The rendered value is a role="textbox" span of its own: it gets the name too.
            var shown = combo.querySelector(".select2-selection__rendered");
            if (lab) {
                if (!lab.id) { lab.id = select.id + "-label"; }
                combo.setAttribute("aria-labelledby",
                    (lab.id + " " + (combo.getAttribute("aria-labelledby") || "")).trim());
                if (shown) { shown.setAttribute("aria-labelledby", lab.id); }
            } else {
                var name = select.getAttribute("aria-label") || select.name || "Choix";
                combo.setAttribute("aria-label", name);
                if (shown) { shown.setAttribute("aria-label", name); }
            }
            combo.setAttribute("data-oc-named", "1");
        });
    }
    /* A table wider than its box scrolls in it: the box takes the keyboard focus so that it can
     * be scrolled without a mouse (WCAG 2.1.1), and says what it holds. */
    function scrollableBoxes() {
        document.querySelectorAll(".table-responsive").forEach(function (box) {
            if (box.scrollWidth <= box.clientWidth + 1 || box.hasAttribute("tabindex")) { return; }
            var heading = box.querySelector("caption");
            box.setAttribute("tabindex", "0");
            box.setAttribute("role", "region");
            box.setAttribute("aria-label", heading ? heading.textContent.trim()
                                                   : "Tableau (défilement horizontal)");
        });
    }
    function run() {
        document.querySelectorAll("table.table").forEach(label);
        scrollableBoxes();
    }
    if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", run); } else { run(); }
    // FAB's ab.js builds the Select2 boxes in a jQuery ready handler, which may run after the
    // load event: name each box as soon as it is inserted.
    function watchComboboxes() {
        nameComboboxes();
        new MutationObserver(function (changes) {
            var added = changes.some(function (c) {
                return Array.prototype.some.call(c.addedNodes, function (n) {
                    return n.classList && n.classList.contains("select2");
                });
            });
            if (added) { nameComboboxes(); }
        }).observe(document.body, {childList: true, subtree: true});
    }
    if (document.readyState === "loading") {
        document.addEventListener("DOMContentLoaded", watchComboboxes);
    } else { watchComboboxes(); }
    /* The CQPI request box applies only to a CQP that gives a CQPI by equivalence (R-REF-2): its
     * field group shows for those certifications only (the server refuses it for the others). */
    function cqpiBox() {
        var box = document.querySelector("input[name=cqpi_demande][data-cqp]");
        var select = document.querySelector("select[name=certification]");
        if (!box || !select) { return; }
        var giving = box.getAttribute("data-cqp").split(",").filter(Boolean);
        var group = box.closest(".form-group") || box.parentNode;
        function sync() {
            var applies = giving.indexOf(select.value) !== -1;
            group.hidden = !applies;
            if (!applies) { box.checked = false; }
        }
        select.addEventListener("change", sync);
        if (window.jQuery) { window.jQuery(select).on("change", sync); }  // Select2's own event
        sync();
    }
    if (document.readyState === "loading") {
        document.addEventListener("DOMContentLoaded", cqpiBox);
    } else { cqpiBox(); }
}());
