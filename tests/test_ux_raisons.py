"""Issue 16 item 6: an action the dossier cannot take yet says why on the page, next to it and
tied to it (aria-describedby), naming the field as the fiche names it — not only in a tooltip."""
import html
import re

from tests.journeys.forms import open_page
from tests.test_ux_forms import sign_in


def _reason(page_html: str, verb: str) -> str:
    button = re.search(rf'<button[^>]*data-verb="{verb}"[^>]*>', page_html)
    assert button and "disabled" in button.group(0), f"« {verb} » is not shown disabled"
    described = re.search(r'aria-describedby="([^"]+)"', button.group(0))
    assert described, "the disabled button names its reason"
    item = re.search(rf'<li[^>]*id="{described.group(1)}"[^>]*>(.*?)</li>', page_html, re.DOTALL)
    assert item, "the reason is an element of the page"
    return " ".join(html.unescape(re.sub(r"<[^>]+>", "", item.group(1))).split())


def test_refused_action_says_why_in_the_page_body(app, make):  # R-EVA-5
    c = make.candidature("CLEA")
    make.clea_evaluation(c, c.createur, acquis=False)  # a second one needs a formation first
    page = open_page(sign_in(app, c.createur), f"/dossier/{c.id}")
    text = _reason(page.html, "start_evaluation")
    assert text.startswith("Ajouter une évaluation :")
    assert "attestation de formation" in text and "« Formations »" in text
    assert "R-EVA" not in text


def test_reason_names_the_field_of_the_fiche(app, make):  # R-WF-1
    c = make.candidature("CHIMIE", financement=None)
    page = open_page(sign_in(app, c.createur), f"/dossier/{c.id}")
    assert "dispositif de financement" in _reason(page.html, "confirm_evaluator")
    assert "Dispositif de financement" in open_page(
        sign_in(app, c.createur), f"/dossier/{c.id}/modifier").html
