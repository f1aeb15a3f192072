"""Small pieces shared by the API blueprints."""

from __future__ import annotations

import functools
import json
from datetime import UTC

import flask_smorest
import marshmallow as ma
from apispec.ext.marshmallow import resolver as default_schema_name
from flask import request
from webargs.flaskparser import FlaskParser
from webargs.multidictproxy import MultiDictProxy
from werkzeug.datastructures import CombinedMultiDict
from werkzeug.exceptions import UnsupportedMediaType

from app.errors import ErrorSchema


class _Parser(FlaskParser):
    DEFAULT_VALIDATION_STATUS = 400  # a bad request body is a 400 with the field at fault, not a 422
    # An unknown query parameter is refused as an unknown body field is (webargs excludes it by default):
    # `?start=` where the API says `from` would otherwise answer the default range without a word.
    DEFAULT_UNKNOWN_BY_LOCATION = {**FlaskParser.DEFAULT_UNKNOWN_BY_LOCATION, "query": ma.RAISE}

    def _raw_load_json(self, req):
        try:
            return super()._raw_load_json(req)
        except RecursionError:  # a hostile body nested deeper than Python's parser can go: invalid JSON
            raise json.JSONDecodeError("JSON nested too deeply", "", 0) from None


_parser = _Parser()


@_parser.location_loader("multipart")
def _load_multipart(request, schema):
    """Text fields and files of a multipart/form-data body, validated by one schema (and documented as one
    requestBody: flask-smorest documents only the first body-like argument of a view)."""
    return MultiDictProxy(CombinedMultiDict([request.form, request.files]), schema)


class Blueprint(flask_smorest.Blueprint):
    ARGUMENTS_PARSER = _parser
    DEFAULT_LOCATION_CONTENT_TYPE_MAPPING = {
        **flask_smorest.Blueprint.DEFAULT_LOCATION_CONTENT_TYPE_MAPPING,
        "multipart": "multipart/form-data",
    }


def schema_name(schema) -> str:
    """OpenAPI component name; a partial schema (PATCH bodies) gets its own, since nothing is required."""
    name = default_schema_name(schema if isinstance(schema, type) else type(schema))
    return f"{name}Patch" if getattr(schema, "partial", False) else name


def json_body(blp: Blueprint, schema, **kwargs):
    """Parse and validate a JSON body with `schema` (a class is made an instance once: webargs would make
    one per request); any other content type is a 415, before parsing."""
    schema = schema() if isinstance(schema, type) else schema

    def decorator(view):
        parsed = blp.alt_response(415, schema=ErrorSchema, description="Body is not application/json")(
            blp.arguments(schema, location="json", **kwargs)(view)
        )

        @functools.wraps(parsed)
        def checked(*args, **kw):
            if not request.is_json:
                raise UnsupportedMediaType("Send the body as application/json")
            return parsed(*args, **kw)

        return checked

    return decorator


class UTCDateTime(ma.fields.AwareDateTime):
    """ISO-8601 with a timezone in; always UTC out, so equal instants look equal."""

    default_error_messages = {
        "invalid": "Not a valid ISO-8601 datetime.",
        "invalid_awareness": "Must include a timezone (e.g. Z or +02:00).",
    }

    def __init__(self, **kwargs):
        super().__init__(format="iso", **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        return super()._deserialize(value, attr, data, **kwargs).astimezone(UTC)

    def _serialize(self, value, attr, obj, **kwargs):
        return None if value is None else super()._serialize(value.astimezone(UTC), attr, obj, **kwargs)


class PageQuerySchema(ma.Schema):
    page = ma.fields.Integer(load_default=1, validate=ma.validate.Range(min=1, max=1_000_000))
    per_page = ma.fields.Integer(load_default=20, validate=ma.validate.Range(min=1, max=100))


def page_schema(item_schema: type[ma.Schema]) -> type[ma.Schema]:
    """`{"items": [...], "total", "page", "per_page"}` around `item_schema`."""
    return ma.Schema.from_dict(
        {
            "items": ma.fields.List(ma.fields.Nested(item_schema), required=True),
            "total": ma.fields.Integer(required=True),
            "page": ma.fields.Integer(required=True),
            "per_page": ma.fields.Integer(required=True),
        },
        name=f"{item_schema.__name__.removesuffix('Schema')}PageSchema",
    )
