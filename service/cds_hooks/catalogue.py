"""The published rule catalogue: GET /knowledge (every rule, thresholds in force, sources) and
GET /knowledge/rules/<id> (one rule), as HTML for people or JSON (``?format=json`` or an Accept header
preferring JSON). No patient data: open to any browser, so a card's link works from the EHR."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, jsonify, request

from service.errors import NotFound
from service.knowledge import examples
from service.knowledge.publish import catalogue_json, index_html, rule_html, rule_json

bp = Blueprint("catalogue", __name__)


def _wants_json() -> bool:
    if request.args.get("format") == "json":
        return True
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json"


@bp.get("/knowledge")
def catalogue() -> Response:
    engine = current_app.extensions["nmd_cds_engine"]
    today = engine.today()
    if _wants_json():
        return jsonify(catalogue_json(engine.knowledge, today, examples.load()))
    return Response(
        index_html(engine.knowledge, today, rule_href="/knowledge/rules/{id}"), mimetype="text/html"
    )


@bp.get("/knowledge/rules/<rule_id>")
def rule_page(rule_id: str) -> Response:
    engine = current_app.extensions["nmd_cds_engine"]
    if rule_id not in engine.knowledge.catalogue:
        raise NotFound(f"no rule '{rule_id[:40]}' in the catalogue; see GET /knowledge for the list")
    today, example = engine.today(), examples.load().get(rule_id)
    if _wants_json():
        return jsonify(rule_json(engine.knowledge, engine.knowledge.catalogue[rule_id], today, example))
    return Response(
        rule_html(engine.knowledge, rule_id, today, example, index_href="/knowledge"), mimetype="text/html"
    )
