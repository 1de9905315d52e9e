/* OpenCertif: FAB's widgets in French (issue 16). Loaded from the footer, before FAB's ab.js:
 * this ready handler runs first, so the datepickers it creates are the ones kept (ab.js would
 * make them yyyy-mm-dd and English). The date is typed or picked as dd/mm/yyyy; the server
 * accepts it (app/views/french.py FrenchDateField). */
(function ($) {
    "use strict";
    var TEXTS = {
        "No row selected": "Sélectionnez au moins une ligne.",
        "Select": "Choisir…",
        "Select a State": "Choisir…"
    };

    function frenchDatepicker() {
        var dp = $.fn.datepicker;
        if (!dp || dp.dates.fr) { return; }
        dp.dates.fr = {
            days: ["dimanche", "lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi"],
            daysShort: ["dim.", "lun.", "mar.", "mer.", "jeu.", "ven.", "sam."],
            daysMin: ["d", "l", "ma", "me", "j", "v", "s"],
            months: ["janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août",
                     "septembre", "octobre", "novembre", "décembre"],
            monthsShort: ["janv.", "févr.", "mars", "avril", "mai", "juin", "juil.", "août",
                          "sept.", "oct.", "nov.", "déc."],
            today: "Aujourd'hui",
            monthsTitle: "Mois",
            clear: "Effacer",
            weekStart: 1,
            format: "dd/mm/yyyy"
        };
    }

    function datepickers(root) {
        var options = {language: "fr", format: "dd/mm/yyyy", weekStart: 1, autoclose: true,
                       todayHighlight: true, forceParse: false};
        $(root).find(".appbuilder_date, .appbuilder_datetime").each(function () {
            if (!$(this).data("datepicker")) { $(this).datepicker(options); }
        });
    }

    function frenchSelect2() {
        var original = $.fn.select2;
        if (!original || original.ocFrench) { return; }
        $.fn.select2 = function (options) {
            if (options && typeof options === "object" && TEXTS[options.placeholder]) {
                options = $.extend({}, options, {placeholder: TEXTS[options.placeholder]});
            }
            return original.apply(this, [options].concat([].slice.call(arguments, 1)));
        };
        $.extend($.fn.select2, original, {ocFrench: true});
        if (original.defaults) {
            original.defaults.set("language", {
                noResults: function () { return "Aucun résultat"; },
                searching: function () { return "Recherche…"; },
                errorLoading: function () { return "Les résultats n'ont pas pu être chargés."; },
                loadingMore: function () { return "Chargement…"; },
                removeAllItems: function () { return "Tout effacer"; },
                inputTooShort: function (a) {
                    return "Saisissez encore " + (a.minimum - a.input.length) + " caractère(s)";
                }
            });
        }
    }

    $(function () {
        frenchDatepicker();
        datepickers(document);
        frenchSelect2();
        if ($.fn.datepicker && !$.fn.datetimepicker) {
            // ab_filters.js calls a datetimepicker FAB does not ship, on each filter it adds.
            $.fn.datetimepicker = function () { datepickers(this.parent()); return this; };
        }
        if (typeof window.ab_alert === "function") {
            var alertFab = window.ab_alert;
            window.ab_alert = function (text) { return alertFab(TEXTS[text] || text); };
        }
    });
}(jQuery));
