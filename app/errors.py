"""One JSON error shape for the API: `{"error": "...", "details": {"field": "message"}}`."""

from __future__ import annotations

import logging

import marshmallow as ma
from flask import Flask, jsonify, request
from flask_smorest import Api as SmorestApi
from werkzeug.exceptions import HTTPException, InternalServerError, MethodNotAllowed

from app.exceptions import ServiceError

log = logging.getLogger(__name__)


class ErrorSchema(ma.Schema):
    error = ma.fields.String(required=True, metadata={"description": "What went wrong, in one sentence"})
    details = ma.fields.Dict(
        keys=ma.fields.String(),
        values=ma.fields.String(),
        metadata={"description": "Field name (dotted for nested fields) → message"},
    )


class Api(SmorestApi):
    """flask-smorest's Api with our error shape, both in responses and in the OpenAPI document."""

    ERROR_SCHEMA = ErrorSchema

    def handle_http_exception(self, error: HTTPException):
        return error_response(error)


def error_response(error: HTTPException):
    data = getattr(error, "data", None) or {}
    details = flatten_messages(data.get("messages", {}))
    message = data.get("message") or _default_message(error, details)
    body = {"error": message}
    if details:
        body["details"] = details
    response = jsonify(body)
    response.status_code = error.code or 500
    for name, value in (data.get("headers") or {}).items():
        response.headers[name] = value
    if isinstance(error, MethodNotAllowed) and error.valid_methods:
        response.headers["Allow"] = ", ".join(error.valid_methods)
    return response


def _default_message(error: HTTPException, details: dict) -> str:
    if details:
        return "Invalid request: " + "; ".join(f"{field}: {msg}" for field, msg in details.items())
    return error.description or error.name


def flatten_messages(messages) -> dict[str, str]:
    """webargs nests messages by location then field (`{"json": {"budget": ["Not a number."]}}`)."""
    flat: dict[str, str] = {}

    def walk(node, path: str) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                walk(value, f"{path}.{key}" if path else str(key))
        elif isinstance(node, list) and node and all(isinstance(item, str) for item in node):
            flat[path or "_schema"] = " ".join(node)
        elif isinstance(node, list):
            for index, value in enumerate(node):
                walk(value, f"{path}.{index}")
        else:
            flat[path or "_schema"] = str(node)

    for location, fields in messages.items():
        # The location (json, query, files, form) is noise for the client, except to name a missing body.
        walk(fields, "" if isinstance(fields, dict) else location)
    return flat


def init_app(app: Flask) -> None:
    app.register_error_handler(ServiceError, _service_error)
    app.register_error_handler(Exception, _unexpected_error)


def _service_error(error: ServiceError):
    body = {"error": error.message}
    if error.details:
        body["details"] = error.details
    return jsonify(body), error.status


def _unexpected_error(error: Exception):
    if isinstance(error, HTTPException):
        return error_response(error)
    log.exception("unhandled error on %s %s", request.method, request.path)
    return error_response(InternalServerError("Internal server error"))
