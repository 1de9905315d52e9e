/* OpenCertif (issue 16 item 1): a form marked data-brouillon="<url>" is saved as a draft while
 * the user types — a short while after the last keystroke, and when a field loses the focus —
 * by posting its fields (CSRF token included, files never: they go with the buttons only). The
 * element named by data-brouillon-statut (role="status") says what happened. One request at a
 * time, in order: a change made during a save is sent after it. Without this script the form
 * works as before, with its buttons. */
(function () {
    "use strict";
    var DELAY = 1200;
    var FAILURES = {
        400: "la session a expiré ; rechargez la page (votre saisie reste affichée).",
        403: "vous n'avez pas le droit de modifier ce formulaire.",
        404: "formulaire introuvable ou hors de votre périmètre.",
        413: "saisie trop volumineuse.",
        429: "trop de requêtes ; nouvel essai à la prochaine saisie."
    };

    function reason(status, body) {
        if (body && body.message) { return body.message; }
        if (status === 0) { return "connexion perdue ; nouvel essai à la prochaine saisie."; }
        if (FAILURES[status]) { return FAILURES[status]; }
        if (status >= 500) { return "erreur du serveur ; nouvel essai à la prochaine saisie."; }
        return "la session a peut-être expiré ; rechargez la page (votre saisie reste affichée).";
    }

    function setup(form) {
        var url = form.getAttribute("data-brouillon");
        var status = document.getElementById(form.getAttribute("data-brouillon-statut"));
        var timer = null, busy = false, dirty = false, again = false, leaving = false;

        function say(text, state) {
            if (!status) { return; }
            status.textContent = text;
            status.setAttribute("data-etat", state);
        }

        function fields() {
            var data = new FormData(form);
            Array.prototype.forEach.call(form.querySelectorAll("input[type=file][name]"),
                function (input) { data.delete(input.name); });
            return data;
        }

        function done(ok, text) {
            busy = false;
            if (ok) {
                say(text, "enregistre");
            } else {
                dirty = true;  // sent again with the next change or blur
                say("Brouillon non enregistré : " + text, "refuse");
            }
            if (again && !leaving) { again = false; send(); }
        }

        function send() {
            window.clearTimeout(timer);
            timer = null;
            if (!dirty || leaving) { return; }
            if (busy) { again = true; return; }
            busy = true;
            dirty = false;
            say("Enregistrement…", "encours");
            window.fetch(url, {
                method: "POST", body: fields(), credentials: "same-origin",
                headers: {"Accept": "application/json"}
            }).then(function (response) {
                var json = (response.headers.get("Content-Type") || "").indexOf("json") >= 0;
                return (json ? response.json() : Promise.resolve(null)).then(function (body) {
                    if (response.ok && body && body.ok) {
                        done(true, body.message);
                    } else {
                        done(false, reason(response.ok ? -1 : response.status, body));
                    }
                });
            }, function () { done(false, reason(0, null)); });
        }

        function changed(event) {
            if (event.target && event.target.type === "file") { return; }
            dirty = true;
            window.clearTimeout(timer);
            timer = window.setTimeout(send, DELAY);
        }

        form.addEventListener("input", changed);
        form.addEventListener("change", changed);
        form.addEventListener("focusout", function (event) {
            // Leaving a field for one of the form's buttons: the button sends the form itself.
            var next = event.relatedTarget;
            if (next && next.form === form && next.type === "submit") { return; }
            if (dirty) { send(); }
        });
        form.addEventListener("submit", function () {
            leaving = true;
            window.clearTimeout(timer);
        });
        window.addEventListener("pageshow", function (event) {
            if (event.persisted) { leaving = false; }  // back to the page from the history
        });
    }

    function run() {
        if (!window.fetch || !window.FormData) { return; }
        Array.prototype.forEach.call(document.querySelectorAll("form[data-brouillon]"), setup);
    }
    if (document.readyState === "loading") {
        document.addEventListener("DOMContentLoaded", run);
    } else { run(); }
}());
