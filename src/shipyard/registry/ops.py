"""The registry's operation table: the client and the API routes are made from it (ADR 0015)."""

from __future__ import annotations

from shipyard._internal.ops import Op, Version

MODEL = "/registry/models/{name}"
VERSION = MODEL + "/versions/{version}"
PROMOTION = "/registry/promotions/{request_id}"
V = {"version": Version}

OPS = {
    "create_registered_model": Op("POST", "/registry/models", status=201),
    "list_registered_models": Op("GET", "/registry/models"),
    "get_registered_model": Op("GET", MODEL),
    "update_registered_model": Op("PATCH", MODEL),
    "delete_registered_model": Op("DELETE", MODEL),
    "register_model": Op("POST", MODEL + "/versions", status=201),
    # One model's versions; every version (of a run) across models is
    # ``GET /registry/versions``, written out on both sides.
    "list_model_versions": Op("GET", MODEL + "/versions", types={"name": str}),
    "get_model_version": Op("GET", VERSION, types=V),
    "update_model_version": Op("PATCH", VERSION, types=V),
    "delete_model_version": Op("DELETE", VERSION, types=V),
    "list_model_files": Op("GET", VERSION + "/files", types=V),
    "read_model_file": Op("GET", VERSION + "/files/content", types=V),
    "set_alias": Op("PUT", MODEL + "/aliases/{alias}", types=V),
    "get_model_version_by_alias": Op("GET", MODEL + "/aliases/{alias}"),
    "delete_alias": Op("DELETE", MODEL + "/aliases/{alias}"),
    "alias_history": Op("GET", MODEL + "/alias-history"),
    "get_alias_policy": Op("GET", MODEL + "/policies/{alias}"),
    "set_alias_policy": Op("PUT", "/registry/policies/{alias}"),
    "list_promotions": Op("GET", "/registry/promotions"),
    "get_promotion": Op("GET", PROMOTION),
    "approve_promotion": Op("POST", PROMOTION + "/approve"),
    "reject_promotion": Op("POST", PROMOTION + "/reject"),
    "resolve": Op("GET", "/registry/resolve"),
}
