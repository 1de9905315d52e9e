"""Drive a screen through its form as rendered: read the page's <form>, fill it as a person would,
submit exactly what it offers.

A test that posts fields the page does not show proves nothing about that page (DESIGN practice
12). `Form.fill` refuses a field the form does not contain, an option its <select> does not
offer and a checkbox value it does not render; `submit` posts only the form's own controls
(hidden inputs and CSRF token included), with the button clicked when it has a name.

    page = open_page(client, "/candidatures/add")
    form = page.form(action="/candidatures/add")
    form.fill(nom_naissance="Durand", certification="CLEA — Certificat CléA")  # value or label
    form.check("domaines", "3")
    r = form.submit()
"""
from __future__ import annotations

import html as html_lib
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit


@dataclass
class Control:
    name: str
    kind: str                      # text, hidden, checkbox, radio, select, textarea, file, submit…
    value: str = ""
    checked: bool = False
    options: list[tuple[str, str, bool]] = field(default_factory=list)  # (value, label, selected)
    multiple: bool = False
    label: str = ""
    id: str = ""


class _Parser(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.forms: list[dict] = []
        self._form = None
        self._select = None
        self._option = None
        self._textarea = None
        self._label_for = None
        self._label_text = ""
        self._button = None
        self.labels: dict[str, str] = {}
        self.ids: dict[str, Control] = {}

    def handle_starttag(self, tag, attrs):
        a = {k: (v if v is not None else "") for k, v in attrs}
        if tag == "form":
            self._form = {"attrs": a, "controls": []}
            self.forms.append(self._form)
            return
        if tag == "label":
            self._label_for, self._label_text = a.get("for"), ""
            return
        if self._form is None and "form" not in a:
            return
        disabled = "disabled" in a
        if tag == "input":
            kind = (a.get("type") or "text").lower()
            if not a.get("name") or disabled:
                return
            value = a.get("value", "on" if kind in ("checkbox", "radio") else "")
            ctl = Control(a["name"], kind, value, checked="checked" in a)
            self._add(ctl, a)
        elif tag == "select" and a.get("name") and not disabled:
            self._select = Control(a["name"], "select", multiple="multiple" in a)
            self._add(self._select, a)
        elif tag == "option" and self._select is not None:
            self._option = [a.get("value"), "", "selected" in a, "disabled" in a]
        elif tag == "textarea" and a.get("name") and not disabled:
            self._textarea = Control(a["name"], "textarea")
            self._add(self._textarea, a)
        elif tag == "button" and a.get("name") and not disabled:
            if (a.get("type") or "submit").lower() == "submit":
                self._button = Control(a["name"], "submit", a.get("value", ""))
                self._add(self._button, a)

    def _add(self, ctl, a):
        self._form["controls"].append(ctl)
        ctl.id = a.get("id", "")
        if a.get("id"):
            self.ids[a["id"]] = ctl

    def handle_data(self, data):
        if self._option is not None:
            self._option[1] += data
        elif self._textarea is not None:
            self._textarea.value += data
        elif self._button is not None:  # a button's text is its label
            self._button.label = " ".join((self._button.label + " " + data).split())
        if self._label_for is not None:
            self._label_text += data

    def handle_endtag(self, tag):
        if tag == "form":
            self._form = None
        elif tag == "option" and self._option is not None:
            self._close_option()
        elif tag == "select":
            if self._option is not None:
                self._close_option()
            self._select = None
        elif tag == "textarea":
            if self._textarea is not None:  # a browser drops the newline right after <textarea>
                value = self._textarea.value.removeprefix("\r")
                self._textarea.value = value.removeprefix("\n")
            self._textarea = None
        elif tag == "button":
            self._button = None
        elif tag == "label":
            if self._label_for:
                self.labels[self._label_for] = " ".join(self._label_text.split())
            self._label_for = None

    def _close_option(self):
        value, label, selected, disabled = self._option
        label = " ".join(label.split())
        if not disabled:
            self._select.options.append((label if value is None else value, label, selected))
        self._option = None


class FormError(AssertionError):
    pass


class Form:
    def __init__(self, client, page_url: str, attrs: dict, controls: list[Control]):
        self.client = client
        self.attrs = attrs
        self.controls = controls
        self.action = urljoin(page_url, html_lib.unescape(attrs.get("action") or page_url))
        self.method = (attrs.get("method") or "get").lower()
        self.files: dict[str, tuple] = {}
        # What a browser would send if the user changed nothing.
        self.values: dict[str, list[str]] = {}
        for c in controls:
            if c.kind in ("submit", "button", "reset", "image", "file"):
                continue
            if c.kind in ("checkbox", "radio"):
                if c.checked:
                    self.values.setdefault(c.name, []).append(c.value)
            elif c.kind == "select":
                chosen = [v for v, _, sel in c.options if sel]
                if not chosen and c.options and not c.multiple:
                    chosen = [c.options[0][0]]
                self.values[c.name] = chosen
            else:
                self.values.setdefault(c.name, []).append(c.value)

    # -- reading ---------------------------------------------------------------------------------
    def names(self) -> set[str]:
        return {c.name for c in self.controls}

    def _controls(self, name) -> list[Control]:
        found = [c for c in self.controls if c.name == name]
        if not found:
            raise FormError(f"the form has no field « {name} »; it has: {sorted(self.names())}")
        return found

    def options(self, name) -> list[tuple[str, str]]:
        """(value, label) of a select, or of the checkboxes / radios of that name."""
        ctls = self._controls(name)
        if ctls[0].kind == "select":
            return [(v, lab) for v, lab, _ in ctls[0].options]
        return [(c.value, c.label) for c in ctls]

    def get(self, name):
        values = self.values.get(name, [])
        return values[0] if len(values) == 1 else values

    # -- filling ---------------------------------------------------------------------------------
    def fill(self, **values) -> Form:
        for name, value in values.items():
            self.set(name, value)
        return self

    def set(self, name, value) -> Form:
        ctls = self._controls(name)
        ctl = ctls[0]
        if ctl.kind == "select":
            wanted = value if isinstance(value, (list, tuple)) else [value]
            chosen = [self._option_value(ctl, str(v)) for v in wanted]
            if len(chosen) > 1 and not ctl.multiple:
                raise FormError(f"« {name} » takes one value")
            self.values[name] = chosen
        elif ctl.kind == "radio":
            self._pick(ctls, name, str(value), only=True)
        elif ctl.kind == "checkbox":
            if isinstance(value, bool):
                if len(ctls) != 1:
                    raise FormError(f"« {name} » has several boxes: use check(name, value)")
                self.values[name] = [ctl.value] if value else []
            else:
                wanted = value if isinstance(value, (list, tuple)) else [value]
                self.values[name] = []
                for v in wanted:
                    self.check(name, v)
        elif ctl.kind == "hidden":
            raise FormError(f"« {name} » is hidden: a person cannot type into it")
        elif ctl.kind == "file":
            raise FormError(f"« {name} » is a file input: use attach()")
        elif ctl.kind == "submit":
            raise FormError(f"« {name} » is a button: use submit(button=…)")
        else:
            self.values[name] = ["" if value is None else str(value)]
        return self

    def _option_value(self, ctl: Control, wanted: str) -> str:
        for value, label, _ in ctl.options:
            if wanted in (value, label):
                return value
        for value, label, _ in ctl.options:  # a label typed partly, as a person reads it
            if wanted and wanted.lower() in label.lower():
                return value
        raise FormError(f"« {ctl.name} » offers no « {wanted} »; it offers: "
                        f"{[(v, lab) for v, lab, _ in ctl.options]}")

    def _pick(self, ctls, name, value, only):
        for c in ctls:
            if value in (c.value, c.label):
                if only:
                    self.values[name] = [c.value]
                elif c.value not in self.values.setdefault(name, []):
                    self.values[name].append(c.value)
                return
        raise FormError(f"« {name} » has no choice « {value} »; choices: "
                        f"{[(c.value, c.label) for c in ctls]}")

    def check(self, name, value=None) -> Form:
        ctls = [c for c in self._controls(name) if c.kind == "checkbox"]
        if not ctls:
            raise FormError(f"« {name} » is not a checkbox")
        if value is None:
            if len(ctls) != 1:
                raise FormError(f"« {name} » has several boxes: say which")
            value = ctls[0].value
        self._pick(ctls, name, str(value), only=False)
        return self

    def uncheck(self, name, value=None) -> Form:
        ctls = self._controls(name)
        if value is None:
            self.values[name] = []
        else:
            self.values[name] = [v for v in self.values.get(name, []) if v != str(value)]
        del ctls
        return self

    def attach(self, name, content: bytes, filename: str) -> Form:
        ctl = self._controls(name)[0]
        if ctl.kind != "file":
            raise FormError(f"« {name} » is not a file input")
        self.files[name] = (content, filename)
        return self

    # -- sending ---------------------------------------------------------------------------------
    def data(self, button: str | None = None) -> dict:
        import io
        out: dict[str, list] = {k: list(v) for k, v in self.values.items() if v}
        if button is not None:
            buttons = [c for c in self.controls if c.kind == "submit"]
            # Its text, id or value first; its name only when no other button shares it.
            submits = [c for c in buttons if button in (c.label, c.id, c.value)] or \
                [c for c in buttons if c.name == button]
            if len(submits) != 1:
                raise FormError(f"{len(submits)} buttons « {button} » in the form: "
                                f"{[(c.name, c.value, c.id, c.label) for c in buttons]}")
            out.setdefault(submits[0].name, []).append(submits[0].value)
        for name, (content, filename) in self.files.items():
            out[name] = [(io.BytesIO(content), filename)]
        return out

    def submit(self, button: str | None = None, follow_redirects: bool = False):
        data = self.data(button)
        if self.method == "get":  # a browser replaces the action's query with the form's data
            return self.client.get(self.action.split("?", 1)[0], query_string=data,
                                   follow_redirects=follow_redirects)
        return self.client.post(self.action, data=data, follow_redirects=follow_redirects,
                                content_type="multipart/form-data" if self.files else None)


class Page:
    def __init__(self, client, url: str, response):
        self.client = client
        self.url = url
        self.response = response
        self.html = response.get_data(as_text=True)
        parser = _Parser()
        parser.feed(self.html)
        self._forms = parser.forms
        self._labels = parser.labels
        for fid, ctl in parser.ids.items():
            if fid in parser.labels:
                ctl.label = parser.labels[fid]

    @property
    def text(self) -> str:
        """The page's visible text, tags removed, whitespace collapsed."""
        body = re.sub(r"<(script|style)\b.*?</\1>", " ", self.html, flags=re.DOTALL | re.IGNORECASE)
        return " ".join(html_lib.unescape(re.sub(r"<[^>]+>", " ", body)).split())

    def forms(self) -> list[Form]:
        return [Form(self.client, self.url, f["attrs"], f["controls"]) for f in self._forms]

    def form(self, action: str | None = None, *, has: str | None = None,
             id: str | None = None, index: int | None = None) -> Form:
        """The one form whose action contains `action`, or that has the field `has`, or the id."""
        candidates = self.forms()
        if id is not None:
            candidates = [f for f in candidates if f.attrs.get("id") == id]
        if action is not None:
            candidates = [f for f in candidates
                          if action in urlsplit(f.action).path + ("?" + urlsplit(f.action).query)]
        if has is not None:
            candidates = [f for f in candidates if has in f.names()]
        if index is not None:
            return candidates[index]
        if len(candidates) != 1:
            raise FormError(f"{len(candidates)} forms match (action={action!r}, has={has!r}, "
                            f"id={id!r}) on {self.url}; forms: "
                            f"{[(f.action, sorted(f.names())) for f in self.forms()]}")
        return candidates[0]

    def links(self, pattern: str = "") -> list[str]:
        hrefs = [html_lib.unescape(h) for h in re.findall(r'href="([^"]+)"', self.html)]
        return [h for h in hrefs if re.search(pattern, h)]


def open_page(client, url: str, expect: int = 200, follow_redirects: bool = True) -> Page:
    r = client.get(url, follow_redirects=follow_redirects)
    assert r.status_code == expect, f"GET {url} → {r.status_code}"
    # After a redirect the browser's address is the last one: relative actions resolve from it.
    if follow_redirects and r.request is not None and r.history:
        url = r.request.full_path.rstrip("?")
    return Page(client, url, r)


def follow(client, response, expect: int = 200) -> Page:
    """The page a submit lands on (after its redirect)."""
    if response.status_code in (301, 302, 303):
        return open_page(client, response.headers["Location"], expect=expect)
    assert response.status_code == expect, f"→ {response.status_code}"
    return Page(client, response.request.path if response.request else "/", response)
