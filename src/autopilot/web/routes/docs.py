"""/docs: the API reference, rendered here from the OpenAPI schema.

Served by the app itself, so the page loads nothing from the internet.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from autopilot.web.deps import ServicesDep, TranslatorDep

router = APIRouter(include_in_schema=False)

METHODS = ("get", "post", "put", "patch", "delete")


def _operations(schema: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for path, item in schema.get("paths", {}).items():
        for method in METHODS:
            op = item.get(method)
            if op is None:
                continue
            body = op.get("requestBody", {}).get("content", {}).get("application/json")
            out.append(
                {
                    "method": method.upper(),
                    "path": path,
                    "summary": op.get("summary", ""),
                    "description": op.get("description", ""),
                    "parameters": op.get("parameters", []),
                    "body": _name(body.get("schema")) if body else None,
                    "responses": {
                        code: _response_name(resp)
                        for code, resp in op.get("responses", {}).items()
                    },
                }
            )
    return out


def _name(schema: dict[str, Any] | None) -> str:
    if not schema:
        return ""
    if "$ref" in schema:
        return str(schema["$ref"]).rsplit("/", 1)[-1]
    if "oneOf" in schema:
        return " | ".join(_name(s) for s in schema["oneOf"])
    return str(schema.get("title") or schema.get("type") or "object")


def _response_name(response: dict[str, Any]) -> str:
    for media, content in response.get("content", {}).items():
        name = _name(content.get("schema"))
        return f"{name} ({media})" if media != "application/json" else name
    return ""


@router.get("/docs", response_class=HTMLResponse)
def api_docs(request: Request, services: ServicesDep, t: TranslatorDep) -> Any:
    schema = request.app.openapi()
    return services.templates.TemplateResponse(
        request,
        "docs.html",
        {
            "t": t,
            "schema": schema,
            "operations": _operations(schema),
            "components": schema.get("components", {}).get("schemas", {}),
            "account": None,
        },
    )
